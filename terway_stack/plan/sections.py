"""The offline plan's sections: each holds plain data and renders itself as JSON, text and Markdown.

Rendering lives next to the data, so the three forms of one section cannot drift apart. The terminal
table aligns columns with `aligned`, the one column aligner of the plan.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence

from ..decide.capacity import trunk_note
from ..decide.facts import ENI_CONFIG
from ..outputs_contract import ZoneCapacityOutput
from ..policies.model import MANDATORY
from . import markdown as md


def _quoted(value: Optional[str]) -> str:
    return "(absent)" if value is None else json.dumps(value)


def _json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# --- plain-text layout ------------------------------------------------------------------------------------


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines of left-aligned columns two spaces apart, indented like the rest of the section."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def table(title: str, header: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return f"{title}\n  (none)"
    return "\n".join([title, *aligned([header, *(tuple(map(str, row)) for row in rows)])])


def _list(title: str, items: Sequence[str]) -> str:
    return f"{title}\n" + ("\n".join(f"  - {i}" for i in items) if items else "  (none)")



# --- sections -------------------------------------------------------------------------------------------


class Section:
    """One part of the plan. `json_key` names it in the JSON document."""

    json_key: ClassVar[str]
    title: ClassVar[str]

    def json(self) -> Any:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def markdown(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class TyphaSizing:
    replicas: int
    how: str  # "computed" or "override"
    minimum: int
    image: str


@dataclass(frozen=True)
class NewVSwitch:
    zone: str
    cidr: str
    usable_ips: Optional[int]


@dataclass(frozen=True)
class SizingSection(Section):
    cluster: str
    kubernetes_version: str
    node_count: int
    network_policy: str
    typha: Optional[TyphaSizing]
    pod_vswitches_managed: bool
    new_vswitches: tuple[NewVSwitch, ...] = ()
    adopted_vswitches: tuple[tuple[str, str], ...] = ()  # (zone, vSwitch id)
    json_key: ClassVar[str] = "sizing"
    title: ClassVar[str] = "Sizing and capacity"

    @property
    def total_new_pod_ips(self) -> int:
        return sum(v.usable_ips or 0 for v in self.new_vswitches)

    def json(self) -> dict[str, Any]:
        return {
            "cluster": {"name": self.cluster, "kubernetesVersion": self.kubernetes_version, "nodeCount": self.node_count},
            "networkPolicy": self.network_policy,
            "typha": None
            if self.typha is None
            else {"replicas": self.typha.replicas, "how": self.typha.how, "minimum": self.typha.minimum, "image": self.typha.image},
            "podVSwitches": None
            if not self.pod_vswitches_managed
            else {
                "created": {v.zone: {"cidr": v.cidr, "usableIps": v.usable_ips} for v in self.new_vswitches},
                "adopted": dict(self.adopted_vswitches),
                "totalNewPodIps": self.total_new_pod_ips,
            },
        }

    def _lines(self, value: Callable[[Any], str] = str) -> list[str]:
        """The sizing in words; `value` formats each value that comes from the stack file."""
        lines = [
            f"Cluster {value(self.cluster)}: Kubernetes {value(self.kubernetes_version)}, {self.node_count} Linux nodes"
        ]
        if self.typha is not None:
            t = self.typha
            lines.append(
                f"Typha: {t.replicas} replicas ({t.how}; minimum {t.minimum} = max(3, ceil(nodes/200)), at most 20,"
                f" fewer than nodes), image {value(t.image)}"
            )
        else:
            lines.append(f"Network policy mode {value(self.network_policy)}: no Typha")
        for v in self.new_vswitches:
            usable = "?" if v.usable_ips is None else v.usable_ips
            lines.append(f"New pod vSwitch {value(v.zone)}: {value(v.cidr)}, {usable} usable pod IPs")
        for zone, vswitch_id in self.adopted_vswitches:
            lines.append(f"Adopted pod vSwitch {value(zone)}: {value(vswitch_id)} (wired into eni-config, not created)")
        if self.pod_vswitches_managed:
            lines.append(f"Total new pod IPs: {self.total_new_pod_ips}")
        return lines

    def text(self) -> str:
        return self.title + "\n" + "\n".join(f"  {line}" for line in self._lines())

    def markdown(self) -> str:
        return md.section("Typha sizing and pod IP capacity", md.bullets(self._lines(lambda v: md.code(str(v)))))


@dataclass(frozen=True)
class CapacitySection(Section):
    """Pod-IP capacity per zone: the `podIpCapacity` output, read through the outputs contract's model."""

    zones: dict[str, Any]
    json_key: ClassVar[str] = "capacity"
    title: ClassVar[str] = (
        "Pod IP capacity per zone (usable headroom = available + added usable; added usable = the added IPs that nodes"
        " still able to attach an ENI can take; warm IPs are already out of available; worst case = sum of max pods)"
    )
    COLUMNS: ClassVar[tuple[str, ...]] = (
        "ZONE", "NODES", "MAX PODS/NODE", "CAN ATTACH ENI", "AT ENI LIMIT", "AVAILABLE", "ADDED", "ADDED USABLE",
        "USABLE HEADROOM", "WARM", "WORST CASE",
    )
    NO_ZONE: ClassVar[str] = "no zone: no nodes were read and the stack adds no pod vSwitch"

    def json(self) -> dict[str, Any]:
        return dict(self.zones)

    def _rows(self) -> list[tuple[str, ...]]:
        return [_zone_row(zone, ZoneCapacityOutput.read(figures)) for zone, figures in self.zones.items()]

    def _notes(self) -> list[tuple[str, str]]:
        return [(zone, note) for zone, figures in self.zones.items() for note in ZoneCapacityOutput.read(figures).unknown]

    def text(self) -> str:
        if not self.zones:
            return f"{self.title}\n  ({self.NO_ZONE})"
        lines = aligned([self.COLUMNS, *self._rows()])
        lines += [f"  {zone}: {note}" for zone, note in _trunk_notes(self.zones)]
        lines += [f"  {zone}: not computed: {note}" for zone, note in self._notes()]
        return "\n".join([self.title, *lines])

    def markdown(self) -> str:
        if not self.zones:
            return md.section("Pod IP capacity per zone", md.text(self.NO_ZONE.capitalize() + "."))
        rows = [tuple(md.code(cell, cell=True) if i == 0 else md.text(cell) for i, cell in enumerate(row)) for row in self._rows()]
        notes = [f"{md.code(zone)}: {md.text(note)}" for zone, note in _trunk_notes(self.zones)]
        notes += [f"{md.code(zone)}: not computed: {md.text(note)}" for zone, note in self._notes()]
        return md.section(
            "Pod IP capacity per zone",
            md.text(
                "Usable headroom = available + added usable (the added IPs that nodes still able to attach an ENI can"
                " take); warm IPs are already out of available; worst case = sum of max pods. Nodes at their ENI limit"
                " need new nodes: a new vSwitch serves new ENIs only."
            ),
            md.table(tuple(c.lower() for c in self.COLUMNS), rows),
            md.bullets(notes),
        )


