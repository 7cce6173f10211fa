"""Pod-IP capacity per zone, built from each node's own mode and limits (decide/node_capacity.py).

A new vSwitch serves only ENIs Terway has yet to attach: a node at its ENI limit gains nothing from
it. So per zone the figures say how many nodes can still attach an ENI, how many are at their limit
(they need new nodes, not a vSwitch), and how many of the added IPs those nodes can actually take.
`available_ip_address_count` of a vSwitch already leaves out the IPs held in nodes' warm pools, so warm
IPs are shown for information and never subtracted again.

Plain data in, plain data out: the figures come from live inputs (nodes with their labels and
annotations, Node CRs, per-node configs, vSwitch free IPs, ENI quotas) that the declare layer or the
offline plan gather; whatever is missing is named, never invented.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from . import node_capacity as per_node
from ..outputs_contract import ZoneCapacityOutput
from .facts import MIN_POOL_SIZE_KEY, NODE_CONFIG_LABEL, SELECTION_POLICY_KEY, VIRTUAL_KUBELET_LABEL
from .sizing import usable_addresses

ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
# Configure.MinPoolSize is a plain Go int with no default in Terway: absent means 0.
TERWAY_DEFAULT_MIN_POOL_SIZE = 0
GROWTH = 0.10  # the headroom warning looks at the warm demand of this many more nodes
UNLABELLED = "(unlabelled)"


@dataclass(frozen=True)
class NodeInfo:
    name: str
    zone: Optional[str]
    instance_type: Optional[str]
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class EniQuota:
    """ENIs per instance (the primary one included) and private IPv4 addresses per ENI (ECS look-up)."""

    enis: int
    ips_per_eni: int
    eri_quantity: int = 0

    def limits(self) -> per_node.NodeLimits:
        return per_node.NodeLimits(
            self.enis, self.ips_per_eni, per_node.erdma_reserved(self.enis, self.eri_quantity), 0, "ecs"
        )


@dataclass(frozen=True)
class VSwitchFacts:
    """What the cloud says about one vSwitch; None fields are unknown (offline)."""

    id: str
    zone: Optional[str] = None
    available_ips: Optional[int] = None
    vpc_id: Optional[str] = None
    ipv6_cidr: Optional[str] = None
    route_table_id: Optional[str] = None
    cidr: Optional[str] = None


def node_list(document: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The NodeList of a cluster read: a bare NodeList, or the snapshot that holds one under "nodes"."""
    document = document or {}
    return document if "items" in document else (document.get("nodes") or {})


def nodes_from_list(document: Mapping[str, Any]) -> list[NodeInfo]:
    """Nodes Terway runs on, from a NodeList (`kubectl get nodes -o json` or the API)."""
    nodes = []
    for item in (document or {}).get("items") or []:
        metadata = (item or {}).get("metadata") or {}
        labels = metadata.get("labels") or {}
        if labels.get(VIRTUAL_KUBELET_LABEL[0]) == VIRTUAL_KUBELET_LABEL[1]:
            continue  # ECI virtual nodes run no Terway (its DaemonSet keeps off them)
        zone = next((labels[k] for k in ZONE_LABELS if labels.get(k)), None)
        instance_type = next((labels[k] for k in INSTANCE_TYPE_LABELS if labels.get(k)), None)
        nodes.append(NodeInfo(str(metadata.get("name") or "?"), zone, instance_type, metadata))
    return nodes


def max_pods_per_node(quota: EniQuota, exclusive_eni: bool) -> int:
    """Seed 003's formula, kept for the e2e figures it documents: (ENIs - 1) x IPs, or ENIs - 1."""
    secondary = max(quota.enis - 1, 0)
    return secondary if exclusive_eni else secondary * quota.ips_per_eni


def min_pool_size(conf: Mapping[str, Any]) -> int:
    value = conf.get(MIN_POOL_SIZE_KEY)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return TERWAY_DEFAULT_MIN_POOL_SIZE
    return int(value)


def growth_nodes(nodes: int) -> int:
    """10% more nodes, at least one when the zone has any."""
    return math.ceil(nodes * GROWTH) if nodes else 0


