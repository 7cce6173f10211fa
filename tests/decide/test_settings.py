"""The configuration contract: what is accepted, and one clear key-path line per problem."""
from __future__ import annotations

import copy

import pytest

from terway_stack.decide.problems import InputError
from terway_stack.decide.settings import parse_settings

from .settings_examples import valid_config


def problems_of(config: dict) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_settings(config)
    return [str(p) for p in caught.value.problems]


def with_change(path: str, value, base: dict | None = None) -> dict:
    """Copy of the valid config with one dotted path set (value DELETE removes it)."""
    config = copy.deepcopy(base or valid_config())
    *parents, leaf = path.split("|")
    node = config
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return config


DELETE = object()


def test_valid_config_parses_with_defaults_applied():
    settings = parse_settings(valid_config())
    assert settings.cluster.node_count == 1200
    assert settings.cluster.kubernetes_minor == (1, 30)
    assert settings.typha_replicas == 8
    assert settings.typha_image == "registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.24.5"
    assert settings.pod_vswitches.created_zones == {"cn-shanghai-f": "10.0.32.0/19"}
    assert settings.pod_vswitches.adopted_zones == {"cn-shanghai-g": "vsw-uf6adopted"}
    assert settings.terway.restart_timeout_seconds == 900


def test_minimal_config_gets_documented_defaults():
    settings = parse_settings(
        {"alicloud:region": "cn-beijing", "cluster": {"name": "c1", "kubernetesVersion": "v1.28.3-aliyun.1", "nodeCount": 5}}
    )
    assert settings.network_policy == "typha"
    assert settings.typha.version == "v3.24.5"
    assert settings.typha.metrics is False
    assert settings.pod_vswitches is None
    assert settings.terway.daemon_sets == ["terway-eniip"]
    assert settings.terway.restart_timeout_seconds == 900
    assert settings.cluster.kubernetes_minor == (1, 28)
    assert settings.typha_replicas == 3


