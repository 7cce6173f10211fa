"""The Alibaba Cloud half under the real pulumi-resource-alicloud 3.105.0 provider (issue 16).

Real: the Pulumi CLI and engine, the Python language host, pulumi-resource-kubernetes and
pulumi-resource-alicloud (built from upstream source), the program, kube-apiserver and kwok nodes.
A test double: the Alibaba Cloud API itself (`e2e/alicloud_api`, loopback RPC server), whose request log
the assertions read. The module runs in a network namespace with no way out (`e2e/run.sh` starts it
under `unshare -n`: `lo` plus a veth pair with both ends inside), so nothing can leave the machine;
run outside one, it fails.

One stack (mode `disabled`, so that destroy has a key to give back and a restart to do) lives through
the module, in order: refused EIPs, preview, two refused ups, an up through throttling / conflicts / a
slow vSwitch, a second up, destroy with ENIs still in the new vSwitch.
"""
from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.alicloud_api.account import (  # noqa: E402
    ADOPTED, EIP_OF_AN_INSTANCE, EIPS_OF_NAT, EXTRA_TAGS, FOREIGN_INSTANCE, NAT_GATEWAY_ID, NEW_CIDR, SNAT_TABLE_ID,
    VPC_ID, ZONE_ADOPTED, ZONE_NEW,
)
from e2e.controlplane import ADMIN_USER  # noqa: E402
from e2e.cloud_stack import cloud_stack  # noqa: E402

NODES = 4
NS, DS = "kube-system", "terway-eniip"
CLUSTER = "cloud"
STACK_TAGS = {**EXTRA_TAGS, "managed-by": "terway-stack", "terway-stack/cluster": CLUSTER}
ROLLOUT_AGENT = "terway-stack-rollout"
ENI_CONF_MANAGER = "terway-stack-eni-conf"
POLICY_MANAGER = "terway-stack-policy-keys"


@pytest.fixture(scope="module")
def pulumi(cp, api, tmp_path_factory):
    return cloud_stack(cp.kubeconfig_inline(), api.endpoint, tmp_path_factory.mktemp("project"),
                       tmp_path_factory.mktemp("pulumi"), "cloud", CLUSTER, NODES, "disabled", pytest.fail)


@pytest.fixture(scope="module")
def baseline(cp):
    return dict(eni_config(cp))


def eni_config(cp) -> dict:
    return cp.core().read_namespaced_config_map("eni-config", NS).data


def listed(cp) -> dict:
    return json.loads(eni_config(cp)["eni_conf"])["vswitches"]


def restarts(cp, since: int) -> list[dict]:
    return cp.write_events(since, user_agent=ROLLOUT_AGENT, resource="daemonsets", name=DS, verbs=["patch"])


