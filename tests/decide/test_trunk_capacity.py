"""Trunk ENI member ENIs (enable_eni_trunking, PodNetworking) as Terway counts them (issue 18).

Facts (AliyunContainerService/terway, pkg/aliyun/client/limit.go GetInstanceType; pkg/eni/node_reconcile.go;
pkg/controller/node/node.go): member ENIs per node = EniTotalQuantity - EniQuantity (0 without
EniTrunkSupported); trunking is off on exclusive nodes and where that is 0; the trunk ENI is one of the
ENIs - 1 pod ENIs and carries shared IPs, so the shared figures do not change.
"""
from __future__ import annotations

import json

from terway_stack.decide import capacity as cap
from terway_stack.decide import node_capacity as nc
from terway_stack.plan.sections import CapacitySection

# A trunk-capable type, by hand: 8 ENIs of 30 IPv4, 38 ENIs in all -> 30 member ENIs.
TRUNK_INFO = {"InstanceTypeId": "ecs.g7.4xlarge", "EniQuantity": 8, "EniPrivateIpAddressQuantity": 30,
              "EniTotalQuantity": 38, "EniTrunkSupported": True, "EniIpv6AddressQuantity": 30, "EriQuantity": 0}
TRUNKING = {"enable_eni_trunking": True, "ipam_type": "crd"}


def annotated(info=None, labels=None, name="n"):
    text = json.dumps(TRUNK_INFO if info is None else info)
    return {"metadata": {"name": name, "labels": labels or {}, "annotations": {nc.INSTANCE_TYPE_INFO_ANNOTATION: text}}}


def attached(count):
    nics = {"eni-trunk": {"networkInterfaceType": "Trunk", "networkInterfaceTrafficMode": "Standard"}}
    nics.update({f"eni-{i}": {"networkInterfaceType": "Secondary", "networkInterfaceTrafficMode": "Standard"}
                 for i in range(count - 1)})
    return {"status": {"networkInterfaces": nics}}


def capacity(node, conf=TRUNKING, node_cr=None, ecs=None):
    return nc.node_capacity(node, conf, node_cr, ecs, "cn-shanghai-f", "ecs.g7.4xlarge")


def test_member_enis_are_total_enis_less_enis_where_the_type_supports_trunking():
    assert nc.limits_from_instance_type_info(json.dumps(TRUNK_INFO)).member_adapters == 38 - 8
    assert nc.limits_from_instance_type_info(json.dumps({**TRUNK_INFO, "EniTrunkSupported": False})).member_adapters == 0
    assert nc.limits_from_instance_type_info(json.dumps({**TRUNK_INFO, "EniTotalQuantity": 6})).member_adapters == 0
    assert nc.limits_from_node_cap({"adapters": 8, "ipv4PerAdapter": 30, "memberAdapterLimit": 30}).member_adapters == 30
    assert nc.limits_from_node_cap({"adapters": 8, "ipv4PerAdapter": 30}).member_adapters == 0  # omitempty


def test_a_trunk_node_keeps_its_shared_figures_and_adds_its_member_enis():
    # The trunk ENI is one of the 7 pod ENIs and holds 30 shared IPs like the others: 210 max pods, and
    # with 3 ENIs attached (the trunk among them) 4 x 30 = 120 IPs on new ENIs, exactly as without trunking.
    trunk = capacity(annotated(), node_cr=attached(3))
    plain = capacity(annotated(), conf={"ipam_type": "crd"}, node_cr=attached(3))
    assert (trunk.trunk, trunk.member_enis) == (True, 30)
    assert (trunk.max_pods, trunk.free_enis, trunk.new_eni_ips) == (plain.max_pods, plain.free_enis, plain.new_eni_ips) == (210, 4, 120)
    assert (plain.trunk, plain.member_enis) == (False, 0)


def test_trunking_is_off_on_exclusive_nodes_and_types_without_member_enis():
    exclusive = capacity(annotated(labels={nc.EXCLUSIVE_ENI_LABEL: "eniOnly"}))
    assert (exclusive.mode, exclusive.trunk, exclusive.member_enis, exclusive.max_pods) == ("exclusive", False, 0, 7)
    unsupported = capacity(annotated({**TRUNK_INFO, "EniTrunkSupported": False}))
    assert (unsupported.trunk, unsupported.member_enis) == (False, 0)


