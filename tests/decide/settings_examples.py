"""A valid terway configuration (decoded, keys without the namespace), the base the settings tests vary."""
from __future__ import annotations

import copy


def valid_config() -> dict:
    return {
        "alicloud:region": "cn-shanghai",
        "cluster": {"name": "prod-shanghai", "kubernetesVersion": "1.30", "nodeCount": 1200},
        "networkPolicy": "typha",
        "typha": {"version": "v3.24.5", "replicas": 8},
        "podVSwitches": {
            "vpcId": "vpc-uf6abc",
            "zones": {"cn-shanghai-f": {"cidr": "10.0.32.0/19"}, "cn-shanghai-g": {"vswitchId": "vsw-uf6adopted"}},
            "snat": {"snatTableId": "stb-uf6abc", "snatIps": ["47.100.1.2"]},
            "tags": {"team": "net"},
        },
        "terway": {"daemonSets": ["terway-eniip"], "restartTimeoutSeconds": 900},
    }


# Every text value of the configuration, by its key path as messages name it (the text and linear-time tests).
TEXT_PATHS = {
    ("cluster", "name"): "terway:cluster.name",
    ("cluster", "kubernetesVersion"): "terway:cluster.kubernetesVersion",
    ("alicloud:region",): "alicloud:region",
    ("typha", "version"): "terway:typha.version",
    ("typha", "image"): "terway:typha.image",
    ("podVSwitches", "vpcId"): "terway:podVSwitches.vpcId",
    ("podVSwitches", "zones", "cn-shanghai-f", "cidr"): "terway:podVSwitches.zones.cn-shanghai-f.cidr",
    ("podVSwitches", "zones", "cn-shanghai-g", "vswitchId"): "terway:podVSwitches.zones.cn-shanghai-g.vswitchId",
    ("podVSwitches", "snat", "snatTableId"): "terway:podVSwitches.snat.snatTableId",
    ("podVSwitches", "snat", "snatIps", 0): "terway:podVSwitches.snat.snatIps.0",
    ("podVSwitches", "tags", "team"): "terway:podVSwitches.tags.team",
    ("terway", "daemonSets", 0): "terway:terway.daemonSets.0",
    ("networkPolicy",): "terway:networkPolicy",
}


def config_with(path: tuple, value) -> dict:
    """valid_config() with the value at `path` replaced (and a Typha image of a neutral registry)."""
    config = copy.deepcopy(valid_config())
    config["typha"]["image"] = "registry.example.com/acs/typha:v3.24.5"
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return config
