"""A valid terway configuration (decoded, keys without the namespace), the base the settings tests vary."""
from __future__ import annotations


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
