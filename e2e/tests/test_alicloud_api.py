"""The loopback Alibaba Cloud API (a test double) on its own, over HTTP as the provider talks to it:
paging, state between calls, the errors it injects, and the request log the cloud scenarios assert on."""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.alicloud_api import API_ERRORS, LoopbackAlibabaCloud  # noqa: E402
from e2e.alicloud_api.account import ADOPTED, EIPS_OF_NAT, NAT_GATEWAY_ID, SNAT_TABLE_ID, VPC_ID, e2e_account  # noqa: E402

VPC, ECS = "2016-04-28", "2014-05-26"


@pytest.fixture
def api():
    with LoopbackAlibabaCloud(e2e_account()) as server:
        yield server


def call(api, action: str, version: str = VPC, **params) -> tuple[int, dict]:
    """A tea-style RPC call: common parameters in the query, the action's own ones form-encoded."""
    query = urllib.parse.urlencode({"Action": action, "Version": version, "Format": "JSON", "AccessKeyId": "fake",
                                    "SignatureNonce": "n", "Signature": "s"})
    body = urllib.parse.urlencode({k: str(v) for k, v in params.items()}).encode()
    request = urllib.request.Request(f"http://{api.endpoint}/?{query}", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def all_pages(api, action: str, key: str, inner: str, **params) -> list[dict]:
    found, number = [], 1
    while True:
        status, body = call(api, action, PageSize=50, PageNumber=number, **params)
        assert status == 200, body
        found += body[key][inner]
        if len(body[key][inner]) < 50:
            return found
        number += 1


def test_describe_vswitches_pages_by_50_and_counts_all(api):
    status, first = call(api, "DescribeVSwitches", VpcId=VPC_ID, PageSize=50, PageNumber=1)
    assert status == 200 and len(first["VSwitches"]["VSwitch"]) == 50
    assert first["TotalCount"] == 58 and first["PageNumber"] == 1 and first["PageSize"] == 50
    _, second = call(api, "DescribeVSwitches", VpcId=VPC_ID, PageSize=50, PageNumber=2)
    ids = [v["VSwitchId"] for v in first["VSwitches"]["VSwitch"] + second["VSwitches"]["VSwitch"]]
    assert len(ids) == len(set(ids)) == 58 and ADOPTED["cn-shanghai-g"] in ids[50:]


def test_the_cluster_vpc_is_only_on_page_two(api):
    _, first = call(api, "DescribeVpcs", PageSize=50, PageNumber=1)
    assert VPC_ID not in [v["VpcId"] for v in first["Vpcs"]["Vpc"]]
    assert VPC_ID in [v["VpcId"] for v in all_pages(api, "DescribeVpcs", "Vpcs", "Vpc")]


def test_nested_maps_the_provider_type_asserts_are_present(api):
    vpc = next(v for v in all_pages(api, "DescribeVpcs", "Vpcs", "Vpc") if v["VpcId"] == VPC_ID)
    assert isinstance(vpc["SecondaryCidrBlocks"]["SecondaryCidrBlock"], list)
    assert isinstance(vpc["UserCidrs"]["UserCidr"], list) and isinstance(vpc["VSwitchIds"]["VSwitchId"], list)
    gateway = next(g for g in all_pages(api, "DescribeNatGateways", "NatGateways", "NatGateway") if g["NatGatewayId"] == NAT_GATEWAY_ID)
    assert gateway["SnatTableIds"]["SnatTableId"] == [SNAT_TABLE_ID] and isinstance(gateway["InstanceChargeType"], str)
    assert sorted(ip["IpAddress"] for ip in gateway["IpLists"]["IpList"]) == sorted(EIPS_OF_NAT)
    assert isinstance(gateway["ForwardTableIds"]["ForwardTableId"], list) and "VswitchId" in gateway["NatGatewayPrivateInfo"]
    _, eips = call(api, "DescribeEipAddresses", EipAddress=EIPS_OF_NAT[0], PageSize=50, PageNumber=1)
    [eip] = eips["EipAddresses"]["EipAddress"]
    assert eip["OperationLocks"]["LockReason"] == [] and eip["AvailableRegions"]["AvailableRegion"] == ["cn-shanghai"]
    assert (eip["InstanceId"], eip["InstanceType"], eip["Status"]) == (NAT_GATEWAY_ID, "Nat", "InUse")
    _, switches = call(api, "DescribeVSwitches", VSwitchId=ADOPTED["cn-shanghai-g"])
    assert switches["VSwitches"]["VSwitch"][0]["RouteTable"]["RouteTableId"].startswith("vtb-")


def test_create_vswitch_is_pending_then_available_then_tagged_and_deleted(api):
    api.cloud.pending_polls = 2
    status, created = call(api, "CreateVSwitch", RegionId="cn-shanghai", VpcId=VPC_ID, ZoneId="cn-shanghai-f",
                           CidrBlock="10.8.0.0/19", VSwitchName="pods-f", ClientToken="t1")
    assert status == 200
    vswitch_id = created["VSwitchId"]
    states = [call(api, "DescribeVSwitchAttributes", VSwitchId=vswitch_id)[1]["Status"] for _ in range(3)]
    assert states == ["Pending", "Pending", "Available"]
    assert call(api, "TagResources", ResourceType="VSWITCH", **{"ResourceId.1": vswitch_id, "Tag.1.Key": "team",
                                                                  "Tag.1.Value": "net"})[0] == 200
    _, tags = call(api, "ListTagResources", ResourceType="VSWITCH", **{"ResourceId.1": vswitch_id})
    assert tags["TagResources"]["TagResource"] == [{"ResourceId": vswitch_id, "ResourceType": "VSWITCH", "TagKey": "team", "TagValue": "net"}]
    _, attributes = call(api, "DescribeVSwitchAttributes", VSwitchId=vswitch_id)
    assert attributes["Tags"]["Tag"] == [{"Key": "team", "Value": "net"}] and attributes["AvailableIpAddressCount"] == 8188
    assert call(api, "DeleteVSwitch", VSwitchId=vswitch_id)[0] == 200
    assert call(api, "DescribeVSwitchAttributes", VSwitchId=vswitch_id)[1]["VSwitchId"] == ""
    assert call(api, "DeleteVSwitch", VSwitchId=vswitch_id)[1]["Code"] == "InvalidVSwitchId.NotFound"


def test_create_vswitch_refuses_overlap_outside_vpc_and_over_quota(api):
    def create(cidr: str) -> tuple[int, dict]:
        return call(api, "CreateVSwitch", VpcId=VPC_ID, ZoneId="cn-shanghai-f", CidrBlock=cidr)

    status, body = create("10.2.0.0/20")  # inside the adopted vSwitch's range
    assert (status, body["Code"]) == (400, "InvalidCidrBlock.Overlapped")
    assert create("192.168.0.0/19")[1]["Code"] == "InvalidParameter"
    assert create("banana")[1]["Code"] == "InvalidCidrBlock.Malformed"
    assert call(api, "CreateVSwitch", VpcId="vpc-nope", ZoneId="cn-shanghai-f", CidrBlock="10.9.0.0/19")[0] == 404
    api.cloud.vswitch_quota = 58
    status, body = create("10.9.0.0/19")
    assert (status, body["Code"], body["Message"]) == (400, "QuotaExceeded.VSwitch", "Virtual switch quota exceeded.")


def test_deleting_a_vswitch_that_enis_use_is_a_dependency_violation(api):
    status, body = call(api, "DeleteVSwitch", VSwitchId="vsw-existing-f")
    assert (status, body["Code"]) == (400, "DependencyViolation")
    assert "vsw-existing-f" in api.cloud.vswitches


def test_snat_entry_needs_eips_of_its_gateway_and_polls_to_available(api):
    base = {"SnatTableId": SNAT_TABLE_ID, "SourceVSwitchId": ADOPTED["cn-shanghai-g"]}
    assert call(api, "CreateSnatEntry", SnatIp="47.100.9.9", **base)[1]["Code"] == "EIP_NOT_IN_GATEWAY"
    assert call(api, "CreateSnatEntry", SnatIp=EIPS_OF_NAT[0], SnatTableId="stb-nope", SourceVSwitchId="x")[0] == 404
    status, created = call(api, "CreateSnatEntry", SnatIp=",".join(EIPS_OF_NAT), **base)
    assert status == 200
    query = {"SnatTableId": SNAT_TABLE_ID, "SnatEntryId": created["SnatEntryId"]}
    states = [call(api, "DescribeSnatTableEntries", **query)[1]["SnatTableEntries"]["SnatTableEntry"][0]["Status"] for _ in range(2)]
    assert states == ["Pending", "Available"]
    assert call(api, "DeleteVSwitch", VSwitchId=ADOPTED["cn-shanghai-g"])[1]["Code"] == "DependencyViolation.SnatEntry"
    assert call(api, "DeleteSnatEntry", **query)[0] == 200
    assert call(api, "DescribeSnatTableEntries", **query)[1]["TotalCount"] == 0


@pytest.mark.parametrize("code", ["Throttling.User", "ServiceUnavailable", "OperationConflict", "InvalidCidrBlock.Overlapped",
                                  "QuotaExceeded.VSwitch", "DependencyViolation", "IncorrectVSwitchStatus"])
def test_injected_errors_carry_the_real_code_and_status_then_stop(api, code):
    api.inject("DescribeVpcs", code, times=2)
    answers = [call(api, "DescribeVpcs") for _ in range(3)]
    assert [(s, b.get("Code")) for s, b in answers[:2]] == [(API_ERRORS[code][0], code)] * 2
    assert answers[2][0] == 200
    assert set(answers[0][1]) == {"RequestId", "HostId", "Code", "Message", "Recommend"}


def test_injection_can_match_parameters_and_last_forever(api):
    api.inject("DeleteVSwitch", "DependencyViolation", times=None, when=lambda p: p.get("VSwitchId") == "vsw-node001")
    assert [call(api, "DeleteVSwitch", VSwitchId="vsw-node001")[1]["Code"] for _ in range(3)] == ["DependencyViolation"] * 3
    assert call(api, "DeleteVSwitch", VSwitchId="vsw-node002")[0] == 200


def test_request_log_keeps_action_params_and_outcome(api):
    since = api.mark()
    call(api, "DescribeEipAddresses", EipAddress=EIPS_OF_NAT[1], RegionId="cn-shanghai")
    call(api, "Bogus")
    [eips, bogus] = api.calls(since=since)
    assert (eips.action, eips.params, eips.status, eips.code) == (
        "DescribeEipAddresses", {"EipAddress": EIPS_OF_NAT[1], "RegionId": "cn-shanghai"}, 200, "")
    assert eips.common["AccessKeyId"] == "fake" and not eips.is_write
    assert (bogus.status, bogus.code, bogus.is_write) == (404, "InvalidAction.NotFound", True)
    assert api.writes(since) == [bogus]


def test_instance_types_ignore_the_unknown_instance_type_parameter_and_page_by_next_token(api):
    _, zones = call(api, "DescribeAvailableResource", ECS, DestinationResource="InstanceType", RegionId="cn-shanghai")
    supported = zones["AvailableZones"]["AvailableZone"][0]["AvailableResources"]["AvailableResource"][0]
    assert "ecs.g7.4xlarge" in [r["Value"] for r in supported["SupportedResources"]["SupportedResource"]]
    status, first = call(api, "DescribeInstanceTypes", ECS, InstanceType="ecs.g7.4xlarge")
    assert status == 200 and len(first["InstanceTypes"]["InstanceType"]) == 100 and first["NextToken"]
    _, second = call(api, "DescribeInstanceTypes", ECS, InstanceType="ecs.g7.4xlarge", NextToken=first["NextToken"])
    g7 = [t for t in second["InstanceTypes"]["InstanceType"] if t["InstanceTypeId"] == "ecs.g7.4xlarge"]
    assert [(t["EniQuantity"], t["EniPrivateIpAddressQuantity"]) for t in g7] == [(8, 30)] and not second["NextToken"]
