"""Issue 18 under Pulumi's mock runtime: SNAT coverage, the default route, dual stack (cloud answers stubbed)."""
from __future__ import annotations

import copy
import json

import pulumi
import pytest

from terway_stack.plan import mocks
from terway_stack.plan.mocks import SAMPLE_ENI_CONFIG, load_configmap
from terway_stack.program import run

from .stacks import PODS_WITH_SNAT_TABLE, SWITCH, stack_config

VPC_IPV6 = "2408:4005:3b0:1200::/56"


def cloud(snat_entries=(), routes=None, vpc_ipv6="", adopted_ipv6="", used_ipv6=()):
    """Answers like Alibaba Cloud would for the stack's VPC vpc-a1, NAT gateway ngw-g1 and SNAT table stb-t1."""
    routes = [{"cidrBlock": "0.0.0.0/0", "nextHopType": "NatGateway", "instanceId": "ngw-g1"}] if routes is None else routes

    def switches(args):
        if args.get("ids"):
            return {"ids": args["ids"], "vswitches": [
                {"id": i, "zoneId": "cn-shanghai-g", "vpcId": "vpc-a1", "cidrBlock": "10.9.0.0/19",
                 "availableIpAddressCount": 100, "ipv6CidrBlock": adopted_ipv6} for i in args["ids"]]}
        return {"ids": ["vsw-other"], "vswitches": [
            {"id": "vsw-other", "zoneId": "cn-shanghai-f", "vpcId": "vpc-a1", "cidrBlock": "10.1.0.0/16",
             "ipv6CidrBlock": block} for block in used_ipv6] or []}

    return {
        "alicloud:vpc/getNetworks:getNetworks": lambda a: {"ids": a["ids"], "vpcs": [
            {"id": "vpc-a1", "cidrBlock": "10.0.0.0/8", "routeTableId": "vtb-sys1", "ipv6CidrBlock": vpc_ipv6}]},
        "alicloud:vpc/getSwitches:getSwitches": switches,
        "alicloud:vpc/getNatGateways:getNatGateways": lambda a: {"ids": ["ngw-g1"], "gateways": [
            {"id": "ngw-g1", "vpcId": "vpc-a1", "snatTableIds": ["stb-t1"]}]},
        "alicloud:ecs/getEipAddresses:getEipAddresses": lambda a: {"addresses": [
            {"ipAddress": a["ipAddress"], "instanceId": "ngw-g1", "instanceType": "Nat", "status": "InUse"}] if a.get("ipAddress") else []},
        "alicloud:vpc/getSnatEntries:getSnatEntries": lambda a: {"ids": [e["id"] for e in snat_entries], "entries": list(snat_entries)}
        if a.get("snatTableId") == "stb-t1" else {"ids": [], "entries": []},
        "alicloud:vpc/getRouteEntries:getRouteEntries": lambda a: {"entries": routes if a.get("routeTableId") == "vtb-sys1" else []},
    }


def eni_config(**changes):
    saved = load_configmap(SAMPLE_ENI_CONFIG)
    conf = json.loads(saved["data"]["eni_conf"])
    conf.update(changes)
    saved["data"]["eni_conf"] = json.dumps(conf)
    return saved


def run_up(config, answers, live=None):
    """Run as `pulumi up` would; (error or "", the cloud and cluster writers declared)."""
    recorder = mocks.ClusterAndCloudMocks(live, None, answers)
    pulumi.runtime.set_mocks(recorder, project="terway", stack="egress", preview=False)
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    error = ""
    try:
        pulumi.runtime.test(lambda: pulumi.Output.all(**run(config, environ={}, node_reader=lambda _: {"items": []})))()
    except pulumi.RunError as err:
        error = str(err)
    writers = [r for r in recorder.declared() if not r.type.startswith(("terway:index:", "pulumi:providers:"))]
    return error, writers, recorder


VPC_WIDE = {"id": "snat-vpcwide", "sourceCidr": "10.0.0.0/8", "snatIp": "47.100.9.9"}


def test_a_vpc_wide_snat_entry_covering_the_new_cidr_stops_the_run_before_any_write():
    error, writers, _ = run_up(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud(snat_entries=[VPC_WIDE]))
    assert ("terway:podVSwitches.zones.cn-shanghai-f.cidr: 10.0.32.0/19 is already covered by SNAT entry snat-vpcwide "
            "(source_cidr 10.0.0.0/8, egress IP 47.100.9.9)") in error
    assert "terway:podVSwitches.snat.confirmEgressChange" in error
    assert writers == []


def test_confirming_the_egress_change_goes_ahead_and_a_vswitch_entry_does_not_count():
    pods = copy.deepcopy(PODS_WITH_SNAT_TABLE)
    pods["snat"]["confirmEgressChange"] = True
    error, writers, _ = run_up(stack_config(pods=pods), cloud(snat_entries=[VPC_WIDE]))
    assert error == "" and any(w.type == SWITCH for w in writers)
    other = {"id": "snat-other", "sourceVswitchId": "vsw-other", "snatIp": "47.100.9.9"}
    disjoint = {"id": "snat-else", "sourceCidr": "192.168.0.0/16", "snatIp": "47.100.9.9"}
    assert run_up(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud(snat_entries=[other, disjoint]))[0] == ""


