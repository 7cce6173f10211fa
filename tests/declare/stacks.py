"""Stack configurations and the program evaluated under Pulumi's mock runtime, shared by the declare tests."""
from __future__ import annotations

from terway_stack.plan.mocks import evaluate
from terway_stack.plan.stack_files import OFFLINE_KUBECONFIG
from terway_stack.program import run

# Resource types as the engine names them.
SWITCH = "alicloud:vpc/switch:Switch"
SNAT = "alicloud:vpc/snatEntry:SnatEntry"
ENI_CONF_WRITER = "pulumi-python:dynamic/terway_stack:EniConfWriter"
POLICY_WRITER = "pulumi-python:dynamic/terway_stack:PolicyKeysWriter"


def stack_config(mode: str = "typha", pods: dict | None = None, **extra) -> dict:
    config = {
        "alicloud:region": "cn-shanghai",
        "kubernetes:kubeconfig": OFFLINE_KUBECONFIG,
        "terway:cluster": {"name": "prod", "kubernetesVersion": "1.30", "nodeCount": 1200},
        "terway:networkPolicy": mode,
    }
    if pods is not None:
        config["terway:podVSwitches"] = pods
    config.update(extra)
    return config


PODS_WITH_SNAT_TABLE = {
    "vpcId": "vpc-a1",
    "zones": {"cn-shanghai-f": {"cidr": "10.0.32.0/19"}, "cn-shanghai-g": {"vswitchId": "vsw-adopted1"}},
    "snat": {"snatTableId": "stb-t1", "snatIps": ["47.100.1.2"]},
}


def declare(config: dict, eni_config: dict | None = None, cloud: dict | None = None):
    return evaluate(lambda: run(config, environ={}), config, stack="test", eni_config=eni_config, cloud_answers=cloud)
