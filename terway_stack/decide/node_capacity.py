"""One node's pod-IP capacity as Terway itself computes it: its mode, its limits, its ENIs.

Facts from Terway v1.16's source (AliyunContainerService/terway):

- The mode is a property of the node. `k8s.aliyun.com/exclusive-mode-eni-type: eniOnly` (compared
  case-insensitively, types/k8s.go) makes it exclusive ENI (one pod per ENI); otherwise
  `enable_ip_prefix` of the node's effective eni_conf makes it prefix mode (fixed on the Node CR at its
  creation, pkg/eni/node_reconcile.go); otherwise shared ENI.
- The effective eni_conf is the base merged with the ConfigMap named by the node label
  `terway-config`, by RFC 7396 merge-patch (types/daemon/config.go MergeConfigAndUnmarshal).
- Limits: the node annotation `alibabacloud.com/instance-type-info` (ECS's InstanceType JSON,
  pkg/aliyun/client/limit.go GetLimitFromAnno), else the Node CR's `spec.nodeCap`, else the ECS
  instance-type look-up.
- Two sizing paths. Centralized IPAM (`ipam_type: crd`, the chart default, and every exclusive node,
  daemon/builder.go InitK8S) sizes ENIs from the Node CR's flavor: ENIs - 1, one fewer when ERDMA
  takes one (node_reconcile.go); `max_eni`, `eni_cap_ratio` and `eni_cap_shift` are not read there.
  The legacy path (daemon/config.go getPoolConfig) uses int(ENIs x eni_cap_ratio) + eni_cap_shift - 1,
  capped by `max_eni`, less the ENIs ERDMA reserves (daemon/builder.go, Limits.ERDMARes).
- Pod IPs per ENI: shared, the ENI's private IPv4 quota; exclusive, 1; prefix, (quota - 1) /28
  prefixes of 16 addresses each (pkg/controller/node/node.go).
- Pool sizes are zeroed for prefix and exclusive nodes (node_reconcile.go): they keep no warm IPs.
- ENIs attached now: the Node CR's `status.networkInterfaces` (pod ENIs only: not the ERDMA ones).
- Trunk ENI (`enable_eni_trunking`, PodNetworking): member ENIs, one pod and one IP each, are limited by
  `MemberAdapterLimit` = EniTotalQuantity - EniQuantity, 0 where `EniTrunkSupported` is false
  (pkg/aliyun/client/limit.go GetInstanceType); Terway reports it as the node's `aliyun/member-eni`
  resource (pkg/controller/node/node.go patchNodeRes). Trunking is off on a node whose limit is 0 and on
  exclusive nodes (pkg/eni/node_reconcile.go). The trunk ENI takes one of the ENIs - 1 pod ENIs and
  carries shared IPs like any of them (node_reconcile.go flavor; node.go counts the Trunk flavor x
  IPv4PerAdapter), so the shared figures do not change. Member ENIs take their IP from a PodNetworking's
  `vSwitchOptions`, not from eni_conf's vSwitches: they are counted apart.

Plain data in, plain data out. What cannot be known is said, never invented.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

EXCLUSIVE_ENI_LABEL = "k8s.aliyun.com/exclusive-mode-eni-type"
EXCLUSIVE_ENI_ONLY = "enionly"  # Terway lower-cases both sides
INSTANCE_TYPE_INFO_ANNOTATION = "alibabacloud.com/instance-type-info"
SHARED, EXCLUSIVE, PREFIX = "shared", "exclusive", "prefix"
MODES = (SHARED, EXCLUSIVE, PREFIX)
PREFIX_ADDRESSES = 16  # an IPv4 /28 prefix
IPAM_CRD = "crd"
ERDMA_TRAFFIC_MODE = "HighPerformance"  # Node CR status: ENIs ERDMA holds, not pod ENIs


@dataclass(frozen=True)
class NodeLimits:
    """The instance's ENI limits: ENIs (primary included), IPv4 and IPv6 per ENI, ENIs ERDMA reserves."""

    adapters: int
    ipv4_per_adapter: int
    erdma_reserved: int = 0
    ipv6_per_adapter: int = 0
    source: str = "ecs"  # annotation | nodeCap | ecs
    member_adapters: Optional[int] = None  # trunk member ENIs (MemberAdapterLimit); None: not in the ECS look-up


def erdma_reserved(adapters: int, eri_quantity: int) -> int:
    """Limits.ERDMARes: 2 on instances with 8 or more ENIs, else 1, and none below 3 ENIs."""
    if eri_quantity <= 0 or adapters <= 2:
        return 0
    return min(2 if adapters >= 8 else 1, eri_quantity)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return 0
    return max(int(value), 0)