def _sum(values: Sequence[Optional[int]]) -> Optional[int]:
    return None if any(v is None for v in values) else sum(values)


@dataclass
class ZoneCapacity:
    zone: str
    node_capacities: list[per_node.NodeCapacity] = field(default_factory=list)
    min_pool_size: int = TERWAY_DEFAULT_MIN_POOL_SIZE  # the base eni_conf's; per-node configs may differ
    listed_vswitches: list[str] = field(default_factory=list)  # ids in eni_conf after the run
    new_cidrs: list[str] = field(default_factory=list)  # vSwitches the run creates (ids known after apply)
    available_ips: Optional[int] = 0  # free now in the vSwitches already listed (warm pools already out)
    added_ips: Optional[int] = 0  # usable IPs the run adds (new vSwitches, adopted ones not yet listed)
    unknown: list[str] = field(default_factory=list)  # what could not be computed, and why
    nodes_known: bool = True

    @property
    def nodes(self) -> Optional[int]:
        return len(self.node_capacities) if self.nodes_known else None

    @property
    def nodes_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.node_capacities:
            kind = node.instance_type or UNLABELLED
            counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def nodes_by_mode(self) -> dict[str, int]:
        return {mode: sum(1 for n in self.node_capacities if n.mode == mode) for mode in per_node.MODES}

    @property
    def max_pods_by_kind(self) -> dict[str, Optional[int]]:
        """`<instance type> <mode>` -> pods per node (None: limits unknown)."""
        kinds: dict[str, Optional[int]] = {}
        for node in self.node_capacities:
            kinds[f"{node.instance_type or UNLABELLED} {node.mode}"] = node.max_pods
        return dict(sorted(kinds.items()))

    @property
    def warm_ips(self) -> Optional[int]:
        return None if not self.nodes_known else sum(n.warm_ips for n in self.node_capacities)

    def _eni_known(self) -> list[per_node.NodeCapacity]:
        return [n for n in self.node_capacities if n.free_enis is not None]

    @property
    def nodes_can_attach_eni(self) -> Optional[int]:
        return None if not self.nodes_known else sum(1 for n in self._eni_known() if n.free_enis > 0)

    @property
    def nodes_at_eni_limit(self) -> Optional[int]:
        return None if not self.nodes_known else sum(1 for n in self._eni_known() if n.free_enis == 0)

    @property
    def nodes_eni_unknown(self) -> Optional[int]:
        return None if not self.nodes_known else len(self.node_capacities) - len(self._eni_known())

    @property
    def new_eni_ips(self) -> Optional[int]:
        """Pod IPs the zone's nodes can still take on new ENIs: all a new vSwitch can ever serve them."""
        return None if not self.nodes_known else _sum([n.new_eni_ips for n in self.node_capacities])

    @property
    def added_usable_ips(self) -> Optional[int]:
        if self.added_ips == 0:
            return 0
        if self.added_ips is None or self.new_eni_ips is None:
            return None
        return min(self.added_ips, self.new_eni_ips)

    @property
    def usable_headroom_ips(self) -> Optional[int]:
        if self.available_ips is None or self.added_usable_ips is None:
            return None
        return self.available_ips + self.added_usable_ips

    @property
    def worst_case_ips(self) -> Optional[int]:
        """Every node full of pods: the sum of each node's max pods."""
        return None if not self.nodes_known else _sum([n.max_pods for n in self.node_capacities])

    @property
    def trunk_member_enis(self) -> Optional[int]:
        """Member ENIs the zone's trunk nodes may hold: pods of a PodNetworking, outside newEniIps."""
        return None if not self.nodes_known else _sum([n.member_enis for n in self.node_capacities])

    @property
    def growth_warm_ips(self) -> int:
        return growth_nodes(self.nodes or 0) * self.min_pool_size

    def as_output(self) -> dict[str, Any]:
        """The stack output's per-zone object, through the outputs contract's model (its field names and types)."""
        return ZoneCapacityOutput.of(
            nodes=self.nodes,
            nodes_by_mode=self.nodes_by_mode if self.nodes_known else {},
            nodes_by_instance_type=self.nodes_by_type,
            max_pods_per_node=self.max_pods_by_kind,
            nodes_can_attach_eni=self.nodes_can_attach_eni,
            nodes_at_eni_limit=self.nodes_at_eni_limit,
            nodes_eni_state_unknown=self.nodes_eni_unknown,
            min_pool_size=self.min_pool_size,
            warm_ips=self.warm_ips,
            vswitches=list(self.listed_vswitches),
            new_vswitch_cidrs=list(self.new_cidrs),
            available_ips=self.available_ips,
            added_ips=self.added_ips,
            new_eni_ips=self.new_eni_ips,
            added_usable_ips=self.added_usable_ips,
            usable_headroom_ips=self.usable_headroom_ips,
            worst_case_ips=self.worst_case_ips,
            trunk_member_enis=self.trunk_member_enis,
            unknown=list(self.unknown),
        ).as_output()


