"""Egress and dual-stack rules for pod vSwitches (decide/network.py), as plain data."""
from __future__ import annotations

from terway_stack.decide.network import (
    RouteEntry,
    SnatEntry,
    default_route_problems,
    ipv6_block_masks,
    ipv6_needed,
    snat_coverage_problems,
)
from terway_stack.decide.settings import parse_settings


def pods(snat=None):
    raw = {"vpcId": "vpc-a", "zones": {"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}}
    if snat is not None:
        raw["snat"] = {"natGatewayId": "ngw-1", "snatIps": ["47.100.1.2"], **snat}
    return parse_settings({"alicloud:region": "cn-shanghai", "cluster": {"name": "c", "kubernetesVersion": "1.30",
                                                                          "nodeCount": 3}, "podVSwitches": raw}).pod_vswitches


def test_only_a_cidr_entry_that_covers_the_new_cidr_is_a_problem():
    entries = [SnatEntry("snat-1", source_cidr="10.0.0.0/16", snat_ip="47.1.1.1"),
               SnatEntry("snat-2", source_vswitch_id="vsw-x"), SnatEntry("snat-3", source_cidr="10.0.40.0/21")]
    [problem] = snat_coverage_problems(pods({}), entries)
    assert problem.path == "terway:podVSwitches.zones.cn-shanghai-f.cidr" and "snat-1" in problem.message
    assert snat_coverage_problems(pods({"confirmEgressChange": True}), entries) == []
    assert snat_coverage_problems(pods(), entries) == []  # no SNAT entry of ours: nothing changes


def test_the_default_route_must_go_to_the_nat_gateway():
    ours = [RouteEntry("0.0.0.0/0", "NatGateway", "ngw-1")]
    assert default_route_problems(pods({}), "ngw-1", "vtb-1", ours) == []
    [problem] = default_route_problems(pods({}), "ngw-1", "vtb-1", [RouteEntry("10.0.0.0/8", "Instance", "i-1")])
    assert problem.path == "terway:podVSwitches.snat.natGatewayId" and "sends 0.0.0.0/0 to no route" in problem.message


# ------------------------------------------------------------------------ dual stack (decide/network.py)




def test_ipv6_masks_are_the_first_free_64s_of_the_vpc_block_in_zone_order():
    vpc = "2408:4005:3b0:1200::/56"
    used = ["2408:4005:3b0:1200::/64", "2408:4005:3b0:1202::/64", "2001:db8::/64", "not-a-block"]
    assert ipv6_block_masks(vpc, used, ["cn-shanghai-g", "cn-shanghai-f"]) == {"cn-shanghai-f": 1, "cn-shanghai-g": 3}
    assert ipv6_block_masks("2408:4005:3b0:1200::/60", [], ["z"]) == {"z": 0}  # /60: indexes 0..15


def test_ipv6_is_needed_for_dual_and_ipv6_stacks_only():
    assert [ipv6_needed({"ip_stack": s}) for s in ("dual", "ipv6", "ipv4")] == [True, True, False]
    assert ipv6_needed({}) is False
