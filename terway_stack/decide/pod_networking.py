"""PodNetworkings (trunk ENI) that will not see a new pod vSwitch.

terway-controlplane's webhook copies eni-config's vSwitch ids into a PodNetworking's
`spec.vSwitchOptions` once, when it is created (pkg/controller/webhook/mutating.go); pods selected by
it take their IPs from those vSwitches only. A PodNetworking whose options cover a zone the stack
extends but lack the new id never uses the new vSwitch. Which zones it covers: `status.vSwitches`
(id and zone, filled by the controlplane), and the zones eni_conf lists its ids under.

Plain data in, plain data out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

PLURAL = "podnetworkings"  # of facts.TERWAY_CRD_GROUP / TERWAY_CRD_VERSION


@dataclass(frozen=True)
class StalePodNetworking:
    name: str
    zone: str
    missing: tuple[str, ...]  # ids of the zone's new vSwitches it lacks (a pending id for one not created yet)


def _options(pod_networking: Mapping[str, Any]) -> list[str]:
    options = ((pod_networking.get("spec") or {}).get("vSwitchOptions")) or []
    return [str(o) for o in options if isinstance(o, str)]


def covered_zones(pod_networking: Mapping[str, Any], zone_of_id: Mapping[str, str]) -> set[str]:
    options = set(_options(pod_networking))
    zones = {zone_of_id[o] for o in options if o in zone_of_id}
    for entry in ((pod_networking.get("status") or {}).get("vSwitches")) or []:
        if isinstance(entry, Mapping) and entry.get("id") in options and entry.get("zone"):
            zones.add(str(entry["zone"]))
    return zones


def zone_of_ids(listed: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """id -> zone, from eni_conf's vswitches."""
    return {vswitch_id: zone for zone, ids in (listed or {}).items() for vswitch_id in ids or []}


def stale_pod_networkings(
    pod_networkings: Sequence[Mapping[str, Any]],
    zone_of_id: Mapping[str, str],
    wanted: Mapping[str, Sequence[str]],
) -> list[StalePodNetworking]:
    """Each (PodNetworking, zone) where the PodNetworking covers a zone of `wanted` without all its ids.

    `zone_of_id`: the zone of each known vSwitch id (zone_of_ids of eni_conf's vswitches).
    """
    stale = []
    for pod_networking in sorted(pod_networkings, key=lambda p: str((p.get("metadata") or {}).get("name"))):
        name = str((pod_networking.get("metadata") or {}).get("name"))
        options, zones = set(_options(pod_networking)), covered_zones(pod_networking, zone_of_id)
        for zone in sorted(set(wanted) & zones):
            missing = tuple(i for i in wanted[zone] if i not in options)
            if missing:
                stale.append(StalePodNetworking(name, zone, missing))
    return stale


def stale_warning(stale: StalePodNetworking, opt_in_key: str) -> str:
    return (
        f"PodNetworking {stale.name} covers {stale.zone} but its spec.vSwitchOptions lacks {', '.join(stale.missing)}: "
        "terway-controlplane copied eni-config's vSwitches into it once, at creation, so the pods it selects never "
        f"use the new vSwitch. Set {opt_in_key} true to add the id, or add it by hand"
    )


def options_after(options: Sequence[str], additions: Sequence[str]) -> list[str]:
    """Existing ids first and in their order, then the additions not already there."""
    result = list(options)
    result.extend(i for i in dict.fromkeys(additions) if i not in result)
    return result