def limits_from_instance_type_info(text: Any) -> Optional[NodeLimits]:
    """The annotation's ECS InstanceType JSON; None when absent, unreadable or without an ENI quota."""
    if not isinstance(text, str):
        return None
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(info, dict) or _whole(info.get("EniQuantity")) < 1:
        return None
    adapters = _whole(info.get("EniQuantity"))
    return NodeLimits(
        adapters,
        _whole(info.get("EniPrivateIpAddressQuantity")),
        erdma_reserved(adapters, _whole(info.get("EriQuantity"))),
        _whole(info.get("EniIpv6AddressQuantity")),
        "annotation",
        max(_whole(info.get("EniTotalQuantity")) - adapters, 0) if info.get("EniTrunkSupported") is True else 0,
    )


def limits_from_node_cap(cap: Any) -> Optional[NodeLimits]:
    """The Node CR's spec.nodeCap; its eriQuantity is already the ERDMA reservation (controller/node)."""
    if not isinstance(cap, Mapping) or _whole(cap.get("adapters")) < 1:
        return None
    return NodeLimits(
        _whole(cap.get("adapters")),
        _whole(cap.get("ipv4PerAdapter")),
        _whole(cap.get("eriQuantity")),
        _whole(cap.get("ipv6PerAdapter")),
        "nodeCap",
        _whole(cap.get("memberAdapterLimit")),  # omitempty: absent is 0
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge member by member, null removes, anything else (arrays too) replaces."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def node_mode(labels: Mapping[str, Any], conf: Mapping[str, Any], node_cr: Optional[Mapping[str, Any]] = None) -> str:
    if str((labels or {}).get(EXCLUSIVE_ENI_LABEL) or "").lower() == EXCLUSIVE_ENI_ONLY:
        return EXCLUSIVE
    eni_spec = ((node_cr or {}).get("spec") or {}).get("eni")
    if isinstance(eni_spec, Mapping):  # enableIPPrefix is fixed when the Node CR is first reconciled
        return PREFIX if eni_spec.get("enableIPPrefix") is True else SHARED
    return PREFIX if conf.get("enable_ip_prefix") is True else SHARED


def trunk_enabled(conf: Mapping[str, Any], mode: str, limits: Optional[NodeLimits],
                  node_cr: Optional[Mapping[str, Any]] = None) -> bool:
    """Whether Terway runs a trunk ENI on this node: the Node CR's decision when it has one, else
    enable_eni_trunking, off for exclusive nodes and where the instance has no member ENIs."""
    eni_spec = ((node_cr or {}).get("spec") or {}).get("eni")
    if isinstance(eni_spec, Mapping) and "enableTrunk" in eni_spec:
        return eni_spec.get("enableTrunk") is True
    if conf.get("enable_eni_trunking") is not True or mode == EXCLUSIVE:
        return False
    return limits is None or limits.member_adapters is None or limits.member_adapters > 0


def member_enis(limits: Optional[NodeLimits], trunk: bool) -> Optional[int]:
    """Member ENIs the node may hold (aliyun/member-eni); 0 without trunking; None when unknown."""
    if not trunk:
        return 0
    return None if limits is None else limits.member_adapters


def centralized_ipam(mode: str, conf: Mapping[str, Any]) -> bool:
    return mode == EXCLUSIVE or conf.get("ipam_type") == IPAM_CRD


def _number(conf: Mapping[str, Any], key: str, default: float) -> float:
    value = conf.get(key)
    return default if isinstance(value, bool) or not isinstance(value, (int, float)) else value


def pod_enis(limits: NodeLimits, conf: Mapping[str, Any], mode: str) -> int:
    """ENIs Terway may attach to this node for pods (the primary ENI and ERDMA's excluded)."""
    erdma = conf.get("enable_erdma") is True
    if centralized_ipam(mode, conf):
        count = limits.adapters - 1 - (1 if erdma and limits.erdma_reserved > 0 else 0)
        return max(count, 0)
    ratio = _number(conf, "eni_cap_ratio", 0) or 1  # Populate(): 0 means 1
    count = int(limits.adapters * ratio) + int(_number(conf, "eni_cap_shift", 0)) - 1
    max_eni = int(_number(conf, "max_eni", 0))
    if 0 < max_eni < count:
        count = max_eni
    if erdma:
        count -= limits.erdma_reserved
    return max(count, 0)


def ips_per_eni(limits: NodeLimits, mode: str) -> int:
    if mode == EXCLUSIVE:
        return 1
    if mode == PREFIX:
        return max(limits.ipv4_per_adapter - 1, 0) * PREFIX_ADDRESSES
    return limits.ipv4_per_adapter


def attached_pod_enis(node_cr: Optional[Mapping[str, Any]]) -> Optional[int]:
    """Pod ENIs attached now, from the Node CR status; None without a Node CR status."""
    status = (node_cr or {}).get("status")
    if not isinstance(status, Mapping) or "networkInterfaces" not in status:
        return None
    interfaces = status.get("networkInterfaces") or {}
    if not isinstance(interfaces, Mapping):
        return None
    return sum(
        1
        for nic in interfaces.values()
        if isinstance(nic, Mapping)
        and nic.get("networkInterfaceType") != "Primary"
        and nic.get("networkInterfaceTrafficMode") != ERDMA_TRAFFIC_MODE
    )


def min_pool_size(conf: Mapping[str, Any], mode: str, ips: Optional[int] = None, capacity: Optional[int] = None) -> int:
    """Warm IPs Terway keeps on the node: zero for prefix and exclusive nodes (node_reconcile.go);
    min_pool_size, or on the legacy path min_eni x IPs per ENI when min_eni is set, never above
    max_pool_size capped at the node's capacity (daemon/config.go getPoolConfig)."""
    if mode in (PREFIX, EXCLUSIVE):
        return 0
    size = int(_number(conf, "min_pool_size", 0))
    if not centralized_ipam(mode, conf) and ips is not None:
        min_eni = int(_number(conf, "min_eni", 0))
        if min_eni > 0:
            size = min_eni * ips
        max_pool = int(_number(conf, "max_pool_size", 0))
        if capacity is not None:
            max_pool = min(max_pool, capacity)
        size = min(size, max_pool)
    return max(size, 0)


@dataclass
class NodeCapacity:
    name: str
    zone: Optional[str]
    instance_type: Optional[str]
    mode: str
    centralized: bool
    limits: Optional[NodeLimits]
    pod_enis: Optional[int]
    ips_per_eni: Optional[int]
    attached: Optional[int]
    warm_ips: int
    ip_stack: str = "ipv4"
    unknown: list[str] = field(default_factory=list)
    trunk: bool = False
    member_enis: Optional[int] = 0  # trunk member ENIs, one pod and IP each, from PodNetworking vSwitches

    @property
    def max_pods(self) -> Optional[int]:
        return None if self.pod_enis is None else self.pod_enis * self.ips_per_eni

    @property
    def free_enis(self) -> Optional[int]:
        if self.pod_enis is None or self.attached is None:
            return None
        return max(self.pod_enis - self.attached, 0)

    @property
    def new_eni_ips(self) -> Optional[int]:
        """Pod IPs this node can still take on ENIs it has yet to attach (the only use of a new vSwitch)."""
        return None if self.free_enis is None else self.free_enis * self.ips_per_eni


def node_capacity(
    node: Mapping[str, Any],
    conf: Mapping[str, Any],
    node_cr: Optional[Mapping[str, Any]],
    ecs_limits: Optional[NodeLimits],
    zone: Optional[str],
    instance_type: Optional[str],
) -> NodeCapacity:
    """`node`: the Node's metadata; `conf`: its effective eni_conf; `ecs_limits`: the cloud's fallback."""
    metadata = node.get("metadata") or {}
    name = str(metadata.get("name") or "?")
    mode = node_mode(metadata.get("labels") or {}, conf, node_cr)
    limits = (
        limits_from_instance_type_info((metadata.get("annotations") or {}).get(INSTANCE_TYPE_INFO_ANNOTATION))
        or limits_from_node_cap(((node_cr or {}).get("spec") or {}).get("nodeCap"))
        or ecs_limits
    )
    unknown = []
    if limits is None:
        unknown.append(f"ENI limits of {name}: no {INSTANCE_TYPE_INFO_ANNOTATION} annotation, no Node CR nodeCap, no ECS answer")
    attached = attached_pod_enis(node_cr)
    if attached is None:
        unknown.append(f"ENIs attached to {name}: no Node CR status (network.alibabacloud.com/v1beta1 nodes)")
    trunk = trunk_enabled(conf, mode, limits, node_cr)
    members = member_enis(limits, trunk)
    if trunk and members is None and limits is not None:
        unknown.append(f"trunk member ENIs of {name}: no {INSTANCE_TYPE_INFO_ANNOTATION} annotation or Node CR nodeCap "
                       "(the ECS look-up gives no EniTotalQuantity)")
    return NodeCapacity(
        name=name,
        zone=zone,
        instance_type=instance_type,
        mode=mode,
        centralized=centralized_ipam(mode, conf),
        limits=limits,
        pod_enis=None if limits is None else pod_enis(limits, conf, mode),
        ips_per_eni=None if limits is None else ips_per_eni(limits, mode),
        attached=attached,
        warm_ips=min_pool_size(
            conf, mode, None if limits is None else ips_per_eni(limits, mode),
            None if limits is None else pod_enis(limits, conf, mode) * ips_per_eni(limits, mode),
        ),
        ip_stack=str(conf.get("ip_stack") or "ipv4"),
        unknown=unknown,
        trunk=trunk,
        member_enis=members,
    )
