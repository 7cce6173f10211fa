"""The offline plan's pod-IP capacity section: the `podIpCapacity` output as a table and as JSON."""
from __future__ import annotations

from typing import Any, Mapping, Optional

OUTPUT = "podIpCapacity"
COLUMNS = (
    "ZONE", "NODES", "MAX PODS/NODE", "CAN ATTACH ENI", "AT ENI LIMIT", "AVAILABLE", "ADDED", "ADDED USABLE",
    "USABLE HEADROOM", "WARM", "WORST CASE",
)


def capacity_json(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """zone -> figures, as the stack output holds them (null where unknown, with `unknown` saying why)."""
    return dict(outputs.get(OUTPUT) or {})


def _shown(value: Optional[int]) -> str:
    return "?" if value is None else str(value)


def zone_row(zone: str, figures: Mapping[str, Any]) -> tuple[str, ...]:
    by_mode = {mode: n for mode, n in (figures.get("nodesByMode") or {}).items() if n}
    nodes = _shown(figures.get("nodes")) + (
        " (" + ", ".join(f"{count} {mode}" for mode, count in by_mode.items()) + ")" if by_mode else ""
    )
    max_pods = ", ".join(f"{kind} {_shown(n)}" for kind, n in (figures.get("maxPodsPerNode") or {}).items()) or "-"
    at_limit = _shown(figures.get("nodesAtEniLimit"))
    if figures.get("nodesAtEniLimit"):
        at_limit += " (needs new nodes)"
    warm = f"{_shown(figures.get('warmIps'))} (min_pool_size {figures.get('minPoolSize')})"
    return (
        zone, nodes, max_pods, _shown(figures.get("nodesCanAttachEni")), at_limit, _shown(figures.get("availableIps")),
        _shown(figures.get("addedIps")), _shown(figures.get("addedUsableIps")), _shown(figures.get("usableHeadroomIps")),
        warm, _shown(figures.get("worstCaseIps")),
    )


TITLE = (
    "Pod IP capacity per zone (usable headroom = available + added usable; added usable = the added IPs that nodes"
    " still able to attach an ENI can take; warm IPs are already out of available; worst case = sum of max pods)"
)
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
