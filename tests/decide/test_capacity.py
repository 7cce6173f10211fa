"""Pod-IP capacity per zone, as plain data: per-node limits, ENIs attached, usable headroom, warnings."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.decide import capacity as cap
from terway_stack.decide.network import Eip, ExistingVSwitch, NatGateway, adopted_problems, eip_problems, nat_gateway_problems
from terway_stack.decide.settings import parse_settings

G7_4X = cap.EniQuota(enis=8, ips_per_eni=30)  # seed 003 / DOMAIN.md: ecs.g7.4xlarge holds 7 x 30 = 210 pods


@pytest.mark.parametrize(
    "quota, exclusive, pods",
    [(G7_4X, False, 210), (G7_4X, True, 7), (cap.EniQuota(3, 10), False, 20), (cap.EniQuota(1, 10), False, 0)],
)
def test_max_pods_per_node_follows_seed_003(quota, exclusive, pods):
    assert cap.max_pods_per_node(quota, exclusive) == pods


def node(name, zone="cn-shanghai-f", kind="ecs.g7.4xlarge", extra=None):
    labels = {"topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": kind, **(extra or {})}
    return {"metadata": {"name": name, "labels": {k: v for k, v in labels.items() if v is not None}}}


def test_nodes_are_read_from_labels_and_virtual_nodes_are_left_out():
    document = {
        "items": [
            node("a"),
            {"metadata": {"name": "old", "labels": {"failure-domain.beta.kubernetes.io/zone": "cn-shanghai-g",
                                                     "beta.kubernetes.io/instance-type": "ecs.g6.xlarge"}}},
            node("eci", extra={"type": "virtual-kubelet"}),
            node("bare", kind=None),
        ]
    }
    assert cap.nodes_from_list(document) == [
        cap.NodeInfo("a", "cn-shanghai-f", "ecs.g7.4xlarge"),
        cap.NodeInfo("old", "cn-shanghai-g", "ecs.g6.xlarge"),
        cap.NodeInfo("bare", "cn-shanghai-f", None),
    ]


@pytest.mark.parametrize("conf, size", [({}, 0), ({"min_pool_size": 10}, 10), ({"min_pool_size": "10"}, 0), ({"min_pool_size": True}, 0)])
def test_min_pool_size_defaults_to_terways_zero(conf, size):
    assert cap.min_pool_size(conf) == size


def inputs(**overrides):
    base = dict(
        nodes=[cap.NodeInfo(f"n{i}", "cn-shanghai-f", "ecs.g7.4xlarge") for i in range(20)],
        listed={"cn-shanghai-f": ["vsw-a", "vsw-b"]},
        created={"cn-shanghai-f": "10.0.32.0/19"},
        adopted={},
        vswitch_facts={"vsw-a": cap.VSwitchFacts("vsw-a", available_ips=100), "vsw-b": cap.VSwitchFacts("vsw-b", available_ips=50)},
        quotas={"ecs.g7.4xlarge": G7_4X},
        min_pool_size=10,
        base_conf={"max_pool_size": 50},  # the legacy path caps min_pool_size at max_pool_size
    )
    base.update(overrides)
    return cap.CapacityInputs(**base)


def attached(count, erdma=0):
    """A Node CR whose status holds `count` pod ENIs (and `erdma` ERDMA ones, which are not pod ENIs)."""
    nics = {f"eni-{i}": {"networkInterfaceType": "Secondary", "networkInterfaceTrafficMode": "Standard"} for i in range(count)}
    nics.update({f"eri-{i}": {"networkInterfaceType": "Secondary", "networkInterfaceTrafficMode": "HighPerformance"} for i in range(erdma)})
    return {"status": {"networkInterfaces": nics}}


def test_figures_of_a_zone():
    # 20 shared nodes of 7 pod ENIs x 30 IPs; 5 are at their limit, 15 have 3 ENIs attached (4 free each).
    crs = {f"n{i}": attached(7 if i < 5 else 3) for i in range(20)}
    [(zone, figures)] = cap.zone_capacities(inputs(node_crs=crs)).items()
    assert zone == "cn-shanghai-f"
    assert figures.as_output() == {
        "nodes": 20,
        "nodesByMode": {"shared": 20, "exclusive": 0, "prefix": 0},
        "nodesByInstanceType": {"ecs.g7.4xlarge": 20},
        "maxPodsPerNode": {"ecs.g7.4xlarge shared": 210},
        "nodesCanAttachEni": 15,
        "nodesAtEniLimit": 5,
        "nodesEniStateUnknown": 0,
        "minPoolSize": 10,
        "warmIps": 200,
        "vswitches": ["vsw-a", "vsw-b"],
        "newVSwitchCidrs": ["10.0.32.0/19"],
        "availableIps": 150,
        "addedIps": 8188,
        "newEniIps": 15 * 4 * 30,
        "addedUsableIps": 15 * 4 * 30,
        "usableHeadroomIps": 150 + 15 * 4 * 30,  # warm IPs are already out of available: not subtracted again
        "worstCaseIps": 20 * 210,
        "trunkMemberEnis": 0,
        "unknown": [],
    }


def test_added_ips_count_only_as_far_as_nodes_can_take_them():
    crs = {f"n{i}": attached(7) for i in range(20)}  # every node at its limit
    figures = cap.zone_capacities(inputs(node_crs=crs))["cn-shanghai-f"]
    assert (figures.added_ips, figures.added_usable_ips, figures.usable_headroom_ips) == (8188, 0, 150)
    assert any("20 of 20 nodes are at their ENI limit" in w and "need new nodes" in w for w in cap.capacity_warnings({"cn-shanghai-f": figures}))
    roomy = cap.zone_capacities(inputs(node_crs={f"n{i}": attached(0) for i in range(20)}))["cn-shanghai-f"]
    assert (roomy.new_eni_ips, roomy.added_usable_ips) == (20 * 210, 4200)  # 4200 < 8188: bounded by the nodes


def test_an_adopted_vswitch_not_yet_listed_counts_as_added():
    figures = cap.zone_capacities(
        inputs(created={}, adopted={"cn-shanghai-f": "vsw-c"},
               vswitch_facts={**inputs().vswitch_facts, "vsw-c": cap.VSwitchFacts("vsw-c", available_ips=4000)})
    )["cn-shanghai-f"]
    assert (figures.available_ips, figures.added_ips, figures.listed_vswitches) == (150, 4000, ["vsw-a", "vsw-b", "vsw-c"])
    already = cap.zone_capacities(inputs(created={}, adopted={"cn-shanghai-f": "vsw-a"}))["cn-shanghai-f"]
    assert (already.available_ips, already.added_ips) == (150, 0)


def test_missing_inputs_are_named_not_invented():
    figures = cap.zone_capacities(
        inputs(vswitch_facts={"vsw-a": cap.VSwitchFacts("vsw-a", available_ips=100)}, quotas={}, cloud_note="offline")
    )["cn-shanghai-f"]
    assert figures.available_ips is None and figures.usable_headroom_ips is None and figures.worst_case_ips is None
    assert figures.unknown == [
        "max pods per node of ecs.g7.4xlarge: no alibabacloud.com/instance-type-info annotation or Node CR nodeCap, "
        "and getInstanceTypes gave no ENI quota (offline)",
        "ENIs attached: no Node CR status for 20 node(s) (n0, n1, n2 and 17 more), so whether they can still attach an ENI is unknown",
        "available IPs: free IPs of vsw-b unknown (offline)",
    ]
    unread = cap.zone_capacities(inputs(nodes=None, nodes_unreadable="cannot reach the Kubernetes API server"))
    figures = unread["cn-shanghai-f"]  # still shown: the stack adds a vSwitch there
    assert figures.nodes is None and figures.warm_ips is None and figures.usable_headroom_ips is None
    assert figures.unknown == ["nodes: cannot reach the Kubernetes API server"]


def test_headroom_warning_uses_the_warm_demand_of_ten_percent_more_nodes():
    # 20 nodes: 10% more is 2 nodes x min_pool_size 10 = 20 IPs of warm demand.
    thin = cap.zone_capacities(inputs(created={}, vswitch_facts={
        "vsw-a": cap.VSwitchFacts("vsw-a", available_ips=10), "vsw-b": cap.VSwitchFacts("vsw-b", available_ips=9)}))
    assert thin["cn-shanghai-f"].usable_headroom_ips == 19
    [warning] = cap.capacity_warnings(thin)
    assert "usable headroom after this run is 19 IPs, below the warm pool of 10% more nodes (2 x min_pool_size 10 = 20)" in warning
    enough = cap.zone_capacities(inputs(created={}, vswitch_facts={
        "vsw-a": cap.VSwitchFacts("vsw-a", available_ips=210), "vsw-b": cap.VSwitchFacts("vsw-b", available_ips=10)}))
    assert cap.capacity_warnings(enough) == []


def test_a_zone_with_nodes_and_no_vswitch_entry_is_warned_about():
    capacities = cap.zone_capacities(inputs(nodes=[cap.NodeInfo("n", "cn-shanghai-e", "ecs.g7.4xlarge")], created={}))
    [warning] = cap.capacity_warnings(capacities)
    assert warning.startswith("pod IPs in cn-shanghai-e: 1 nodes but eni_conf lists no vSwitch for the zone")
    assert capacities["cn-shanghai-e"].available_ips is None


@settings(max_examples=100, deadline=None)
@given(
    counts=st.dictionaries(st.sampled_from(["ecs.a", "ecs.b", "ecs.c"]), st.integers(1, 60), min_size=1),
    quotas=st.fixed_dictionaries({k: st.builds(cap.EniQuota, st.integers(1, 15), st.integers(1, 50)) for k in ["ecs.a", "ecs.b", "ecs.c"]}),
    available=st.integers(0, 60000),
    pool=st.integers(0, 50),
    exclusive=st.booleans(),
    used=st.integers(0, 16),
)
def test_figures_are_consistent(counts, quotas, available, pool, exclusive, used):
    nodes = [cap.NodeInfo(f"{k}-{i}", "cn-shanghai-f", k) for k, n in counts.items() for i in range(n)]
    figures = cap.zone_capacities(inputs(
        nodes=nodes, quotas=quotas, min_pool_size=pool, exclusive_eni=exclusive, listed={"cn-shanghai-f": ["vsw-a"]},
        node_crs={n.name: attached(used) for n in nodes},
        vswitch_facts={"vsw-a": cap.VSwitchFacts("vsw-a", available_ips=available)}))["cn-shanghai-f"]
    # Warm: zero on exclusive nodes; else min_pool_size capped by max_pool_size 50 and the node's capacity.
    warm = 0 if exclusive else sum(n * min(pool, 50, cap.max_pods_per_node(quotas[k], False)) for k, n in counts.items())
    assert figures.nodes == len(nodes) and figures.warm_ips == warm
    assert figures.nodes_can_attach_eni + figures.nodes_at_eni_limit == len(nodes)
    assert figures.worst_case_ips == sum(n * cap.max_pods_per_node(quotas[k], exclusive) for k, n in counts.items())
    assert 0 <= figures.added_usable_ips <= min(8188, figures.new_eni_ips)
    assert figures.usable_headroom_ips == available + figures.added_usable_ips  # never warm subtracted twice
    if figures.nodes_can_attach_eni == 0:
        assert figures.new_eni_ips == 0 and figures.added_usable_ips == 0
    warned = any("usable headroom" in w for w in cap.capacity_warnings({"cn-shanghai-f": figures}))
    assert warned == (figures.usable_headroom_ips < cap.growth_nodes(len(nodes)) * pool)


def test_no_snat_and_selection_policy_warnings():
    [warning] = cap.no_snat_warnings(["cn-shanghai-f"], has_snat=False)
    assert warning.startswith("terway:podVSwitches.zones.cn-shanghai-f:") and "no internet egress" in warning
    assert cap.no_snat_warnings(["cn-shanghai-f"], has_snat=True) == []
    assert '"ordered"' in cap.selection_policy_warning({"vswitches": {}})
    assert cap.selection_policy_warning({"vswitch_selection_policy": "ordered"}) is None


# ------------------------------------------------------------ cloud references (issue 12 §2), as plain data


def pods(zones, vpc=None, snat=None):
    raw = {"zones": zones, **({"vpcId": vpc} if vpc else {}), **({"snat": snat} if snat else {})}
    return parse_settings({
        "alicloud:region": "cn-shanghai",
        "cluster": {"name": "c", "kubernetesVersion": "1.30", "nodeCount": 10},
        "podVSwitches": raw,
    }).pod_vswitches


def test_adopted_vswitch_is_checked_by_id_even_without_a_vpc():
    adopted = pods({"cn-shanghai-g": {"vswitchId": "vsw-g"}})
    found = [ExistingVSwitch("vsw-g", "10.0.0.0/19", "cn-shanghai-g", vpc_id="vpc-x")]
    assert adopted_problems(adopted, found) == []
    assert [str(p) for p in adopted_problems(adopted, [])] == [
        "terway:podVSwitches.zones.cn-shanghai-g.vswitchId: vsw-g does not exist in this region"]
    wrong_zone = [ExistingVSwitch("vsw-g", "10.0.0.0/19", "cn-shanghai-f", vpc_id="vpc-x")]
    assert "is in zone cn-shanghai-f, not cn-shanghai-g" in str(adopted_problems(adopted, wrong_zone)[0])
    in_vpc = pods({"cn-shanghai-g": {"vswitchId": "vsw-g"}}, vpc="vpc-a")
    assert str(adopted_problems(in_vpc, found)[0]) == (
        "terway:podVSwitches.zones.cn-shanghai-g.vswitchId: vsw-g is in vpc-x, not vpcId vpc-a")
    offline = [ExistingVSwitch("vsw-g", "", "", vpc_id="")]
    assert adopted_problems(in_vpc, offline) == []


def test_nat_gateway_must_exist_in_the_vpc_and_own_the_snat_table():
    by_gateway = pods({"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}, "vpc-a", {"natGatewayId": "ngw-1", "snatIps": ["47.100.1.2"]})
    assert nat_gateway_problems(by_gateway, NatGateway("ngw-1", "vpc-a", ("stb-1",))) == []
    assert [str(p) for p in nat_gateway_problems(by_gateway, NatGateway("ngw-1", "vpc-b", ("stb-1",)))] == [
        "terway:podVSwitches.snat.natGatewayId: NAT gateway ngw-1 is in vpc-b, not vpcId vpc-a"]
    assert "ngw-1 does not exist" in str(nat_gateway_problems(by_gateway, None)[0])
    by_table = pods({"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}, "vpc-a", {"snatTableId": "stb-9", "snatIps": ["47.100.1.2"]})
    assert [str(p) for p in nat_gateway_problems(by_table, None)] == [
        "terway:podVSwitches.snat.snatTableId: stb-9 is not the SNAT table of any NAT gateway in vpc-a"]


def test_each_snat_ip_must_be_an_eip_bound_to_that_nat_gateway():
    config = pods({"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}, "vpc-a",
                  {"natGatewayId": "ngw-1", "snatIps": ["47.100.1.2", "47.100.1.3", "47.100.1.4", "47.100.1.5"]})
    eips = [Eip("47.100.1.2", "ngw-1", "Nat", "InUse"), Eip("47.100.1.3", "i-web", "EcsInstance", "InUse"),
            Eip("47.100.1.4", "", "", "Available")]
    assert [str(p) for p in eip_problems(config, NatGateway("ngw-1", "vpc-a"), eips)] == [
        "terway:podVSwitches.snat.snatIps[1]: 47.100.1.3 is bound to EcsInstance i-web, not to NAT gateway ngw-1",
        "terway:podVSwitches.snat.snatIps[2]: 47.100.1.4 is not bound to anything; bind it to NAT gateway ngw-1 first",
        "terway:podVSwitches.snat.snatIps[3]: 47.100.1.5 is not an EIP of this account in this region",
    ]