def _shown(value: Optional[float]) -> str:
    return "?" if value is None else str(value)


def _trunk_notes(zones: dict[str, Any]) -> list[tuple[str, str]]:
    return [(zone, trunk_note(read.trunk_member_enis)[2:]) for zone, read in
            ((zone, ZoneCapacityOutput.read(figures)) for zone, figures in zones.items()) if read.trunk_member_enis != 0]


def _zone_row(zone: str, figures: ZoneCapacityOutput) -> tuple[str, ...]:
    by_mode = {mode: n for mode, n in figures.nodes_by_mode.items() if n}
    nodes = _shown(figures.nodes) + (" (" + ", ".join(f"{count} {mode}" for mode, count in by_mode.items()) + ")" if by_mode else "")
    max_pods = ", ".join(f"{kind} {_shown(n)}" for kind, n in figures.max_pods_per_node.items()) or "-"
    at_limit = _shown(figures.nodes_at_eni_limit) + (" (needs new nodes)" if figures.nodes_at_eni_limit else "")
    warm = f"{_shown(figures.warm_ips)} (min_pool_size {figures.min_pool_size})"
    return (
        zone, nodes, max_pods, _shown(figures.nodes_can_attach_eni), at_limit, _shown(figures.available_ips),
        _shown(figures.added_ips), _shown(figures.added_usable_ips), _shown(figures.usable_headroom_ips), warm,
        _shown(figures.worst_case_ips),
    )