def epoch(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def output_of(result) -> str:
    return result.stdout + result.stderr


def our_vswitches(api) -> list:
    return [v for v in api.cloud.vswitches.values() if v.name == f"{CLUSTER}-terway-pods-{ZONE_NEW}"]


def test_1_eips_not_bound_to_the_nat_gateway_are_refused_before_any_write(cp, api, pulumi):
    pulumi.set_config("terway:podVSwitches.snat.snatIps[1]", EIP_OF_AN_INSTANCE)
    pulumi.set_config("terway:podVSwitches.snat.snatIps[2]", "47.100.77.77")
    since, audit = api.mark(), cp.audit_offset()
    result = pulumi("preview", check=False)
    pulumi("config", "rm", "--path", "terway:podVSwitches.snat.snatIps[2]")
    pulumi.set_config("terway:podVSwitches.snat.snatIps[1]", EIPS_OF_NAT[1])
    text = output_of(result)
    assert result.returncode != 0
    assert (f"terway:podVSwitches.snat.snatIps[1]: {EIP_OF_AN_INSTANCE} is bound to EcsInstance {FOREIGN_INSTANCE}, "
            f"not to NAT gateway {NAT_GATEWAY_ID}") in text, text
    assert "terway:podVSwitches.snat.snatIps[2]: 47.100.77.77 is not an EIP of this account in this region" in text
    assert "snatIps[0]" not in text  # the EIP bound to the gateway is found and accepted
    assert "Traceback" not in text
    # One look-up per address, by address (the list form never matches under the real provider).
    asked = [r.params.get("EipAddress") for r in api.calls("DescribeEipAddresses", since)]
    assert asked == [EIPS_OF_NAT[0], EIP_OF_AN_INSTANCE, "47.100.77.77"]
    assert api.writes(since) == [] and cp.write_summary(audit, user=ADMIN_USER) == {}


def test_2_preview_reads_every_page_and_creates_nothing(cp, api, pulumi, baseline):
    since, audit = api.mark(), cp.audit_offset()
    result = pulumi("preview", "--diff")
    assert "alicloud:vpc/switch:Switch" in result.stdout and "alicloud:vpc/snatEntry:SnatEntry" in result.stdout
    assert api.writes(since) == [], [(r.action, r.params) for r in api.writes(since)]
    # The cluster's VPC and its newest vSwitches sit past the first page of 50.
    assert {r.params["PageNumber"] for r in api.calls("DescribeVpcs", since)} == {"1", "2"}
    vpc_pages = [r.params for r in api.calls("DescribeVSwitches", since) if r.params.get("VpcId") == VPC_ID]
    assert [(p["PageSize"], p["PageNumber"]) for p in vpc_pages] == [("50", "1"), ("50", "2")]
    # The VPC's route table is read (enable_details) because the default-route check of new vSwitches
    # with SNAT needs it; the EIPs' tags (ListTagResources) are never read.
    assert api.calls("DescribeRouteTableList", since) != [] and api.calls("ListTagResources", since) == []
    assert api.calls("DescribeRouteTables", since) != []  # the default route to the NAT gateway, checked
    assert cp.write_summary(audit, user=ADMIN_USER) == {} and eni_config(cp) == baseline


@pytest.mark.parametrize("code, message", [
    ("InvalidCidrBlock.Overlapped", "Specified CIDR block overlapped with other subnets."),
    ("QuotaExceeded.VSwitch", "Virtual switch quota exceeded."),
])
def test_3_up_refused_by_the_cloud_says_why_and_leaves_nothing(cp, api, pulumi, baseline, code, message):
    api.inject("CreateVSwitch", code)
    since, audit = api.mark(), cp.audit_offset()
    result = pulumi("up", "--yes", "--skip-preview", check=False)
    text = output_of(result)
    assert result.returncode != 0
    assert code in text and message in text and "CreateVSwitch" in text, text
    assert "Traceback" not in text
    assert [r.code for r in api.calls("CreateVSwitch", since)] == [code]  # not retried: it cannot succeed
    assert our_vswitches(api) == [] and api.calls("CreateSnatEntry", since) == []
    # eni_conf is written only with the vSwitch id, and Terway restarts only after every writer.
    assert eni_config(cp)["eni_conf"] == baseline["eni_conf"] and restarts(cp, audit) == []


def test_4_up_rides_out_throttling_conflicts_and_a_slow_vswitch_then_creates_each_thing_once(cp, api, pulumi, baseline):
    api.inject("DescribeVSwitches", "Throttling.User", times=2)  # the data source does not retry: the stack does
    api.inject("CreateVSwitch", "Throttling.User")  # the provider retries (NeedRetry)
    api.inject("CreateSnatEntry", "OperationConflict")  # the provider retries (its create retry list)
    api.cloud.pending_polls = 3
    since, audit = api.mark(), cp.audit_offset()
    pulumi("up", "--yes", "--skip-preview")

    [vswitch] = our_vswitches(api)
    assert (vswitch.vpc_id, vswitch.zone, vswitch.cidr, vswitch.status) == (VPC_ID, ZONE_NEW, NEW_CIDR, "Available")
    creates = api.calls("CreateVSwitch", since)
    assert [r.code for r in creates] == ["Throttling.User", ""]
    params = dict(creates[1].params)
    assert params.pop("ClientToken")
    assert params == {
        "RegionId": "cn-shanghai", "VpcId": VPC_ID, "ZoneId": ZONE_NEW, "CidrBlock": NEW_CIDR,
        "VSwitchName": f"{CLUSTER}-terway-pods-{ZONE_NEW}",
        "Description": f"Terway pod vSwitch for ACK cluster {CLUSTER}, managed by terway-stack",
    }
    polled = [r for r in api.calls("DescribeVSwitchAttributes", since) if r.params.get("VSwitchId") == vswitch.id]
    assert len(polled) >= 4  # Pending three times, then Available
    [tagged] = api.calls("TagResources", since)
    pairs = {tagged.params[f"Tag.{i}.Key"]: tagged.params[f"Tag.{i}.Value"] for i in range(1, len(STACK_TAGS) + 1)}
    assert (tagged.params["ResourceType"], tagged.params["ResourceId.1"], pairs) == ("VSWITCH", vswitch.id, STACK_TAGS)
    assert api.cloud.tags[vswitch.id] == STACK_TAGS

    snats = api.calls("CreateSnatEntry", since)
    assert [r.code for r in snats] == ["OperationConflict", ""]
    params = dict(snats[1].params)
    assert params.pop("ClientToken")
    assert params == {
        "RegionId": "cn-shanghai", "SnatTableId": SNAT_TABLE_ID, "SourceVSwitchId": vswitch.id,
        "SnatIp": ",".join(EIPS_OF_NAT), "SnatEntryName": f"{CLUSTER}-terway-pods-{ZONE_NEW}",
    }
    [entry] = api.cloud.snat_entries.values()
    assert (entry.source_vswitch_id, entry.snat_ip, entry.status) == (vswitch.id, ",".join(EIPS_OF_NAT), "Available")
    assert [r.code for r in api.calls("DescribeVSwitches", since)][:3] == ["Throttling.User", "Throttling.User", ""]

    before = json.loads(baseline["eni_conf"])["vswitches"]
    assert listed(cp) == {ZONE_NEW: [*before[ZONE_NEW], vswitch.id], ZONE_ADOPTED: [*before[ZONE_ADOPTED], ADOPTED[ZONE_ADOPTED]]}
    # eni-config names the vSwitch only once it is Available and has its SNAT entry; then Terway restarts once.
    written = cp.write_events(since=audit, field_manager=ENI_CONF_MANAGER, resource="configmaps", name="eni-config")
    [restart] = restarts(cp, audit)
    snat_available = max(r.time for r in api.calls("DescribeSnatTableEntries", since))
    assert written and snat_available < epoch(written[0]["requestReceivedTimestamp"])
    assert written[-1]["stageTimestamp"] <= restart["requestReceivedTimestamp"]


def test_5_second_up_sends_no_write_to_the_cloud_or_the_cluster(cp, api, pulumi):
    since, audit = api.mark(), cp.audit_offset()
    pulumi("up", "--yes", "--skip-preview", "--expect-no-changes")
    assert api.writes(since) == [] and restarts(cp, audit) == []
    assert len(our_vswitches(api)) == 1 and len(api.cloud.snat_entries) == 1


def test_6_destroy_keeps_a_vswitch_enis_still_use_and_touches_no_cloud_object(cp, api, pulumi, baseline):
    state = pulumi("stack", "export").stdout
    assert "alicloud:vpc/switch:Switch" in state
    assert "LTAI-e2e-fake-access-key" not in state and "e2e-fake-secret-key" not in state
    [vswitch] = our_vswitches(api)
    vswitch.eni_count = 12  # pods got IPs from it: the real API refuses its deletion
    refused = api.inject("DeleteVSwitch", "DependencyViolation", times=None)
    since, audit = api.mark(), cp.audit_offset()
    pulumi("destroy", "--yes", "--skip-preview")

    assert api.writes(since) == [] and refused.hits == 0  # retained: no DeleteVSwitch, no DeleteSnatEntry
    assert our_vswitches(api) == [vswitch] and len(api.cloud.snat_entries) == 1
    assert vswitch.id in listed(cp)[ZONE_NEW]  # pods still hold IPs there: eni_conf keeps naming it
    # What destroy does write: the policy key goes back to what it was, then Terway rolls once.
    assert eni_config(cp)["disable_network_policy"] == baseline["disable_network_policy"]
    released = cp.write_events(since=audit, field_manager=POLICY_MANAGER, resource="configmaps", name="eni-config")
    [restart] = restarts(cp, audit)
    assert released and released[-1]["stageTimestamp"] <= restart["requestReceivedTimestamp"]
