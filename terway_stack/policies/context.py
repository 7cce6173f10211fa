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

from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import Annotated

from ..decide.config_values import REGION_KEY, raw_settings
from ..decide.facts import (
    DEFAULT_DAEMON_SETS,
    DEFAULT_NETWORK_POLICY_MODE,
    DEFAULT_TYPHA_VERSION,
    DIRECT_MODE_NODE_LIMIT,
    NETWORK_POLICY_MODES,
)
from ..decide.problems import InputError
from ..decide.settings import ClusterSettings, StackSettings, TerwaySettings, TyphaSettings, parse_settings


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
    network_policy_mode: Optional[str] = None  # None: infer from the eni-config writers
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
        {"type": "string", "enum": list(NETWORK_POLICY_MODES), "description": "terway:networkPolicy"},
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


def _field(model: type[BaseModel], name: str, value: Any) -> Any:
    """`value` as the program's own field rule reads it, or None when that rule refuses it."""
    if value is None:
        return None
    info = model.model_fields[name]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError:
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _whole(value: Any) -> Optional[int]:
    """Policy-config integers, read by the same rule as the stack's (no booleans, no Unicode digits)."""
    return _field(ClusterSettings, "node_count", value)


def _each_valid_field(raw: Mapping[str, Any]) -> dict[str, Any]:
    cluster, typha, pods, terway = (_mapping(raw.get(k)) for k in ("cluster", "typha", "podVSwitches", "terway"))
    found = {
        "node_count": _field(ClusterSettings, "node_count", cluster.get("nodeCount")),
        "kubernetes_version": _field(ClusterSettings, "kubernetes_version", cluster.get("kubernetesVersion")),
        "region": _field(StackSettings, "region", raw.get(REGION_KEY)),
    }
    daemon_sets = _field(TerwaySettings, "daemon_sets", terway.get("daemonSets"))
    if daemon_sets and len(set(daemon_sets)) == len(daemon_sets):
        found["terway_daemon_sets"] = tuple(daemon_sets)
    updates = {key: value.strip() if isinstance(value, str) else value for key, value in found.items() if value is not None}
    if any(key != REGION_KEY for key in raw):
        version = typha.get("version", DEFAULT_TYPHA_VERSION)
        updates["typha_version"] = _field(TyphaSettings, "version", version) and version.strip()
        updates["network_policy_mode"] = _field(StackSettings, "network_policy", raw.get("networkPolicy", DEFAULT_NETWORK_POLICY_MODE))
        updates["snat_configured"] = bool(_mapping(pods.get("snat")))
    return updates


def context_from_stack_config(config: Mapping[str, Any], base: Optional[PolicyContext] = None) -> PolicyContext:
    """Read what the rules need from the stack's config, keys as in Pulumi.<stack>.yaml ("terway:cluster").

    Through the program's own decoder and rules, so a key the program refuses (`node_count`) is not
    known here either. Valid config gives exactly what the program holds. Invalid config stops the
    program before it declares anything; here each value that passes its own rule is still used,
    and the rest is simply not known.
    """
    base = base or PolicyContext()
    try:
        raw = raw_settings(config)
    except InputError:
        return base
    try:
        return context_from_settings(parse_settings(raw), base)
    except InputError:
        return dataclasses.replace(base, **_each_valid_field(raw))


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