@dataclass(frozen=True)
class KeyChange:
    key: str
    before: Optional[str]
    after: Optional[str]

    @property
    def changes(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class EniConfigSection(Section):
    keys: tuple[KeyChange, ...]
    eni_conf_managed: bool
    eni_conf_diff: tuple[str, ...]
    restart_daemon_sets: tuple[str, ...]
    restart_timeout_seconds: int
    json_key: ClassVar[str] = "eniConfig"
    title: ClassVar[str] = f"{ENI_CONFIG} (keys this stack manages; all other keys are left to their owners)"

    def json(self) -> dict[str, Any]:
        return {
            "keys": [{"key": k.key, "before": k.before, "after": k.after, "changes": k.changes} for k in self.keys],
            "eniConfManaged": self.eni_conf_managed,
            "eniConfDiff": list(self.eni_conf_diff),
            "restart": {"daemonSets": list(self.restart_daemon_sets), "timeoutSeconds": self.restart_timeout_seconds},
        }

    def _eni_conf_note(self) -> Optional[str]:
        if not self.eni_conf_managed:
            return "eni_conf: not managed (no terway:podVSwitches)"
        if not self.eni_conf_diff:
            return "eni_conf: unchanged (every pod vSwitch is already listed)"
        return None

    def _restart_line(self) -> str:
        return (
            f"Then: rolling restart of {', '.join(self.restart_daemon_sets)} (kubectl rollout restart; within the"
            f" DaemonSet's maxUnavailable, timeout {self.restart_timeout_seconds}s), only if these values change"
        )

    def text(self) -> str:
        lines = [
            f"{k.key}: {_quoted(k.before)} -> {_quoted(k.after)} ({'changes' if k.changes else 'unchanged'})" for k in self.keys
        ]
        lines.append(self._eni_conf_note() or "\n".join(self.eni_conf_diff))
        lines.append(self._restart_line())
        return self.title + "\n" + "\n".join("  " + line for block in lines for line in block.split("\n"))

    def markdown(self) -> str:
        rows = [
            (md.code(k.key, cell=True), md.code(_quoted(k.before), cell=True), md.code(_quoted(k.after), cell=True), "**changes**" if k.changes else "unchanged")
            for k in self.keys
        ]
        parts = [md.table(("key", "live", "planned", ""), rows)]
        note = self._eni_conf_note()
        parts.append(md.text(note) if note else md.fenced("\n".join(self.eni_conf_diff), "diff"))
        parts.append(md.text(self._restart_line()))
        return md.section(ENI_CONFIG, md.text("Keys this stack manages; all other keys are left to their owners."), *parts)


@dataclass(frozen=True)
class _LinesSection(Section):
    """A section that is a list of one-line messages."""

    items: tuple[str, ...]

    def json(self) -> list[str]:
        return list(self.items)

    def text(self) -> str:
        return _list(self.title, self.items)

    def _markdown(self, heading: str) -> str:
        return md.section(heading, md.bullets(md.text(i) for i in self.items) or "None.")


@dataclass(frozen=True)
class WarningsSection(_LinesSection):
    json_key: ClassVar[str] = "warnings"
    title: ClassVar[str] = "Warnings"

    def markdown(self) -> str:
        return self._markdown(f"{self.title} ({len(self.items)})")


@dataclass(frozen=True)
class ChecksNotRunSection(_LinesSection):
    """Preflight checks that need the cluster (decide/preflight.py); the plan ran the others."""

    json_key: ClassVar[str] = "checksNotRun"
    title: ClassVar[str] = "Live checks not run offline (pulumi preview runs them before any write)"

    def markdown(self) -> str:
        return self._markdown(self.title)


@dataclass(frozen=True)
class ViolationsSection(Section):
    items: tuple[dict[str, Any], ...]
    json_key: ClassVar[str] = "violations"
    title: ClassVar[str] = "Policy violations"

    @property
    def mandatory(self) -> int:
        return sum(1 for v in self.items if v["enforcement"] == MANDATORY)

    def json(self) -> list[dict[str, Any]]:
        return list(self.items)

    def text(self) -> str:
        return _list(
            self.title,
            [f"[{v['enforcement']}] {v['policy']}: {v['message']}" + (f" ({v['resource']})" if v.get("resource") else "") for v in self.items],
        )

    def markdown(self) -> str:
        def line(v: Mapping[str, Any]) -> str:
            where = f" ({md.code(v['resource'])})" if v.get("resource") else ""
            level = md.text(str(v["enforcement"]))
            level = f"**{level}**" if v["enforcement"] == MANDATORY else level
            return f"{level} {md.code(v['policy'])}: {md.text(str(v['message']))}{where}"

        return md.section(f"{self.title} ({len(self.items)})", md.bullets(line(v) for v in self.items) or "None.")


@dataclass(frozen=True)
class OutputsSection(Section):
    values: dict[str, Any]
    json_key: ClassVar[str] = "outputs"
    title: ClassVar[str] = "Stack outputs"

    def json(self) -> dict[str, Any]:
        return self.values

    def text(self) -> str:
        return table(self.title, ("NAME", "VALUE"), [(k, _json_value(v)) for k, v in self.values.items()])

    def markdown(self) -> str:
        rows = [(md.code(k, cell=True), md.code(_json_value(v), cell=True)) for k, v in self.values.items()]
        return md.section(self.title, md.table(("output", "value"), rows))