@pytest.mark.parametrize(
    "path, value, expected",
    [
        # wrong types
        ("cluster|nodeCount", "many", "terway:cluster.nodeCount: expected an integer, got 'many'"),
        ("cluster|nodeCount", True, "terway:cluster.nodeCount: expected an integer, got True"),
        ("cluster|nodeCount", 0, "terway:cluster.nodeCount: must be at least 1, got 0"),
        ("cluster", "prod", "terway:cluster: expected a mapping (object), got 'prod'"),
        ("podVSwitches|snat|snatIps", "47.100.1.2", "terway:podVSwitches.snat.snatIps: expected a list, got '47.100.1.2'"),
        ("typha|metrics", "sometimes", "terway:typha.metrics: expected true or false, got 'sometimes'"),
        # unknown keys
        ("cluster|nodecount", 3, "terway:cluster.nodecount: unknown key"),
        ("podVswitches", {}, "terway:podVswitches: unknown key"),
        ("podVSwitches|zones|cn-shanghai-f|cidrBlock", "10.0.64.0/19", "terway:podVSwitches.zones.cn-shanghai-f.cidrBlock: unknown key"),
        # bad enums
        ("networkPolicy", "calico", "terway:networkPolicy: 'calico' is not one of 'typha', 'disabled' or 'direct'"),
        # CIDR prefix out of range, host bits, not a CIDR
        ("podVSwitches|zones|cn-shanghai-f|cidr", "10.0.32.0/20", "terway:podVSwitches.zones.cn-shanghai-f.cidr: /20 is smaller than /19"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "10.0.0.0/15", "terway:podVSwitches.zones.cn-shanghai-f.cidr: /15 is larger than Alibaba Cloud allows"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "10.0.33.0/19", "terway:podVSwitches.zones.cn-shanghai-f.cidr: 10.0.33.0/19 has host bits set; the network address is 10.0.32.0/19"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "10.0.300.0/19", "terway:podVSwitches.zones.cn-shanghai-f.cidr: '10.0.300.0/19' is not an IPv4 CIDR"),
        # zone spec must be exactly one of cidr / vswitchId
        ("podVSwitches|zones|cn-shanghai-f", {}, "terway:podVSwitches.zones.cn-shanghai-f: set exactly one of cidr"),
        ("podVSwitches|zones|cn-shanghai-f", {"cidr": "10.0.32.0/19", "vswitchId": "vsw-x"}, "terway:podVSwitches.zones.cn-shanghai-f: set exactly one of cidr"),
        ("podVSwitches|zones", {}, "terway:podVSwitches.zones: must not be empty"),
        # SNAT: both / neither table id, empty or non-IP addresses
        ("podVSwitches|snat", {"snatTableId": "stb-a", "natGatewayId": "ngw-b", "snatIps": ["47.100.1.2"]}, "terway:podVSwitches.snat: set exactly one of snatTableId or natGatewayId"),
        ("podVSwitches|snat", {"snatIps": ["47.100.1.2"]}, "terway:podVSwitches.snat: set exactly one of snatTableId or natGatewayId"),
        ("podVSwitches|snat|snatIps", [], "terway:podVSwitches.snat.snatIps: must list at least one EIP address"),
        ("podVSwitches|snat|snatIps", ["47.100.1.300"], "terway:podVSwitches.snat.snatIps.0: '47.100.1.300' is not an IPv4 address"),
        ("podVSwitches|snat|snatIps", ["fe80::1"], "terway:podVSwitches.snat.snatIps.0: 'fe80::1' is not an IPv4 address"),
        ("podVSwitches|snat|snatTableId", "snat-1", "terway:podVSwitches.snat.snatTableId: 'snat-1' is not a SNAT table id"),
        # Kubernetes version
        ("cluster|kubernetesVersion", "latest", "terway:cluster.kubernetesVersion: 'latest' is not a Kubernetes version"),
        ("cluster|kubernetesVersion", 1.3, "terway:cluster.kubernetesVersion: quote the version as a string"),
        ("cluster|kubernetesVersion", "2.1", "terway:cluster.kubernetesVersion: '2.1': only Kubernetes 1.x is supported"),
        # replicas override out of range
        ("typha|replicas", 5, "terway:typha.replicas: 5 is below the minimum 6 for 1200 nodes"),
        ("typha|replicas", 21, "terway:typha.replicas: 21 is above 20"),
        # the rest of the contract
        ("alicloud:region", "Shanghai", "alicloud:region: 'Shanghai' is not an Alibaba Cloud region id"),
        ("terway|restartTimeoutSeconds", 10, "terway:terway.restartTimeoutSeconds: must be at least 60, got 10"),
        ("terway|daemonSets", ["terway-eniip", "terway-eniip"], "terway:terway.daemonSets: lists a DaemonSet twice"),
        ("terway|daemonSets", [], "terway:terway.daemonSets: must not be empty"),
        ("cluster|name", "Prod_Shanghai", "terway:cluster.name: 'Prod_Shanghai' is not a DNS label"),
    ],
)
def test_each_bad_input_names_its_key(path, value, expected):
    problems = problems_of(with_change(path, value))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("cluster", "terway:cluster: required key is missing"),
        ("cluster|name", "terway:cluster.name: required key is missing"),
        ("cluster|kubernetesVersion", "terway:cluster.kubernetesVersion: required key is missing"),
        ("cluster|nodeCount", "terway:cluster.nodeCount: required key is missing"),
        ("alicloud:region", "alicloud:region: required key is missing"),
        ("podVSwitches|snat|snatIps", "terway:podVSwitches.snat.snatIps: required key is missing"),
    ],
)
def test_missing_required_keys_are_named(path, expected):
    assert problems_of(with_change(path, DELETE)) == [expected]


