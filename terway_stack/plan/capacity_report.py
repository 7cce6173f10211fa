"""The offline plan's pod-IP capacity section: the `podIpCapacity` output as a table and as JSON."""
from __future__ import annotations

from typing import Any, Mapping, Optional

OUTPUT = "podIpCapacity"
COLUMNS = ("ZONE", "NODES", "MAX PODS/NODE", "WARM", "AVAILABLE", "ADDED", "HEADROOM", "WORST CASE")


def capacity_json(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """zone -> figures, as the stack output holds them (null where unknown, with `unknown` saying why)."""
    return dict(outputs.get(OUTPUT) or {})


def _shown(value: Optional[int]) -> str:
    return "?" if value is None else str(value)


def zone_row(zone: str, figures: Mapping[str, Any]) -> tuple[str, ...]:
    by_type = figures.get("nodesByInstanceType") or {}
    nodes = _shown(figures.get("nodes")) + (
        " (" + ", ".join(f"{count} {kind}" for kind, count in by_type.items()) + ")" if by_type else ""
    )
    max_pods = ", ".join(f"{kind} {_shown(n)}" for kind, n in (figures.get("maxPodsPerNode") or {}).items()) or "-"
    warm = f"{_shown(figures.get('warmIps'))} (min_pool_size {figures.get('minPoolSize')})"
    return (
        zone, nodes, max_pods, warm, _shown(figures.get("availableIps")), _shown(figures.get("addedIps")),
        _shown(figures.get("headroom")), _shown(figures.get("worstCaseIps")),
    )


TITLE = "Pod IP capacity per zone (headroom = available + added - warm; worst case = nodes x max pods per node)"
NO_ZONE = "no zone: no nodes were read and the stack adds no pod vSwitch"


def capacity_section(outputs: Mapping[str, Any]) -> str:
    zones = capacity_json(outputs)
    title = TITLE
    if not zones:
        return f"{title}\n  ({NO_ZONE})"
    rows = [COLUMNS, *(zone_row(zone, figures) for zone, figures in zones.items())]
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
    lines = ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    for zone, figures in zones.items():
        lines.extend(f"  {zone}: not computed: {note}" for note in figures.get("unknown") or [])
    return "\n".join([title, *lines])