@dataclass(frozen=True)
class ZoneFigures:
    """A zone's figures read back from the `podIpCapacity` output: what capacity_warnings needs (fleet gates)."""

    zone: str
    nodes: Optional[int]
    min_pool_size: int
    listed_vswitches: list[str]
    new_cidrs: list[str]
    added_ips: Optional[int]
    nodes_at_eni_limit: Optional[int]
    usable_headroom_ips: Optional[int]

    @property
    def growth_warm_ips(self) -> int:
        return growth_nodes(self.nodes or 0) * self.min_pool_size


@dataclass(frozen=True)
class CapacityInputs:
    """Everything the figures depend on; None for a live input that could not be read."""

    nodes: Optional[Sequence[NodeInfo]]
    listed: Mapping[str, Sequence[str]]  # live eni_conf vswitches: zone -> ids
    created: Mapping[str, str]  # zone -> CIDR of vSwitches this run creates
    adopted: Mapping[str, str]  # zone -> id of vSwitches this run wires in
    vswitch_facts: Mapping[str, VSwitchFacts]  # id -> facts; absent id = unknown
    quotas: Mapping[str, Optional[EniQuota]]  # instance type -> ECS quota (the fallback); None or absent = unknown
    min_pool_size: int = TERWAY_DEFAULT_MIN_POOL_SIZE
    exclusive_eni: bool = False  # DaemonSet terway-eni alone: every node exclusive (Terway before v1.11)
    nodes_unreadable: str = ""  # why nodes is None
    cloud_note: str = ""  # why cloud figures are missing (e.g. look-ups off)
    base_conf: Mapping[str, Any] = field(default_factory=dict)  # the live eni_conf
    node_crs: Optional[Mapping[str, Mapping[str, Any]]] = None  # node name -> Node CR; None: not read
    node_configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per-node config name -> eni_conf


def effective_conf(node: NodeInfo, inputs: CapacityInputs) -> tuple[dict[str, Any], Optional[str]]:
    """The node's eni_conf (base merged with its terway-config ConfigMap), and a note if that is missing."""
    conf = dict(inputs.base_conf or {})
    if inputs.min_pool_size and MIN_POOL_SIZE_KEY not in conf:
        conf[MIN_POOL_SIZE_KEY] = inputs.min_pool_size
    name = (node.metadata.get("labels") or {}).get(NODE_CONFIG_LABEL)
    if not name:
        return conf, None
    override = inputs.node_configs.get(name)
    if override is None:
        return conf, f"per-node config kube-system/{name} of {node.name} not read: base eni_conf used"
    return per_node.merge_patch(conf, override), None


def node_capacities(node: NodeInfo, inputs: CapacityInputs) -> per_node.NodeCapacity:
    conf, note = effective_conf(node, inputs)
    labels = dict(node.metadata.get("labels") or {})
    if inputs.exclusive_eni:  # the pre-1.11 exclusive DaemonSet: every node is exclusive
        labels[per_node.EXCLUSIVE_ENI_LABEL] = "eniOnly"
    quota = inputs.quotas.get(node.instance_type) if node.instance_type else None
    node_cr = (inputs.node_crs or {}).get(node.name)
    result = per_node.node_capacity(
        {"metadata": {**node.metadata, "name": node.name, "labels": labels}},
        conf, node_cr, quota.limits() if quota else None, node.zone, node.instance_type,
    )
    if note:
        result.unknown.append(note)
    return result


