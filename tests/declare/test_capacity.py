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

from .stacks import PODS_WITH_SNAT_TABLE, stack_config

INSTANCE_TYPES = "alicloud:ecs/getInstanceTypes:getInstanceTypes"
SWITCHES = "alicloud:vpc/getSwitches:getSwitches"
NAT = "alicloud:vpc/getNatGateways:getNatGateways"
EIPS = "alicloud:ecs/getEipAddresses:getEipAddresses"
QUOTAS = {"ecs.g7.4xlarge": (8, 30), "ecs.g7.2xlarge": (6, 20)}
FREE = {"vsw-uf6existing00000000f": ("cn-shanghai-f", 40), "vsw-uf6existing00000000g": ("cn-shanghai-g", 5000),
        "vsw-adopted1": ("cn-shanghai-g", 7000)}


def node_list(*specs):
    return {"items": [{"metadata": {"name": f"n{i}", "labels": {
        "topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": kind}}}
        for i, (zone, kind) in enumerate(specs)]}


NODES = node_list(*[("cn-shanghai-f", "ecs.g7.4xlarge")] * 30, *[("cn-shanghai-f", "ecs.g7.2xlarge")] * 2,
                  *[("cn-shanghai-g", "ecs.g7.4xlarge")] * 3)


class Cloud:
    """Answers like Alibaba Cloud with credentials, and records every look-up."""

    def __init__(self, free=FREE, quotas=QUOTAS, gateways=None, eips=None):
        self.calls: list[tuple[str, dict]] = []
        self.free, self.quotas = free, quotas
        self.gateways = gateways if gateways is not None else [{"id": "ngw-g1", "vpcId": "vpc-a1", "snatTableIds": ["stb-t1"]}]
        self.eips = eips if eips is not None else {"47.100.1.2": ("ngw-g1", "Nat"), "47.100.1.3": ("ngw-g1", "Nat")}

    def answers(self):
        def recorded(token, fn):
            def answer(args):
                self.calls.append((token, args))
                return fn(args)
            return answer

        return {
            INSTANCE_TYPES: recorded(INSTANCE_TYPES, self._types),
            SWITCHES: recorded(SWITCHES, self._switches),
            NAT: recorded(NAT, self._gateways),
            EIPS: recorded(EIPS, self._eips),
            "alicloud:vpc/getNetworks:getNetworks": recorded("getNetworks", lambda a: {
                "ids": a["ids"], "vpcs": [{"id": i, "cidrBlock": "10.0.0.0/8"} for i in a["ids"]]}),
        }

    def _types(self, args):
        kind = args["instanceType"]
        if kind not in self.quotas:
            return {"ids": [], "instanceTypes": []}
        enis, ips = self.quotas[kind]
        return {"ids": [kind], "instanceTypes": [{"id": kind, "eniQuantity": enis, "eniPrivateIpAddressQuantity": ips}]}

    def _switches(self, args):
        ids = [i for i in args.get("ids") or [] if i in self.free]
        return {"ids": ids, "vswitches": [
            {"id": i, "zoneId": self.free[i][0], "availableIpAddressCount": self.free[i][1], "vpcId": "vpc-a1",
             "cidrBlock": "10.9.0.0/19"} for i in ids]}

    def _gateways(self, args):
        wanted = args.get("ids")
        found = [g for g in self.gateways if not wanted or g["id"] in wanted]
        if args.get("vpcId"):
            found = [g for g in found if g["vpcId"] == args["vpcId"]]
        return {"ids": [g["id"] for g in found], "gateways": found}

    def _eips(self, args):
        return {"addresses": [{"ipAddress": ip, "instanceId": self.eips[ip][0], "instanceType": self.eips[ip][1],
                               "status": "InUse" if self.eips[ip][0] else "Available"}
                              for ip in args.get("ipAddresses") or [] if ip in self.eips]}

    def count(self, token):
        return len([c for c in self.calls if c[0] == token])


def declare(config, cloud=None, nodes=NODES, eni_config=None):
    def reader(_kubeconfig):
        if isinstance(nodes, Exception):
            raise nodes
        return nodes

    return evaluate(lambda: run(config, environ={}, node_reader=reader), config, stack="capacity",
                    eni_config=eni_config, cloud_answers=cloud.answers() if cloud else None)


