"""What the rules know about the cluster that resources do not say: the PolicyContext.

It comes from three places, later ones winning:
1. defaults (thresholds a team may tune),
2. the stack's configuration (`terway:cluster`, `terway:typha`, `alicloud:region`, ...), which the
   engine hands to a policy pack as PULUMI_CONFIG and the offline plan reads from Pulumi.<stack>.yaml,
3. the policy pack's own configuration (`pulumi preview --policy-pack-config FILE`), per policy,
   with the camelCase property names in CONFIG_PROPERTIES.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..decide.settings import DEFAULT_TYPHA_VERSION, StackSettings, decode_config_value

from ..decide.advisories import DIRECT_MODE_NODE_LIMIT  # one threshold for warnings and policy

REGION_KEY = "alicloud:region"
DEFAULT_DAEMON_SETS = ("terway-eniip",)


@dataclass(frozen=True)
class PolicyContext:
    """Facts about the target cluster and cloud. None means "not known": rules that need it stay quiet."""

    node_count: Optional[int] = None
    kubernetes_version: Optional[str] = None  # "1.30" or "v1.30.1-aliyun.1"
    region: Optional[str] = None
    typha_version: Optional[str] = None  # used when the Typha image is not known yet
    felix_version: Optional[str] = None  # Calico Felix in the cluster's Terway policy container
    vpc_cidr: Optional[str] = None
    snat_configured: Optional[bool] = None  # None: infer from whether the stack declares SNAT entries
    network_policy_mode: Optional[str] = None  # None: infer from the eni-config patch
    terway_daemon_sets: tuple[str, ...] = DEFAULT_DAEMON_SETS
    direct_mode_node_limit: int = DIRECT_MODE_NODE_LIMIT


# Policy-config property (camelCase, as in --policy-pack-config) -> (context field, JSON schema).
CONFIG_PROPERTIES: dict[str, tuple[str, dict[str, Any]]] = {
    "nodeCount": ("node_count", {"type": "integer", "minimum": 1, "description": "Linux nodes in the cluster"}),
    "kubernetesVersion": (
        "kubernetes_version",
        {"type": "string", "description": "cluster version, e.g. \"1.30\" or \"v1.30.1-aliyun.1\""},
    ),
    "region": ("region", {"type": "string", "description": "Alibaba Cloud region id of the stack"}),
    "typhaVersion": ("typha_version", {"type": "string", "description": "Calico release of Typha, e.g. v3.20.2"}),
    "felixVersion": (
        "felix_version",
        {"type": "string", "description": "Calico Felix version running in Terway's policy container"},
    ),
    "vpcCidr": ("vpc_cidr", {"type": "string", "description": "CIDR of the VPC the pod vSwitches go into"}),
    "snatConfigured": (
        "snat_configured",
        {"type": "boolean", "description": "whether new pod vSwitches must get a SNAT entry"},
    ),
    "networkPolicyMode": (
        "network_policy_mode",
        {"type": "string", "enum": ["typha", "disabled", "direct"], "description": "terway:networkPolicy"},
    ),
    "directModeNodeLimit": (
        "direct_mode_node_limit",
        {
            "type": "integer",
            "minimum": 1,
            "default": DIRECT_MODE_NODE_LIMIT,
            "description": "node count above which mode `direct` is flagged",
        },
    ),
}
_INT_FIELDS = {"node_count", "direct_mode_node_limit"}


def _section(config: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = decode_config_value(config.get(f"terway:{key}"))
    return value if isinstance(value, dict) else {}


def _whole(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def context_from_stack_config(config: Mapping[str, Any], base: Optional[PolicyContext] = None) -> PolicyContext:
    """Read what the rules need from the stack's config, keys as in Pulumi.<stack>.yaml ("terway:cluster").

    Deliberately lenient: invalid config is the program's to reject with key paths; here a value
    that cannot be read is simply not known.
    """
    base = base or PolicyContext()
    cluster, typha, pods, terway = (_section(config, k) for k in ("cluster", "typha", "podVSwitches", "terway"))
    declared = any(key.startswith("terway:") for key in config)
    updates: dict[str, Any] = {}
    if _whole(cluster.get("nodeCount")) is not None:
        updates["node_count"] = _whole(cluster.get("nodeCount"))
    if isinstance(cluster.get("kubernetesVersion"), str):
        updates["kubernetes_version"] = cluster["kubernetesVersion"].strip()
    if isinstance(config.get(REGION_KEY), str):
        updates["region"] = config[REGION_KEY].strip()
    if declared:
        updates["typha_version"] = typha.get("version") or DEFAULT_TYPHA_VERSION
        updates["network_policy_mode"] = config.get("terway:networkPolicy") or "typha"
        updates["snat_configured"] = bool(pods.get("snat"))
    daemon_sets = terway.get("daemonSets")
    if isinstance(daemon_sets, list) and all(isinstance(d, str) for d in daemon_sets) and daemon_sets:
        updates["terway_daemon_sets"] = tuple(daemon_sets)
    return dataclasses.replace(base, **updates)


def context_from_settings(settings: StackSettings, base: Optional[PolicyContext] = None) -> PolicyContext:
    """The same, from already validated settings (what the offline plan holds)."""
    pods = settings.pod_vswitches
    return dataclasses.replace(
        base or PolicyContext(),
        node_count=settings.cluster.node_count,
        kubernetes_version=settings.cluster.kubernetes_version,
        region=settings.region,
        typha_version=settings.typha.version,
        network_policy_mode=settings.network_policy,
        snat_configured=bool(pods and pods.snat),
        terway_daemon_sets=tuple(settings.terway.daemon_sets),
    )


def with_policy_config(context: PolicyContext, properties: Optional[Mapping[str, Any]]) -> PolicyContext:
    """Apply one policy's configuration properties (unknown properties are ignored, like the engine's
    schema would have rejected them before we get here)."""
    updates: dict[str, Any] = {}
    for key, value in (properties or {}).items():
        if key not in CONFIG_PROPERTIES or value is None:
            continue
        field_name = CONFIG_PROPERTIES[key][0]
        updates[field_name] = _whole(value) if field_name in _INT_FIELDS else value
    return dataclasses.replace(context, **updates)


def config_schema_properties(keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {key: dict(CONFIG_PROPERTIES[key][1]) for key in keys}