def zone_capacities(inputs: CapacityInputs) -> dict[str, ZoneCapacity]:
    """Per zone that has nodes or that the run adds a vSwitch to, sorted by zone."""
    zones = {n.zone for n in inputs.nodes or [] if n.zone} | set(inputs.created) | set(inputs.adopted)
    result = {}
    for zone in sorted(zones):
        capacity = ZoneCapacity(zone, min_pool_size=inputs.min_pool_size)
        _fill_nodes(capacity, inputs)
        _fill_ips(capacity, inputs)
        result[zone] = capacity
    return result


def _fill_nodes(capacity: ZoneCapacity, inputs: CapacityInputs) -> None:
    if inputs.nodes is None:
        capacity.nodes_known = False
        capacity.unknown.append(f"nodes: {inputs.nodes_unreadable or 'not read'}")
        return
    capacity.node_capacities = [node_capacities(n, inputs) for n in inputs.nodes if n.zone == capacity.zone]
    no_limits = [n for n in capacity.node_capacities if n.limits is None]
    for kind in sorted({n.instance_type or UNLABELLED for n in no_limits}):
        why = "node has no instance-type label" if kind == UNLABELLED else "getInstanceTypes gave no ENI quota"
        capacity.unknown.append(
            f"max pods per node of {kind}: no {per_node.INSTANCE_TYPE_INFO_ANNOTATION} annotation or Node CR nodeCap, "
            f"and {why}{_cloud_suffix(inputs)}"
        )
    no_state = [n.name for n in capacity.node_capacities if n.attached is None]
    if no_state:
        capacity.unknown.append(
            f"ENIs attached: no Node CR status for {len(no_state)} node(s) ({_names(no_state)}), so whether they "
            "can still attach an ENI is unknown"
        )
    capacity.unknown.extend(u for n in capacity.node_capacities for u in n.unknown if u.startswith("per-node config"))
    no_members = [n.name for n in capacity.node_capacities if n.member_enis is None and n.limits is not None]
    if no_members:
        capacity.unknown.append(
            f"trunk member ENIs: no {per_node.INSTANCE_TYPE_INFO_ANNOTATION} annotation or Node CR nodeCap for "
            f"{len(no_members)} trunk node(s) ({_names(no_members)}); the ECS look-up gives no EniTotalQuantity"
        )


