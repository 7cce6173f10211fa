"""Capacity look-ups and cloud-reference checks under Pulumi's mock runtime (issue 12 §1, §2)."""
from __future__ import annotations

import copy
import json

import pulumi
import pytest

from terway_stack.act.cluster_nodes import NodesUnreadable
from terway_stack.plan import mocks
from terway_stack.plan.mocks import SAMPLE_ENI_CONFIG, evaluate, load_configmap
from terway_stack.program import run

from .cloud_answers import INSTANCE_TYPES, NODES, Cloud, declare, node_list
from .stacks import PODS_WITH_SNAT_TABLE, stack_config


def eni_config_with(**conf_changes):
    saved = load_configmap(SAMPLE_ENI_CONFIG)
    conf = json.loads(saved["data"]["eni_conf"])
    conf.update(conf_changes)
    conf = {k: v for k, v in conf.items() if v is not None}
    saved["data"]["eni_conf"] = json.dumps(conf)
    return saved


def full_crs(names, attached=0):
    """Node CRs whose status holds `attached` pod ENIs each."""
    return [{"metadata": {"name": n}, "status": {"networkInterfaces": {
        f"eni-{i}": {"networkInterfaceType": "Secondary", "networkInterfaceTrafficMode": "Standard"} for i in range(attached)}}}
        for n in names]


def test_capacity_per_zone_from_live_nodes_quotas_and_free_ips():
    cloud = Cloud()
    names = [i["metadata"]["name"] for i in NODES["items"]]
    # n0..n29: g7.4xlarge in f; n0 and n1 at their 7 pod ENIs, the rest with 6 (one free ENI each).
    crs = full_crs(names[:2], 7) + full_crs(names[2:30], 6) + full_crs(names[30:32], 0) + full_crs(names[32:], 1)
    snapshot = {"nodes": NODES, "nodeCrs": crs, "nodeConfigs": {}, "podNetworkings": None}
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud, nodes=snapshot, eni_config=eni_config_with(min_pool_size=2))
    figures = evaluation.outputs["podIpCapacity"]
    assert figures["cn-shanghai-f"] == {
        "nodes": 32,
        "nodesByMode": {"shared": 32, "exclusive": 0, "prefix": 0},
        "nodesByInstanceType": {"ecs.g7.2xlarge": 2, "ecs.g7.4xlarge": 30},
        "maxPodsPerNode": {"ecs.g7.2xlarge shared": 5 * 20, "ecs.g7.4xlarge shared": 7 * 30},
        "nodesCanAttachEni": 30,
        "nodesAtEniLimit": 2,
        "nodesEniStateUnknown": 0,
        "minPoolSize": 2,
        "warmIps": 64,
        "vswitches": ["vsw-uf6existing00000000f"],
        "newVSwitchCidrs": ["10.0.32.0/19"],
        "availableIps": 40,
        "addedIps": 8188,
        "newEniIps": 28 * 30 + 2 * 5 * 20,
        "addedUsableIps": 28 * 30 + 2 * 5 * 20,
        "usableHeadroomIps": 40 + 28 * 30 + 2 * 5 * 20,
        "worstCaseIps": 2 * 100 + 30 * 210,
        "trunkMemberEnis": 0,
        "unknown": [],
    }
    g = figures["cn-shanghai-g"]  # the adopted vSwitch is not listed yet: its free IPs are what the run adds
    assert (g["availableIps"], g["addedIps"], g["vswitches"]) == (5000, 7000, ["vsw-uf6existing00000000g", "vsw-adopted1"])
    assert (g["newEniIps"], g["addedUsableIps"]) == (3 * 6 * 30, 3 * 6 * 30)
    assert any("pod IPs in cn-shanghai-f: 2 of 32 nodes are at their ENI limit" in w for w in evaluation.warnings)
    # One look-up for every instance type: the real data source lists them all whatever it is asked.
    assert [args for token, args in cloud.calls if token == INSTANCE_TYPES] == [{}]


