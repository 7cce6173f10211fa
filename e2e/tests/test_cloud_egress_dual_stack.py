"""Dual stack, SNAT coverage and the default route under the real pulumi-resource-alicloud 3.105.0 (issue 18).

Real: the Pulumi CLI and engine, the Python language host, pulumi-resource-kubernetes and
pulumi-resource-alicloud (built from upstream source), the program, kube-apiserver and kwok nodes.
A test double: the Alibaba Cloud API itself (`e2e/alicloud_api`, loopback RPC server), whose state the
tests change between steps and whose request log the assertions read. Run in the network namespace of
`e2e/run.sh` (unshare -n), like every `test_cloud_*` module.

One stack (mode `direct`: Terway's own policy stays on, so no policy key is written) lives through the
module, in order:
  1. the live eni_conf says `ip_stack: dual`, the VPC has no IPv6 block and the adopted vSwitch no IPv6:
     preview stops, naming both zone keys, before any write;
  2. the VPC gets an IPv6 block: preview still stops, naming only the adopted vSwitch's key;
  3. the adopted vSwitch gets IPv6, and a VPC-CIDR SNAT entry already covers the new CIDR: preview stops
     naming the new zone's key and `confirmEgressChange`;
  4. `confirmEgressChange` set, but the route table sends 0.0.0.0/0 elsewhere: preview stops naming the
     NAT gateway key and the route table;
  5. the route restored: up creates the vSwitch with IPv6 (CreateVSwitch's `Ipv6CidrBlock`, the /64's
     index in the VPC block) and, as documented for a confirmed egress change, its own per-vSwitch SNAT
     entry; the VPC-CIDR entry is left as it was.
"""
from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.alicloud_api.account import (  # noqa: E402
    ADOPTED, EIPS_OF_NAT, NAT_GATEWAY_ID, NEW_CIDR, SNAT_TABLE_ID, VPC_CIDR, VPC_ID, ZONE_ADOPTED, ZONE_NEW,
)
from e2e.alicloud_api.state import RouteEntry, SnatEntry  # noqa: E402
from e2e.controlplane import ADMIN_USER  # noqa: E402
from e2e.cloud_stack import cloud_stack  # noqa: E402

NODES = 3
NS = "kube-system"
CLUSTER = "egress"
VPC_IPV6 = "2408:4005:3c4:ab00::/56"
ADOPTED_IPV6 = "2408:4005:3c4:ab00::/64"  # index 0 of the VPC block: the new vSwitch must get index 1
PARTNER_EGRESS_IP = "47.100.0.1"  # the VPC-CIDR entry's egress IP, which partners allow-list
NEW_ZONE_KEY = f"terway:podVSwitches.zones.{ZONE_NEW}.cidr"
ADOPTED_KEY = f"terway:podVSwitches.zones.{ZONE_ADOPTED}.vswitchId"
CONFIRM_KEY = "terway:podVSwitches.snat.confirmEgressChange"
GATEWAY_KEY = "terway:podVSwitches.snat.natGatewayId"
DUAL = "kube-system/eni-config:eni_conf.ip_stack is 'dual'"


@pytest.fixture(scope="module")
def pulumi(cp, api, tmp_path_factory):
    return cloud_stack(cp.kubeconfig_inline(), api.endpoint, tmp_path_factory.mktemp("project"),
                       tmp_path_factory.mktemp("pulumi"), "egress", CLUSTER, NODES, "direct", pytest.fail)


@pytest.fixture(scope="module")
def dual_stack(cp):
    """The live eni_conf of a dual-stack cluster, written as ACK's own tooling would (admin, before the stack runs)."""
    data = cp.core().read_namespaced_config_map("eni-config", NS).data
    conf = json.loads(data["eni_conf"])
    conf["ip_stack"] = "dual"
    cp.core().patch_namespaced_config_map("eni-config", NS, {"data": {"eni_conf": json.dumps(conf, indent=2)}})
    return dict(cp.core().read_namespaced_config_map("eni-config", NS).data)


def output_of(result) -> str:
    return result.stdout + result.stderr


def stopped_before_any_write(cp, api, pulumi, baseline: dict) -> str:
    """Run preview; assert it failed with no write to the cloud or the cluster; return its output."""
    since, audit = api.mark(), cp.audit_offset()
    result = pulumi("preview", check=False)
    text = output_of(result)
    assert result.returncode != 0, text
    assert "Traceback" not in text
    assert api.writes(since) == [], [(r.action, r.params) for r in api.writes(since)]
    assert cp.write_summary(audit, user=ADMIN_USER) == {}
    assert dict(cp.core().read_namespaced_config_map("eni-config", NS).data) == baseline
    return text


def our_vswitches(api) -> list:
    return [v for v in api.cloud.vswitches.values() if v.name == f"{CLUSTER}-terway-pods-{ZONE_NEW}"]


def test_1_dual_stack_without_ipv6_in_the_vpc_stops_preview_naming_both_zone_keys(cp, api, pulumi, dual_stack):
    assert api.cloud.vpcs[VPC_ID].ipv6_cidr == "" and api.cloud.vswitches[ADOPTED[ZONE_ADOPTED]].ipv6_cidr == ""
    text = stopped_before_any_write(cp, api, pulumi, dual_stack)
    assert f"{NEW_ZONE_KEY}: {DUAL}" in text and f"VPC {VPC_ID} has no IPv6 CIDR block" in text, text
    assert f"{ADOPTED_KEY}: {DUAL}" in text and f"{ADOPTED[ZONE_ADOPTED]} has no IPv6 CIDR block" in text, text