def test_the_node_crs_own_decision_wins_over_eni_conf():
    node_cr = {"spec": {"eni": {"enableTrunk": False}, "nodeCap": {"adapters": 8, "ipv4PerAdapter": 30, "memberAdapterLimit": 30}}}
    assert capacity(annotated(), node_cr=node_cr).member_enis == 0
    node_cr["spec"]["eni"]["enableTrunk"] = True
    assert capacity({"metadata": {"name": "n"}}, conf={}, node_cr=node_cr).member_enis == 30


def test_a_trunk_node_known_only_from_ecs_has_unknown_member_enis_and_says_why():
    ecs = cap.EniQuota(8, 30).limits()
    result = capacity({"metadata": {"name": "n1"}}, ecs=ecs)
    assert (result.trunk, result.member_enis, result.max_pods) == (True, None, 210)
    assert any("trunk member ENIs of n1" in note and "EniTotalQuantity" in note for note in result.unknown)


def zone(nodes, crs, quotas=None, conf=TRUNKING):
    inputs = cap.CapacityInputs(
        nodes=nodes, listed={"cn-shanghai-f": ["vsw-a"]}, created={"cn-shanghai-f": "10.0.32.0/19"}, adopted={},
        vswitch_facts={"vsw-a": cap.VSwitchFacts("vsw-a", available_ips=100)}, quotas=quotas or {},
        base_conf=conf, node_crs=crs,
    )
    return cap.zone_capacities(inputs)["cn-shanghai-f"]


def info(name, **extra):
    meta = annotated(name=name)["metadata"]
    meta["labels"].update(extra)
    return cap.NodeInfo(name, "cn-shanghai-f", "ecs.g7.4xlarge", meta)


def test_a_zone_counts_member_enis_apart_from_the_shared_headroom():
    # Two trunk nodes (one at its 7 pod ENIs, one with 3), one exclusive node (2 attached): member ENIs
    # 30 + 30 + 0 = 60; newEniIps 0 + 4 x 30 + 5 x 1 = 125, the same as without trunking.
    nodes = [info("full"), info("half"), info("excl", **{nc.EXCLUSIVE_ENI_LABEL: "eniOnly"})]
    figures = zone(nodes, {"full": attached(7), "half": attached(3), "excl": attached(2)})
    out = figures.as_output()
    assert (out["trunkMemberEnis"], out["newEniIps"], out["addedUsableIps"], out["nodesAtEniLimit"]) == (60, 125, 125, 1)
    assert "trunk member ENIs 60 (PodNetworking pods, one IP each from its vSwitchOptions" in cap.summary_line(figures)
    text = CapacitySection({"cn-shanghai-f": out}).text()
    assert "cn-shanghai-f: trunk member ENIs 60 (PodNetworking pods" in text


def test_a_zone_with_a_trunk_node_known_only_from_ecs_leaves_member_enis_null():
    nodes = [info("known"), cap.NodeInfo("bare", "cn-shanghai-f", "ecs.g7.4xlarge", {"name": "bare"})]
    figures = zone(nodes, {"known": attached(3), "bare": attached(3)}, quotas={"ecs.g7.4xlarge": cap.EniQuota(8, 30)})
    out = figures.as_output()
    assert out["trunkMemberEnis"] is None and out["newEniIps"] == 2 * 4 * 30
    assert any(note.startswith("trunk member ENIs: no") and "(bare)" in note for note in out["unknown"])


def test_without_trunking_the_plan_says_nothing_about_member_enis():
    figures = zone([info("a")], {"a": attached(3)}, conf={"ipam_type": "crd"})
    out = figures.as_output()
    assert out["trunkMemberEnis"] == 0 and out["newEniIps"] == 4 * 30
    assert "trunk member" not in CapacitySection({"cn-shanghai-f": out}).text() + cap.summary_line(figures)
