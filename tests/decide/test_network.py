"""Pod vSwitch checks against what the cloud reports, and address arithmetic."""
from __future__ import annotations

import pytest

from terway_stack.decide.network import ExistingVSwitch, cloud_problems, pod_vswitch_name
from terway_stack.decide.settings import parse_settings
from terway_stack.decide.sizing import usable_addresses


def pods(zones: dict):
    return parse_settings(
        {
            "alicloud:region": "cn-shanghai",
            "cluster": {"name": "c", "kubernetesVersion": "1.30", "nodeCount": 10},
            "podVSwitches": {"vpcId": "vpc-a", "zones": zones},
        }
    ).pod_vswitches


NODE_VSWITCH = ExistingVSwitch("vsw-nodes0", "10.0.0.0/20", "cn-shanghai-f", "nodes-f")
ADOPTED = ExistingVSwitch("vsw-podsg", "10.0.128.0/19", "cn-shanghai-g")


def test_a_free_cidr_inside_the_vpc_passes():
    assert cloud_problems(pods({"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}), "10.0.0.0/16", [NODE_VSWITCH]) == []


def test_cidr_outside_the_vpc_is_named():
    [problem] = cloud_problems(pods({"cn-shanghai-f": {"cidr": "10.1.0.0/19"}}), "10.0.0.0/16", [])
    assert str(problem) == "terway:podVSwitches.zones.cn-shanghai-f.cidr: 10.1.0.0/19 is outside the VPC's CIDR 10.0.0.0/16"


def test_overlap_with_an_existing_vswitch_is_named():
    [problem] = cloud_problems(pods({"cn-shanghai-f": {"cidr": "10.0.0.0/19"}}), "10.0.0.0/16", [NODE_VSWITCH])
    assert str(problem) == (
        "terway:podVSwitches.zones.cn-shanghai-f.cidr: 10.0.0.0/19 overlaps existing vSwitch vsw-nodes0 (nodes-f) 10.0.0.0/20"
    )


def test_unknown_vpc_cidr_skips_only_the_containment_check():
    assert cloud_problems(pods({"cn-shanghai-f": {"cidr": "10.1.0.0/19"}}), "", []) == []
    assert len(cloud_problems(pods({"cn-shanghai-f": {"cidr": "10.0.0.0/19"}}), None, [NODE_VSWITCH])) == 1


def test_adopted_vswitch_must_exist_in_its_zone():
    assert cloud_problems(pods({"cn-shanghai-g": {"vswitchId": "vsw-podsg"}}), "10.0.0.0/16", [ADOPTED]) == []
    [missing] = cloud_problems(pods({"cn-shanghai-g": {"vswitchId": "vsw-gone"}}), "10.0.0.0/16", [ADOPTED])
    assert str(missing) == "terway:podVSwitches.zones.cn-shanghai-g.vswitchId: vsw-gone is not a vSwitch of vpc-a"
    [wrong_zone] = cloud_problems(pods({"cn-shanghai-f": {"vswitchId": "vsw-podsg"}}), "10.0.0.0/16", [ADOPTED])
    assert str(wrong_zone) == "terway:podVSwitches.zones.cn-shanghai-f.vswitchId: vsw-podsg is in zone cn-shanghai-g, not cn-shanghai-f"


@pytest.mark.parametrize("cidr, usable", [("10.0.0.0/19", 8188), ("10.0.0.0/18", 16380), ("10.0.0.0/16", 65532)])
def test_usable_addresses_leave_out_the_four_reserved(cidr, usable):
    assert usable_addresses(cidr) == usable


def test_the_stacks_own_vswitch_from_an_earlier_run_is_not_an_overlap():
    # Every run after the first finds the vSwitch the stack created: same zone, CIDR and name.
    own = ExistingVSwitch("vsw-own", "10.0.32.0/19", "cn-shanghai-f", pod_vswitch_name("prod", "cn-shanghai-f"))
    wanted = pods({"cn-shanghai-f": {"cidr": "10.0.32.0/19"}})
    assert cloud_problems(wanted, "10.0.0.0/16", [own], cluster="prod") == []


@pytest.mark.parametrize(
    "other",
    [
        ExistingVSwitch("vsw-x", "10.0.32.0/19", "cn-shanghai-f", "prod-terway-pods-cn-shanghai-f-copy"),
        ExistingVSwitch("vsw-x", "10.0.32.0/20", "cn-shanghai-f", "prod-terway-pods-cn-shanghai-f"),
        ExistingVSwitch("vsw-x", "10.0.32.0/19", "cn-shanghai-g", "prod-terway-pods-cn-shanghai-f"),
        ExistingVSwitch("vsw-x", "10.0.32.0/19", "cn-shanghai-f", "staging-terway-pods-cn-shanghai-f"),
    ],
)
def test_anything_short_of_the_stacks_own_vswitch_still_overlaps(other):
    [problem] = cloud_problems(pods({"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}), "10.0.0.0/16", [other], cluster="prod")
    assert "overlaps existing vSwitch vsw-x" in problem.message