def test_2_vpc_with_ipv6_but_an_adopted_vswitch_without_it_stops_preview_naming_that_key(cp, api, pulumi, dual_stack):
    api.cloud.vpcs[VPC_ID].ipv6_cidr = VPC_IPV6
    since = api.mark()
    text = stopped_before_any_write(cp, api, pulumi, dual_stack)
    assert f"{ADOPTED_KEY}: {DUAL}" in text and f"{ADOPTED[ZONE_ADOPTED]} has no IPv6 CIDR block" in text, text
    assert NEW_ZONE_KEY not in text, text  # the VPC's IPv6 block was read: a new vSwitch can have IPv6
    assert any(r.params.get("PageNumber") == "2" for r in api.calls("DescribeVpcs", since))  # the VPC sits on page 2


def test_3_a_vpc_cidr_snat_entry_covering_the_new_cidr_stops_preview_naming_the_confirm_key(cp, api, pulumi, dual_stack):
    api.cloud.vswitches[ADOPTED[ZONE_ADOPTED]].ipv6_cidr = ADOPTED_IPV6
    covering = SnatEntry("snat-e2evpccidr", SNAT_TABLE_ID, NAT_GATEWAY_ID, PARTNER_EGRESS_IP,
                         source_cidr=VPC_CIDR, name="whole-vpc", status="Available", pending_polls=0)
    api.cloud.snat_entries[covering.id] = covering
    since = api.mark()
    text = stopped_before_any_write(cp, api, pulumi, dual_stack)
    assert (f"{NEW_ZONE_KEY}: {NEW_CIDR} is already covered by SNAT entry {covering.id} (source_cidr {VPC_CIDR}, "
            f"egress IP {PARTNER_EGRESS_IP})") in text, text
    assert f"Set {CONFIRM_KEY} true to go ahead" in text
    assert DUAL not in text  # dual stack is satisfied now
    # The SNAT table was read by table id, as the provider's snat_entries data source asks.
    assert {r.params.get("SnatTableId") for r in api.calls("DescribeSnatTableEntries", since)} == {SNAT_TABLE_ID}


def test_4_a_route_table_without_the_default_route_to_the_nat_gateway_stops_preview(cp, api, pulumi, dual_stack):
    pulumi.set_config(CONFIRM_KEY, True)
    vpc = api.cloud.vpcs[VPC_ID]
    saved = list(vpc.routes)
    vpc.routes[:] = [RouteEntry("0.0.0.0/0", "Instance", "i-e2efirewall")]
    try:
        since = api.mark()
        text = stopped_before_any_write(cp, api, pulumi, dual_stack)
    finally:
        vpc.routes[:] = saved
    assert (f"{GATEWAY_KEY}: route table {vpc.route_table_id} (the one new vSwitches of the VPC use) sends 0.0.0.0/0 "
            f"to Instance i-e2efirewall, not to NAT gateway {NAT_GATEWAY_ID}") in text, text
    assert "already covered by SNAT entry" not in text  # confirmed by the key
    assert {r.params.get("RouteTableId") for r in api.calls("DescribeRouteTables", since)} == {vpc.route_table_id}


def test_5_up_creates_the_vswitch_with_ipv6_and_its_confirmed_snat_entry_leaving_the_vpc_entry(cp, api, pulumi, dual_stack):
    since, audit = api.mark(), cp.audit_offset()
    pulumi("up", "--yes", "--skip-preview")

    [vswitch] = our_vswitches(api)
    [create] = api.calls("CreateVSwitch", since, ok_only=True)
    # CreateVSwitch's Ipv6CidrBlock: the new /64's index in the VPC's block (0 is the adopted vSwitch's).
    assert (create.params["VpcId"], create.params["CidrBlock"], create.params["Ipv6CidrBlock"]) == (VPC_ID, NEW_CIDR, "1")
    assert vswitch.ipv6_cidr == str(ipaddress.IPv6Network(VPC_IPV6).network_address + (1 << 64)) + "/64"

    # The confirmed egress change: the per-vSwitch entry with snatIps; the VPC-CIDR entry is not touched.
    [snat] = api.calls("CreateSnatEntry", since, ok_only=True)
    assert (snat.params["SourceVSwitchId"], snat.params["SnatIp"]) == (vswitch.id, ",".join(EIPS_OF_NAT))
    assert "SourceCIDR" not in snat.params
    covering = api.cloud.snat_entries["snat-e2evpccidr"]
    assert (covering.source_cidr, covering.snat_ip) == (VPC_CIDR, PARTNER_EGRESS_IP)
    assert api.calls("DeleteSnatEntry", since) == [] and api.calls("ModifySnatEntry", since) == []

    conf = json.loads(cp.core().read_namespaced_config_map("eni-config", NS).data["eni_conf"])
    assert vswitch.id in conf["vswitches"][ZONE_NEW] and ADOPTED[ZONE_ADOPTED] in conf["vswitches"][ZONE_ADOPTED]
    assert conf["ip_stack"] == "dual"  # a key the stack does not own, kept
    assert cp.write_events(since=audit, resource="configmaps", name="eni-config") != []