def test_exclusive_eni_mode_counts_one_pod_per_secondary_eni():
    config = stack_config(pods=PODS_WITH_SNAT_TABLE, **{"terway:terway": {"daemonSets": ["terway-eni"]}})
    figures = declare(config, Cloud()).outputs["podIpCapacity"]["cn-shanghai-f"]
    assert figures["maxPodsPerNode"] == {"ecs.g7.2xlarge exclusive": 5, "ecs.g7.4xlarge exclusive": 7}


def test_exclusive_eni_per_node_pool_by_label_on_terway_eniip():
    nodes = copy.deepcopy(NODES)
    nodes["items"][0]["metadata"]["labels"]["k8s.aliyun.com/exclusive-mode-eni-type"] = "eniOnly"
    figures = declare(stack_config(pods=PODS_WITH_SNAT_TABLE), Cloud(), nodes=nodes).outputs["podIpCapacity"]["cn-shanghai-f"]
    assert figures["nodesByMode"] == {"shared": 31, "exclusive": 1, "prefix": 0}
    assert figures["maxPodsPerNode"]["ecs.g7.4xlarge exclusive"] == 7
    assert figures["worstCaseIps"] == 2 * 100 + 29 * 210 + 7


def test_thin_headroom_and_unlisted_zone_are_warned_at_preview():
    pods = {"zones": {"cn-shanghai-g": {"vswitchId": "vsw-adopted1"}}}
    nodes = node_list(*[("cn-shanghai-f", "ecs.g7.4xlarge")] * 30, ("cn-shanghai-e", "ecs.g7.4xlarge"))
    live = eni_config_with(min_pool_size=20, vswitch_selection_policy=None)
    evaluation = declare(stack_config(pods=pods), Cloud(), nodes=nodes, eni_config=live)
    warnings = "\n".join(evaluation.warnings)
    # cn-shanghai-f: 40 free (warm IPs already out of it), below 3 more nodes x 20.
    assert "pod IPs in cn-shanghai-f: usable headroom after this run is 40 IPs, below the warm pool of 10% more nodes" in warnings
    assert "pod IPs in cn-shanghai-e: 1 nodes but eni_conf lists no vSwitch for the zone" in warnings
    assert "vswitch_selection_policy is absent" in warnings and '"ordered"' in warnings


def test_a_new_vswitch_without_snat_is_warned_about():
    pods = {"vpcId": "vpc-a1", "zones": {"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}}
    warnings = declare(stack_config(pods=pods), Cloud()).warnings
    assert any(w.startswith("terway:podVSwitches.zones.cn-shanghai-f: the new vSwitch gets no SNAT entry") for w in warnings)


def test_an_unreadable_cluster_leaves_the_node_figures_unknown_and_the_run_goes_on():
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE), Cloud(), nodes=NodesUnreadable("cannot reach the Kubernetes API server: timed out"))
    figures = evaluation.outputs["podIpCapacity"]["cn-shanghai-f"]
    assert figures["nodes"] is None and figures["usableHeadroomIps"] is None
    assert figures["unknown"] == ["nodes: cannot reach the Kubernetes API server: timed out"]
    assert any(r.type == "alicloud:vpc/switch:Switch" for r in evaluation.resources)


def test_the_default_node_reader_survives_a_kubeconfig_that_names_no_cluster():
    config = stack_config(pods=PODS_WITH_SNAT_TABLE)
    evaluation = evaluate(lambda: run(config, environ={}), config, stack="capacity", cloud_answers=Cloud().answers())
    [note] = evaluation.outputs["podIpCapacity"]["cn-shanghai-f"]["unknown"]
    assert note.startswith("nodes: ") and "apiVersion" not in note


def test_cloud_lookups_off_means_no_alicloud_invoke_but_node_figures_stay():
    # The e2e stack's shape: adopted vSwitches, no vpcId, no SNAT.
    pods = {"zones": {"cn-shanghai-g": {"vswitchId": "vsw-adopted1"}}}
    cloud = Cloud()
    evaluation = declare(stack_config(pods=pods, **{"terway:cloudLookups": "false"}), cloud)
    assert cloud.calls == []
    figures = evaluation.outputs["podIpCapacity"]["cn-shanghai-g"]
    assert figures["nodesByInstanceType"] == {"ecs.g7.4xlarge": 3}
    assert figures["unknown"][0] == (
        "max pods per node of ecs.g7.4xlarge: no alibabacloud.com/instance-type-info annotation or Node CR nodeCap, "
        "and getInstanceTypes gave no ENI quota (terway:cloudLookups is false)")


