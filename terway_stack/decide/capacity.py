"""Pod-IP capacity per zone: how many pod IPs a zone has, how many Terway keeps warm, what is left.

Seed 003's pod density: a shared-ENI node (terway-eniip) holds (ENIs per instance - 1) x private IPs
per ENI pods, an exclusive-ENI node (terway-eni) ENIs - 1; the primary ENI carries the node itself.
Terway keeps `min_pool_size` IPs warm on every node, taken from the vSwitches of the node's zone.

Plain data in, plain data out: the figures come from live inputs (nodes, vSwitch free IPs, ENI quotas)
that the declare layer or the offline plan gather; whatever is missing is named, never invented.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from .facts import MIN_POOL_SIZE_KEY, SELECTION_POLICY_KEY, VIRTUAL_KUBELET_LABEL
from ..outputs_contract import ZoneCapacityOutput
from .sizing import usable_addresses

ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
# Configure.MinPoolSize is a plain Go int with no default in Terway: absent means 0.
TERWAY_DEFAULT_MIN_POOL_SIZE = 0
GROWTH = 0.10  # the headroom warning looks at the warm demand of this many more nodes


@dataclass(frozen=True)
class NodeInfo:
    name: str
    zone: Optional[str]
    instance_type: Optional[str]


@dataclass(frozen=True)
class EniQuota:
    """ENIs per instance (the primary one included) and private IPv4 addresses per ENI."""

    enis: int
    ips_per_eni: int


@dataclass(frozen=True)
class VSwitchFacts:
    """What the cloud says about one vSwitch; None fields are unknown (offline)."""

    id: str
    zone: Optional[str] = None
    available_ips: Optional[int] = None
    vpc_id: Optional[str] = None


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
        nodes.append(NodeInfo(str(metadata.get("name") or "?"), zone, instance_type))
    return nodes


def max_pods_per_node(quota: EniQuota, exclusive_eni: bool) -> int:
    """Seed 003: the primary ENI serves the node, every other ENI serves pods."""
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


@dataclass
class ZoneCapacity:
    zone: str
    nodes_by_type: dict[str, int] = field(default_factory=dict)  # "(unlabelled)" for nodes without a type
    max_pods_by_type: dict[str, Optional[int]] = field(default_factory=dict)
    min_pool_size: int = TERWAY_DEFAULT_MIN_POOL_SIZE
    listed_vswitches: list[str] = field(default_factory=list)  # ids in eni_conf after the run
    new_cidrs: list[str] = field(default_factory=list)  # vSwitches the run creates (ids known after apply)
    available_ips: Optional[int] = 0  # free now in the vSwitches already listed
    added_ips: Optional[int] = 0  # usable IPs the run adds (new vSwitches, adopted ones not yet listed)
    unknown: list[str] = field(default_factory=list)  # what could not be computed, and why
    nodes_known: bool = True

    @property
    def nodes(self) -> Optional[int]:
        return sum(self.nodes_by_type.values()) if self.nodes_known else None

    @property
    def warm_ips(self) -> Optional[int]:
        return None if self.nodes is None else self.nodes * self.min_pool_size

    @property
    def total_ips(self) -> Optional[int]:
        if self.available_ips is None or self.added_ips is None:
            return None
        return self.available_ips + self.added_ips

    @property
    def headroom(self) -> Optional[int]:
        if self.total_ips is None or self.warm_ips is None:
            return None
        return self.total_ips - self.warm_ips

    @property
    def worst_case_ips(self) -> Optional[int]:
        """Every node full of pods: nodes x max pods per node."""
        if not self.nodes_known or any(self.max_pods_by_type.get(t) is None for t in self.nodes_by_type):
            return None
        return sum(count * self.max_pods_by_type[t] for t, count in self.nodes_by_type.items())

    @property
    def growth_warm_ips(self) -> int:
        return growth_nodes(self.nodes or 0) * self.min_pool_size

    def as_output(self) -> dict[str, Any]:
        """The stack output's per-zone object, through the outputs contract's model (its field names and types)."""
        return ZoneCapacityOutput.of(
            nodes=self.nodes,
            nodes_by_instance_type=dict(sorted(self.nodes_by_type.items())),
            max_pods_per_node=dict(sorted(self.max_pods_by_type.items())),
            min_pool_size=self.min_pool_size,
            warm_ips=self.warm_ips,
            vswitches=list(self.listed_vswitches),
            new_vswitch_cidrs=list(self.new_cidrs),
            available_ips=self.available_ips,
            added_ips=self.added_ips,
            headroom=self.headroom,
            worst_case_ips=self.worst_case_ips,
            unknown=list(self.unknown),
        ).as_output()


UNLABELLED = "(unlabelled)"


@dataclass(frozen=True)
class CapacityInputs:
    """Everything the figures depend on; None for a live input that could not be read."""

    nodes: Optional[Sequence[NodeInfo]]
    listed: Mapping[str, Sequence[str]]  # live eni_conf vswitches: zone -> ids
    created: Mapping[str, str]  # zone -> CIDR of vSwitches this run creates
    adopted: Mapping[str, str]  # zone -> id of vSwitches this run wires in
    vswitch_facts: Mapping[str, VSwitchFacts]  # id -> facts; absent id = unknown
    quotas: Mapping[str, Optional[EniQuota]]  # instance type -> quota; None or absent = unknown
    min_pool_size: int = TERWAY_DEFAULT_MIN_POOL_SIZE
    exclusive_eni: bool = False
    nodes_unreadable: str = ""  # why nodes is None
    cloud_note: str = ""  # why cloud figures are missing (e.g. look-ups off)


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
    for node in inputs.nodes:
        if node.zone == capacity.zone:
            kind = node.instance_type or UNLABELLED
            capacity.nodes_by_type[kind] = capacity.nodes_by_type.get(kind, 0) + 1
    for kind in sorted(capacity.nodes_by_type):
        quota = inputs.quotas.get(kind) if kind != UNLABELLED else None
        capacity.max_pods_by_type[kind] = max_pods_per_node(quota, inputs.exclusive_eni) if quota else None
        if quota is None:
            why = "node has no instance-type label" if kind == UNLABELLED else "getInstanceTypes gave no ENI quota"
            capacity.unknown.append(f"max pods per node of {kind}: {why}{_cloud_suffix(inputs)}")


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


def capacity_warnings(capacities: Mapping[str, ZoneCapacity]) -> list[str]:
    """Thin headroom, and zones with nodes that eni_conf will not list."""
    warnings = []
    for zone, capacity in capacities.items():
        if capacity.nodes and not (capacity.listed_vswitches or capacity.new_cidrs):
            warnings.append(
                f"pod IPs in {zone}: {capacity.nodes} nodes but eni_conf lists no vSwitch for the zone, so Terway "
                "takes pod IPs from each node's primary ENI vSwitch; add the zone under terway:podVSwitches.zones"
            )
        headroom = capacity.headroom
        if capacity.nodes and headroom is not None and headroom < capacity.growth_warm_ips:
            growth = growth_nodes(capacity.nodes)
            warnings.append(
                f"pod IPs in {zone}: headroom after this run is {headroom} IPs, below the warm pool of 10% more "
                f"nodes ({growth} x min_pool_size {capacity.min_pool_size} = {capacity.growth_warm_ips}); add a pod "
                f"vSwitch (terway:podVSwitches.zones.{zone}.cidr)"
            )
    return warnings


def summary_line(capacity: ZoneCapacity) -> str:
    """One line per zone for the preview log."""
    types = ", ".join(f"{count} {kind}" for kind, count in sorted(capacity.nodes_by_type.items())) or "no nodes"
    pods = ", ".join(f"{kind} {'?' if n is None else n}" for kind, n in sorted(capacity.max_pods_by_type.items()))

    def shown(value: Optional[int]) -> str:
        return "?" if value is None else str(value)

    line = (
        f"pod IPs in {capacity.zone}: {types}; max pods/node {pods or '-'}; warm {capacity.warm_ips} "
        f"(min_pool_size {capacity.min_pool_size}); available {shown(capacity.available_ips)} + added "
        f"{shown(capacity.added_ips)}; headroom {shown(capacity.headroom)}; worst case {shown(capacity.worst_case_ips)}"
    )
    return line + (f" (unknown: {'; '.join(capacity.unknown)})" if capacity.unknown else "")


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