def _names(names: Sequence[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _fill_ips(capacity: ZoneCapacity, inputs: CapacityInputs) -> None:
    zone = capacity.zone
    live = list(dict.fromkeys(inputs.listed.get(zone, [])))
    capacity.listed_vswitches = list(live)
    if live:
        capacity.available_ips = _sum_available(capacity, live, inputs, "available IPs")
    else:
        capacity.available_ips = None
        capacity.unknown.append("available IPs: eni_conf lists no vSwitch for the zone (Terway uses each node's primary ENI vSwitch)")
    added = 0
    if zone in inputs.created:
        added = usable_addresses(inputs.created[zone])
        capacity.new_cidrs.append(inputs.created[zone])
    adopted = inputs.adopted.get(zone)
    if adopted and adopted not in live:
        capacity.listed_vswitches.append(adopted)
        more = _sum_available(capacity, [adopted], inputs, "added IPs")
        added = None if more is None else added + more
    capacity.added_ips = added


def _sum_available(capacity: ZoneCapacity, ids: Sequence[str], inputs: CapacityInputs, what: str) -> Optional[int]:
    missing = [i for i in ids if (inputs.vswitch_facts.get(i) or VSwitchFacts(i)).available_ips is None]
    if missing:
        capacity.unknown.append(f"{what}: free IPs of {', '.join(missing)} unknown{_cloud_suffix(inputs)}")
        return None
    return sum(inputs.vswitch_facts[i].available_ips for i in ids)


def _cloud_suffix(inputs: CapacityInputs) -> str:
    return f" ({inputs.cloud_note})" if inputs.cloud_note else ""


def capacity_warnings(capacities: Mapping[str, "ZoneCapacity | ZoneFigures"]) -> list[str]:
    """Thin headroom, nodes a new vSwitch cannot help, and zones with nodes that eni_conf will not list."""
    warnings = []
    for zone, capacity in capacities.items():
        if capacity.nodes and not (capacity.listed_vswitches or capacity.new_cidrs):
            warnings.append(
                f"pod IPs in {zone}: {capacity.nodes} nodes but eni_conf lists no vSwitch for the zone, so Terway "
                "takes pod IPs from each node's primary ENI vSwitch; add the zone under terway:podVSwitches.zones"
            )
        if capacity.nodes_at_eni_limit and (capacity.added_ips or capacity.added_ips is None):
            warnings.append(
                f"pod IPs in {zone}: {capacity.nodes_at_eni_limit} of {capacity.nodes} nodes are at their ENI limit "
                "and gain nothing from a new vSwitch (it serves new ENIs only): they need new nodes"
            )
        headroom = capacity.usable_headroom_ips
        if capacity.nodes and headroom is not None and headroom < capacity.growth_warm_ips:
            growth = growth_nodes(capacity.nodes)
            warnings.append(
                f"pod IPs in {zone}: usable headroom after this run is {headroom} IPs, below the warm pool of 10% more "
                f"nodes ({growth} x min_pool_size {capacity.min_pool_size} = {capacity.growth_warm_ips}); add a pod "
                f"vSwitch (terway:podVSwitches.zones.{zone}.cidr) or nodes"
            )
    return warnings


def _shown(value: Optional[int]) -> str:
    return "?" if value is None else str(value)


def summary_line(capacity: ZoneCapacity) -> str:
    """One line per zone for the preview log."""
    types = ", ".join(f"{count} {kind}" for kind, count in capacity.nodes_by_type.items()) or "no nodes"
    modes = ", ".join(f"{count} {mode}" for mode, count in capacity.nodes_by_mode.items() if count) or "-"
    pods = ", ".join(f"{kind} {_shown(n)}" for kind, n in capacity.max_pods_by_kind.items())
    line = (
        f"pod IPs in {capacity.zone}: {types}; modes {modes}; max pods/node {pods or '-'}; "
        f"can attach an ENI {_shown(capacity.nodes_can_attach_eni)}, at ENI limit (needs new nodes) "
        f"{_shown(capacity.nodes_at_eni_limit)}; available {_shown(capacity.available_ips)} + added "
        f"{_shown(capacity.added_ips)} (usable by nodes that can attach: {_shown(capacity.added_usable_ips)}); "
        f"usable headroom {_shown(capacity.usable_headroom_ips)}; warm (already out of available) {_shown(capacity.warm_ips)}; "
        f"worst case {_shown(capacity.worst_case_ips)}"
    )
    line += trunk_note(capacity.trunk_member_enis)
    return line + (f" (unknown: {'; '.join(capacity.unknown)})" if capacity.unknown else "")


def trunk_note(members: Optional[int]) -> str:
    """The trunk member ENIs, told apart from the shared-ENI figures (decide/node_capacity.py says why)."""
    if members == 0:
        return ""
    return (f"; trunk member ENIs {_shown(members)} (PodNetworking pods, one IP each from its vSwitchOptions, "
            "not counted in added usable)")


def no_snat_warnings(created_zones: Sequence[str], has_snat: bool) -> list[str]:
    """Zones that get a new vSwitch without an SNAT entry: their pods have no internet egress."""
    if has_snat:
        return []
    return [
        f"terway:podVSwitches.zones.{zone}: the new vSwitch gets no SNAT entry (no terway:podVSwitches.snat), so "
        "its pods have no internet egress unless the VPC has another route out"
        for zone in created_zones
    ]


def selection_policy_warning(conf: Mapping[str, Any]) -> Optional[str]:
    """Without vswitch_selection_policy Terway picks among a zone's vSwitches at random."""
    if conf.get(SELECTION_POLICY_KEY):
        return None
    return (
        "kube-system/eni-config:eni_conf.vswitch_selection_policy is absent: Terway then picks a zone's vSwitches "
        "at random, so a full vSwitch keeps being tried next to the new one; \"ordered\" (most free IPs first) is "
        "probably what you want (the stack does not set it: it owns only vswitches)"
    )
