"""One node's capacity as Terway v1.16 computes it (decide/node_capacity.py), set-up by set-up (issue 18)."""
from __future__ import annotations

import json

import pytest

from terway_stack.decide import capacity as cap
from terway_stack.decide import node_capacity as nc

# ecs.g7.4xlarge: 8 ENIs, 30 private IPv4 per ENI (seed 003); as ECS's InstanceType JSON in the annotation.
G7_INFO = json.dumps({"InstanceTypeId": "ecs.g7.4xlarge", "EniQuantity": 8, "EniPrivateIpAddressQuantity": 30,
                      "EniTotalQuantity": 8, "EniIpv6AddressQuantity": 30, "EriQuantity": 0})


def node(name="n", labels=None, annotations=None):
    return {"metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}}}


def capacity(conf=None, labels=None, annotations=None, node_cr=None, ecs=None):
    return nc.node_capacity(node(labels=labels, annotations=annotations), conf or {}, node_cr, ecs, "cn-shanghai-f", "ecs.g7.4xlarge")


ANNOTATED = {nc.INSTANCE_TYPE_INFO_ANNOTATION: G7_INFO}


def test_a_shared_node_from_the_annotation_holds_7_x_30():
    node_capacity = capacity(annotations=ANNOTATED)
    assert (node_capacity.mode, node_capacity.limits.source, node_capacity.max_pods) == ("shared", "annotation", 210)


@pytest.mark.parametrize("value", ["eniOnly", "enionly", "ENIONLY"])
def test_exclusive_eni_per_node_pool_by_label_is_enis_minus_one(value):
    # Terway >= 1.11: the label on a terway-eniip node; it forces centralized IPAM and zeroes the pool.
    node_capacity = capacity({"min_pool_size": 10}, labels={nc.EXCLUSIVE_ENI_LABEL: value}, annotations=ANNOTATED)
    assert (node_capacity.mode, node_capacity.centralized, node_capacity.max_pods, node_capacity.warm_ips) == ("exclusive", True, 7, 0)


def test_the_exclusive_label_with_another_value_is_shared():
    assert capacity(labels={nc.EXCLUSIVE_ENI_LABEL: "default"}, annotations=ANNOTATED).max_pods == 210


@pytest.mark.parametrize(
    "conf, pods",
    [
        ({"max_eni": 3}, 90),  # the figure: Terway allows 3 x 30, not 210
        ({"eni_cap_ratio": 0.5}, 3 * 30),  # int(8 x 0.5) - 1
        ({"eni_cap_shift": -2}, 5 * 30),
        ({"eni_cap_ratio": 0.5, "eni_cap_shift": 1, "max_eni": 10}, 4 * 30),
        ({"max_eni": 0}, 210),  # 0 means no cap
    ],
)
def test_eni_knobs_lower_the_enis_on_the_legacy_path(conf, pods):
    assert capacity(conf, annotations=ANNOTATED).max_pods == pods


def test_eni_knobs_are_not_read_under_centralized_ipam():
    # ipam_type crd sizes from the Node CR flavor (node_reconcile.go): Adapters - 1.
    assert capacity({"ipam_type": "crd", "max_eni": 3, "eni_cap_ratio": 0.5}, annotations=ANNOTATED).max_pods == 210


def test_erdma_reserves_enis():
    info = json.dumps({"EniQuantity": 8, "EniPrivateIpAddressQuantity": 30, "EriQuantity": 4})
    legacy = capacity({"enable_erdma": True}, annotations={nc.INSTANCE_TYPE_INFO_ANNOTATION: info})
    assert (legacy.limits.erdma_reserved, legacy.max_pods) == (2, 5 * 30)  # ERDMARes: 2 on 8+ ENIs
    crd = capacity({"enable_erdma": True, "ipam_type": "crd"}, annotations={nc.INSTANCE_TYPE_INFO_ANNOTATION: info})
    assert crd.max_pods == 6 * 30  # one HighPerformance flavor ENI
    assert capacity({"enable_erdma": False}, annotations={nc.INSTANCE_TYPE_INFO_ANNOTATION: info}).max_pods == 210
    small = json.dumps({"EniQuantity": 4, "EniPrivateIpAddressQuantity": 15, "EriQuantity": 2})
    assert capacity({"enable_erdma": True}, annotations={nc.INSTANCE_TYPE_INFO_ANNOTATION: small}).max_pods == 2 * 15


def test_prefix_mode_holds_prefixes_of_16_and_keeps_no_warm_pool():
    node_capacity = capacity({"ipam_type": "crd", "enable_ip_prefix": True, "min_pool_size": 10}, annotations=ANNOTATED)
    assert (node_capacity.mode, node_capacity.ips_per_eni, node_capacity.max_pods, node_capacity.warm_ips) == (
        "prefix", 29 * 16, 7 * 29 * 16, 0)


def test_prefix_mode_is_fixed_on_the_node_cr_once_created():
    created_shared = {"spec": {"eni": {"enableIPPrefix": False}}}
    assert capacity({"enable_ip_prefix": True}, annotations=ANNOTATED, node_cr=created_shared).mode == "shared"


def test_prefix_mode_per_node_through_a_per_node_config():
    nodes = [cap.NodeInfo("p", "cn-shanghai-f", "ecs.g7.4xlarge", {"labels": {"terway-config": "prefix-pool"}, "annotations": ANNOTATED}),
             cap.NodeInfo("s", "cn-shanghai-f", "ecs.g7.4xlarge", {"annotations": ANNOTATED})]
    inputs = cap.CapacityInputs(
        nodes=nodes, listed={}, created={}, adopted={}, vswitch_facts={}, quotas={},
        base_conf={"ipam_type": "crd", "min_pool_size": 5}, node_configs={"prefix-pool": {"enable_ip_prefix": True}},
    )
    zone = cap.zone_capacities(inputs)["cn-shanghai-f"]
    assert zone.nodes_by_mode == {"shared": 1, "exclusive": 0, "prefix": 1}
    assert zone.max_pods_by_kind == {"ecs.g7.4xlarge prefix": 7 * 29 * 16, "ecs.g7.4xlarge shared": 210}
    assert zone.warm_ips == 5  # the prefix node's pool is zeroed


def test_per_node_configs_merge_by_rfc_7396():
    base = {"vswitches": {"a": ["vsw-1"], "b": ["vsw-2"]}, "max_pool_size": 5, "eni_tags": {"x": "1"}}
    patch = {"vswitches": {"a": ["vsw-9"]}, "max_pool_size": None, "eni_tags": {"y": "2"}}
    assert nc.merge_patch(base, patch) == {"vswitches": {"a": ["vsw-9"], "b": ["vsw-2"]}, "eni_tags": {"x": "1", "y": "2"}}
    assert nc.merge_patch(base, {"vswitches": None}) == {"max_pool_size": 5, "eni_tags": {"x": "1"}}


def test_limits_come_from_the_annotation_then_the_node_cr_then_ecs():
    node_cr = {"spec": {"nodeCap": {"adapters": 4, "ipv4PerAdapter": 15, "eriQuantity": 0}}}
    ecs = nc.NodeLimits(3, 10, source="ecs")
    assert capacity(annotations=ANNOTATED, node_cr=node_cr, ecs=ecs).limits.source == "annotation"
    from_cr = capacity(node_cr=node_cr, ecs=ecs)
    assert (from_cr.limits.source, from_cr.max_pods) == ("nodeCap", 3 * 15)
    assert capacity(ecs=ecs).limits.source == "ecs"
    assert capacity(annotations={nc.INSTANCE_TYPE_INFO_ANNOTATION: "{not json"}, ecs=ecs).limits.source == "ecs"
    unknown = capacity()
    assert unknown.max_pods is None and "no alibabacloud.com/instance-type-info annotation" in unknown.unknown[0]


def test_attached_enis_come_from_the_node_cr_status_and_erdma_enis_do_not_count():
    node_cr = {"status": {"networkInterfaces": {
        "eni-1": {"networkInterfaceType": "Secondary", "networkInterfaceTrafficMode": "Standard"},
        "eni-2": {"networkInterfaceType": "Trunk", "networkInterfaceTrafficMode": "Standard"},
        "eri-1": {"networkInterfaceType": "Secondary", "networkInterfaceTrafficMode": "HighPerformance"},
    }}}
    node_capacity = capacity(annotations=ANNOTATED, node_cr=node_cr)
    assert (node_capacity.attached, node_capacity.free_enis, node_capacity.new_eni_ips) == (2, 5, 150)
    assert capacity(annotations=ANNOTATED).free_enis is None  # no Node CR: unknown, not "can attach"


def test_warm_ips_follow_the_legacy_pool_rules():
    legacy = capacity({"min_pool_size": 10, "max_pool_size": 5}, annotations=ANNOTATED)
    assert legacy.warm_ips == 5  # min_pool_size never above max_pool_size
    assert capacity({"min_eni": 2, "max_pool_size": 100}, annotations=ANNOTATED).warm_ips == 60  # min_eni x 30
    assert capacity({"min_eni": 2, "max_pool_size": 500}, annotations=ANNOTATED).warm_ips == 60
    crd = capacity({"ipam_type": "crd", "min_pool_size": 10, "min_eni": 2}, annotations=ANNOTATED)
    assert crd.warm_ips == 10  # the Node CR pool takes min_pool_size as it is