# ------------------------------------------------------------------ cloud references gate every write


def declared_writers(config, cloud):
    """Run the program as `pulumi up` would, expecting it to stop; return what it declared."""
    recorder = mocks.ClusterAndCloudMocks(None, None, cloud.answers())
    pulumi.runtime.set_mocks(recorder, project="terway", stack="gate", preview=False)
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    with pytest.raises(pulumi.RunError) as caught:
        pulumi.runtime.test(lambda: pulumi.Output.all(**run(config, environ={}, node_reader=lambda _: NODES)))()
    writers = [r for r in recorder.declared() if not r.type.startswith(("terway:index:", "pulumi:providers:"))]
    return str(caught.value), writers


@pytest.mark.parametrize(
    "change, cloud, message",
    [
        # Pulumi.dev.yaml's shape: adopted, no vpcId; the id is still looked up.
        ({"zones": {"cn-shanghai-g": {"vswitchId": "vsw-gone"}}, "vpcId": None, "snat": None}, Cloud(),
         "terway:podVSwitches.zones.cn-shanghai-g.vswitchId: vsw-gone does not exist in this region"),
        ({"zones": {"cn-shanghai-f": {"vswitchId": "vsw-adopted1"}}, "vpcId": None, "snat": None}, Cloud(),
         "terway:podVSwitches.zones.cn-shanghai-f.vswitchId: vsw-adopted1 is in zone cn-shanghai-g, not cn-shanghai-f"),
        ({"vpcId": "vpc-b2"}, Cloud(gateways=[{"id": "ngw-g1", "vpcId": "vpc-b2", "snatTableIds": ["stb-t1"]}]),
         "terway:podVSwitches.zones.cn-shanghai-g.vswitchId: vsw-adopted1 is in vpc-a1, not vpcId vpc-b2"),
        ({"snat": {"natGatewayId": "ngw-g1", "snatIps": ["47.100.1.2"]}},
         Cloud(gateways=[{"id": "ngw-g1", "vpcId": "vpc-other", "snatTableIds": ["stb-t1"]}]),
         "terway:podVSwitches.snat.natGatewayId: NAT gateway ngw-g1 is in vpc-other, not vpcId vpc-a1"),
        ({}, Cloud(gateways=[{"id": "ngw-g1", "vpcId": "vpc-a1", "snatTableIds": ["stb-other"]}]),
         "terway:podVSwitches.snat.snatTableId: stb-t1 is not the SNAT table of any NAT gateway in vpc-a1"),
        ({}, Cloud(eips={"47.100.1.2": ("i-web1", "EcsInstance")}),
         "terway:podVSwitches.snat.snatIps[0]: 47.100.1.2 is bound to EcsInstance i-web1, not to NAT gateway ngw-g1"),
        ({"snat": {"snatTableId": "stb-t1", "snatIps": ["47.100.1.2", "47.100.9.9"]}}, Cloud(),
         "terway:podVSwitches.snat.snatIps[1]: 47.100.9.9 is not an EIP of this account in this region"),
    ],
)
def test_every_cloud_reference_is_checked_before_the_first_write(change, cloud, message):
    pods = copy.deepcopy(PODS_WITH_SNAT_TABLE)
    pods.update(change)
    pods = {k: v for k, v in pods.items() if v is not None}
    if "vpcId" not in pods:
        pods["zones"] = {z: s for z, s in pods["zones"].items() if "vswitchId" in s}
    error, writers = declared_writers(stack_config(pods=pods), cloud)
    assert message in error
    assert writers == []


def test_the_same_references_pass_when_the_cloud_agrees():
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE), Cloud())
    assert len([r for r in evaluation.resources if r.type == "alicloud:vpc/snatEntry:SnatEntry"]) == 1