def test_the_route_table_must_send_the_default_route_to_the_nat_gateway():
    elsewhere = [{"cidrBlock": "0.0.0.0/0", "nextHopType": "Instance", "instanceId": "i-proxy1"}]
    error, writers, _ = run_up(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud(routes=elsewhere))
    assert ("terway:podVSwitches.snat.snatTableId: route table vtb-sys1 (the one new vSwitches of the VPC use) sends "
            "0.0.0.0/0 to Instance i-proxy1, not to NAT gateway ngw-g1") in error
    assert writers == []
    assert "sends 0.0.0.0/0 to no route" in run_up(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud(routes=[]))[0]


def test_dual_stack_gives_the_new_vswitch_ipv6_from_a_free_block_of_the_vpc():
    used = ["2408:4005:3b0:1200::/64", "2408:4005:3b0:1201::/64"]  # /64 number 0 and 1 are taken
    error, writers, _ = run_up(stack_config(pods=PODS_WITH_SNAT_TABLE),
                               cloud(vpc_ipv6=VPC_IPV6, adopted_ipv6="2408:4005:3b0:1205::/64", used_ipv6=used),
                               live=eni_config(ip_stack="dual"))
    assert error == ""
    [switch] = [w for w in writers if w.type == SWITCH]
    assert (switch.inputs["enableIpv6"], switch.inputs["ipv6CidrBlockMask"]) == (True, 2)


def test_ipv4_clusters_get_no_ipv6():
    error, writers, _ = run_up(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud(vpc_ipv6=VPC_IPV6))
    [switch] = [w for w in writers if w.type == SWITCH]
    assert error == "" and "enableIpv6" not in switch.inputs and "ipv6CidrBlockMask" not in switch.inputs


@pytest.mark.parametrize("stack", ["dual", "ipv6"])
def test_dual_stack_without_ipv6_on_the_vpc_or_the_adopted_vswitch_stops_the_run(stack):
    error, writers, _ = run_up(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud(vpc_ipv6="", adopted_ipv6=""),
                               live=eni_config(ip_stack=stack))
    assert (f"terway:podVSwitches.zones.cn-shanghai-f.cidr: kube-system/eni-config:eni_conf.ip_stack is {stack!r}, so "
            "Terway asks for IPv6 on every new ENI, but VPC vpc-a1 has no IPv6 CIDR block") in error
    assert "terway:podVSwitches.zones.cn-shanghai-g.vswitchId: kube-system/eni-config:eni_conf.ip_stack" in error
    assert "vsw-adopted1 has no IPv6 CIDR block" in error
    assert [w.type for w in writers if w.type.startswith("alicloud:")] == []


# ------------------------------------------------------------------------------------ PodNetworkings

POD_NETWORKING_WRITER = "pulumi-python:dynamic/terway_stack:PodNetworkingWriter"


def snapshot_with_pod_networkings(_kubeconfig):
    return {"nodes": {"items": []}, "nodeCrs": None, "nodeConfigs": {}, "podNetworkings": [
        {"metadata": {"name": "web"}, "spec": {"vSwitchOptions": ["vsw-uf6existing00000000f", "vsw-uf6existing00000000g"]}},
        {"metadata": {"name": "other"}, "spec": {"vSwitchOptions": ["vsw-elsewhere"]}},
    ]}


def test_a_stale_pod_networking_is_shown_at_preview_and_nothing_is_written_to_it():
    config = stack_config(pods=PODS_WITH_SNAT_TABLE)
    evaluation = mocks.evaluate(lambda: run(config, environ={}, node_reader=snapshot_with_pod_networkings), config,
                                stack="pn", cloud_answers=cloud())
    warnings = "\n".join(evaluation.warnings)
    assert "PodNetworking web covers cn-shanghai-f but its spec.vSwitchOptions lacks <new vSwitch" in warnings
    assert "PodNetworking web covers cn-shanghai-g but its spec.vSwitchOptions lacks vsw-adopted1" in warnings
    assert "terway:podVSwitches.updatePodNetworkings" in warnings and "PodNetworking other" not in warnings
    assert not [r for r in evaluation.resources if r.type == POD_NETWORKING_WRITER]


def test_opting_in_declares_the_retained_writer_after_the_checks():
    pods = {**copy.deepcopy(PODS_WITH_SNAT_TABLE), "updatePodNetworkings": True}
    config = stack_config(pods=pods)
    evaluation = mocks.evaluate(lambda: run(config, environ={}, node_reader=snapshot_with_pod_networkings), config,
                                stack="pn", cloud_answers=cloud())
    [writer] = [r for r in evaluation.resources if r.type == POD_NETWORKING_WRITER]
    assert writer.inputs["zoneOfIds"] == {"vsw-uf6existing00000000f": "cn-shanghai-f", "vsw-uf6existing00000000g": "cn-shanghai-g"}
    # after the live gate and the preflight (every read-only check), and after the vSwitch it names
    assert {"eni-config-live", "preflight-checks", "prod-pods-cn-shanghai-f"} <= set(writer.options["dependsOn"])
    assert writer.options["retainOnDelete"] is True
    assert not any("covers cn-shanghai-f but" in w for w in evaluation.warnings)
