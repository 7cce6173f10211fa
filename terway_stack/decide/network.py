"""Checks of the configured pod vSwitches against what the cloud already holds."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Sequence

from .problems import Problem, key_path
from .settings import PodVSwitchSettings


@dataclass(frozen=True)
class ExistingVSwitch:
    id: str
    cidr: str
    zone: str
    name: str = ""


def _zone_path(zone: str, leaf: str) -> str:
    return key_path(["podVSwitches", "zones", zone, leaf])


def cloud_problems(
    pods: PodVSwitchSettings, vpc_cidr: Optional[str], existing: Sequence[ExistingVSwitch]
) -> list[Problem]:
    """New CIDRs must lie in the VPC and overlap no vSwitch; adopted ids must exist in their zone.

    `vpc_cidr` None or "" means the VPC could not be read (offline): the containment check is skipped.
    """
    problems = []
    vpc = ipaddress.IPv4Network(vpc_cidr) if vpc_cidr else None
    for zone, cidr in pods.created_zones.items():
        network = ipaddress.IPv4Network(cidr)
        if vpc is not None and not network.subnet_of(vpc):
            problems.append(Problem(_zone_path(zone, "cidr"), f"{cidr} is outside the VPC's CIDR {vpc}"))
        for other in existing:
            if network.overlaps(ipaddress.IPv4Network(other.cidr)):
                label = f"{other.id} ({other.name})" if other.name else other.id
                problems.append(
                    Problem(_zone_path(zone, "cidr"), f"{cidr} overlaps existing vSwitch {label} {other.cidr}")
                )
    if vpc is not None:
        by_id = {v.id: v for v in existing}
        for zone, vswitch_id in pods.adopted_zones.items():
            found = by_id.get(vswitch_id)
            if found is None:
                problems.append(Problem(_zone_path(zone, "vswitchId"), f"{vswitch_id} is not a vSwitch of {pods.vpc_id}"))
            elif found.zone != zone:
                problems.append(Problem(_zone_path(zone, "vswitchId"), f"{vswitch_id} is in zone {found.zone}, not {zone}"))
    return problems