def eni_config_with(**conf_changes):
    saved = load_configmap(SAMPLE_ENI_CONFIG)
    conf = json.loads(saved["data"]["eni_conf"])
    conf.update(conf_changes)
    conf = {k: v for k, v in conf.items() if v is not None}
    saved["data"]["eni_conf"] = json.dumps(conf)
    return saved


def test_capacity_per_zone_from_live_nodes_quotas_and_free_ips():
    cloud = Cloud()
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud, eni_config=eni_config_with(min_pool_size=2))
    figures = evaluation.outputs["podIpCapacity"]
    assert figures["cn-shanghai-f"] == {
        "nodes": 32,
        "nodesByInstanceType": {"ecs.g7.2xlarge": 2, "ecs.g7.4xlarge": 30},
        "maxPodsPerNode": {"ecs.g7.2xlarge": 5 * 20, "ecs.g7.4xlarge": 7 * 30},
        "minPoolSize": 2,
        "warmIps": 64,
        "vswitches": ["vsw-uf6existing00000000f"],
        "newVSwitchCidrs": ["10.0.32.0/19"],
        "availableIps": 40,
        "addedIps": 8188,
        "headroom": 40 + 8188 - 64,
        "worstCaseIps": 2 * 100 + 30 * 210,
        "unknown": [],
    }
    g = figures["cn-shanghai-g"]  # the adopted vSwitch is not listed yet: its free IPs are what the run adds
    assert (g["availableIps"], g["addedIps"], g["vswitches"]) == (5000, 7000, ["vsw-uf6existing00000000g", "vsw-adopted1"])
    # One look-up per instance type, however many nodes have it.
    assert sorted(args["instanceType"] for token, args in cloud.calls if token == INSTANCE_TYPES) == [
        "ecs.g7.2xlarge", "ecs.g7.4xlarge"]


def test_exclusive_eni_mode_counts_one_pod_per_secondary_eni():
    config = stack_config(pods=PODS_WITH_SNAT_TABLE, **{"terway:terway": {"daemonSets": ["terway-eni"]}})
    figures = declare(config, Cloud()).outputs["podIpCapacity"]["cn-shanghai-f"]
    assert figures["maxPodsPerNode"] == {"ecs.g7.2xlarge": 5, "ecs.g7.4xlarge": 7}


def test_thin_headroom_and_unlisted_zone_are_warned_at_preview():
    pods = {"zones": {"cn-shanghai-g": {"vswitchId": "vsw-adopted1"}}}
    nodes = node_list(*[("cn-shanghai-f", "ecs.g7.4xlarge")] * 30, ("cn-shanghai-e", "ecs.g7.4xlarge"))
    live = eni_config_with(min_pool_size=10, vswitch_selection_policy=None)
    evaluation = declare(stack_config(pods=pods), Cloud(), nodes=nodes, eni_config=live)
    warnings = "\n".join(evaluation.warnings)
    # cn-shanghai-f: 40 free - 300 warm = -260, below 3 more nodes x 10.
    assert "pod IPs in cn-shanghai-f: headroom after this run is -260 IPs, below the warm pool of 10% more nodes" in warnings
    assert "pod IPs in cn-shanghai-e: 1 nodes but eni_conf lists no vSwitch for the zone" in warnings
    assert "vswitch_selection_policy is absent" in warnings and '"ordered"' in warnings


def test_a_new_vswitch_without_snat_is_warned_about():
    pods = {"vpcId": "vpc-a1", "zones": {"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}}
    warnings = declare(stack_config(pods=pods), Cloud()).warnings
    assert any(w.startswith("terway:podVSwitches.zones.cn-shanghai-f: the new vSwitch gets no SNAT entry") for w in warnings)


def test_an_unreadable_cluster_leaves_the_node_figures_unknown_and_the_run_goes_on():
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE), Cloud(), nodes=NodesUnreadable("cannot reach the Kubernetes API server: timed out"))
    figures = evaluation.outputs["podIpCapacity"]["cn-shanghai-f"]
    assert figures["nodes"] is None and figures["headroom"] is None
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
    assert figures["unknown"][0] == "max pods per node of ecs.g7.4xlarge: getInstanceTypes gave no ENI quota (terway:cloudLookups is false)"


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