def test_overlapping_cidrs_are_reported_on_the_later_zone():
    config = with_change("podVSwitches|zones|cn-shanghai-g", {"cidr": "10.0.0.0/18"})
    assert problems_of(config) == [
        "terway:podVSwitches.zones.cn-shanghai-g.cidr: 10.0.0.0/18 overlaps 10.0.32.0/19 of zone cn-shanghai-f"
    ]


def test_zone_outside_the_region_is_rejected():
    config = with_change("podVSwitches|zones|cn-beijing-a", {"cidr": "10.1.0.0/19"})
    assert problems_of(config) == [
        "terway:podVSwitches.zones.cn-beijing-a: zone 'cn-beijing-a' is not in region cn-shanghai (alicloud:region): "
        "its zones are named cn-shanghai-<letter>, e.g. cn-shanghai-a"
    ]


def test_zone_ids_without_a_dash_before_the_letter_belong_to_their_region():
    config = valid_config()
    config["alicloud:region"] = "ap-southeast-1"
    config["podVSwitches"]["zones"] = {"ap-southeast-1a": {"cidr": "10.0.32.0/19"}}
    assert parse_settings(config).pod_vswitches.created_zones == {"ap-southeast-1a": "10.0.32.0/19"}


def test_vpc_id_is_required_only_when_a_vswitch_is_created():
    assert problems_of(with_change("podVSwitches|vpcId", DELETE)) == [
        "terway:podVSwitches.vpcId: required when any zone has a cidr"
    ]
    adopted_only = with_change("podVSwitches|zones", {"cn-shanghai-g": {"vswitchId": "vsw-a"}})
    adopted_only["podVSwitches"].pop("vpcId")
    assert parse_settings(adopted_only).pod_vswitches.vpc_id is None


def test_the_same_vswitch_cannot_be_adopted_in_two_zones():
    config = with_change("podVSwitches|zones", {"cn-shanghai-f": {"vswitchId": "vsw-a"}, "cn-shanghai-g": {"vswitchId": "vsw-a"}})
    assert problems_of(config) == ["terway:podVSwitches.zones.cn-shanghai-g.vswitchId: vsw-a is also cn-shanghai-f's"]


def test_replicas_override_must_leave_a_node_free_on_small_clusters():
    config = with_change("cluster|nodeCount", 3)
    config["typha"]["replicas"] = 3
    assert problems_of(config) == [
        "terway:typha.replicas: 3 leaves no free node among 3: Typha holds host port 5473, so a rollout would stall"
    ]


def test_replicas_override_within_range_is_used():
    assert parse_settings(with_change("typha|replicas", 20)).typha_replicas == 20
    assert parse_settings(with_change("typha|replicas", 6)).typha_replicas == 6


def test_every_problem_is_reported_at_once():
    config = with_change("networkPolicy", "calico")
    config["cluster"]["nodeCount"] = "x"
    config["surprise"] = 1
    problems = problems_of(config)
    assert {p.split(":")[0] + ":" + p.split(":")[1] for p in problems} == {
        "terway:networkPolicy",
        "terway:cluster.nodeCount",
        "terway:surprise",
    }


def test_image_override_and_version_shape_the_image():
    assert parse_settings(with_change("typha|version", "v3.26.1")).typha_image == (
        "registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.26.1"
    )
    config = with_change("typha|image", "registry.example.com/calico/typha:v3.24.5")
    assert parse_settings(config).typha_image == "registry.example.com/calico/typha:v3.24.5"
    assert problems_of(with_change("typha|image", "typha"))[0].startswith("terway:typha.image: 'typha' is not a full image")
    assert problems_of(with_change("typha|version", "3.20"))[0].startswith("terway:typha.version: '3.20' is not a Calico")


def test_empty_pod_vswitches_mapping_means_none_as_pulumi_yaml_defaults_it():
    config = valid_config()
    config["podVSwitches"] = {}
    assert parse_settings(config).pod_vswitches is None
