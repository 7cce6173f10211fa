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
    vpc_id: str = ""  # "" = unknown (the offline plan's placeholder answers)
    available_ips: Optional[int] = None


@dataclass(frozen=True)
class NatGateway:
    id: str
    vpc_id: str  # "" = unknown
    snat_table_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Eip:
    ip: str
    instance_id: str  # what the EIP is bound to; "" = nothing
    instance_type: str = ""  # e.g. Nat, EcsInstance
    status: str = ""  # InUse / Available; "" = unknown (offline)


def _zone_path(zone: str, leaf: str) -> str:
    return key_path(["podVSwitches", "zones", zone, leaf])


def pod_vswitch_name(cluster: str, zone: str) -> str:
    """The name the stack gives the pod vSwitch it creates in a zone."""
    return f"{cluster}-terway-pods-{zone}"


def _is_own(other: ExistingVSwitch, cluster: str, zone: str, cidr: str) -> bool:
    # The vSwitch an earlier run of this stack created for this zone: every later run finds it in the VPC.
    return bool(cluster) and (other.zone, other.cidr, other.name) == (zone, cidr, pod_vswitch_name(cluster, zone))


def cloud_problems(
    pods: PodVSwitchSettings,
    vpc_cidr: Optional[str],
    existing: Sequence[ExistingVSwitch],
    check_adopted: bool = True,
    cluster: str = "",
) -> list[Problem]:
    """New CIDRs must lie in the VPC and overlap no vSwitch but the stack's own; adopted ids must exist in their zone.

    `vpc_cidr` None or "" means the VPC could not be read (offline): the containment check is skipped.
    """
    problems = []
    vpc = ipaddress.IPv4Network(vpc_cidr) if vpc_cidr else None
    for zone, cidr in pods.created_zones.items():
        network = ipaddress.IPv4Network(cidr)
        if vpc is not None and not network.subnet_of(vpc):
            problems.append(Problem(_zone_path(zone, "cidr"), f"{cidr} is outside the VPC's CIDR {vpc}"))
        for other in existing:
            if _is_own(other, cluster, zone, str(network)):
                continue
            if network.overlaps(ipaddress.IPv4Network(other.cidr)):
                label = f"{other.id} ({other.name})" if other.name else other.id
                problems.append(
                    Problem(_zone_path(zone, "cidr"), f"{cidr} overlaps existing vSwitch {label} {other.cidr}")
                )
    if vpc is not None and check_adopted:
        by_id = {v.id: v for v in existing}
        for zone, vswitch_id in pods.adopted_zones.items():
            found = by_id.get(vswitch_id)
            if found is None:
                problems.append(Problem(_zone_path(zone, "vswitchId"), f"{vswitch_id} is not a vSwitch of {pods.vpc_id}"))
            elif found.zone != zone:
                problems.append(Problem(_zone_path(zone, "vswitchId"), f"{vswitch_id} is in zone {found.zone}, not {zone}"))
    return problems


def adopted_problems(pods: PodVSwitchSettings, found: Sequence[ExistingVSwitch]) -> list[Problem]:
    """Each adopted vswitchId, looked up by id: it exists, in its zone, and in vpcId when that is set."""
    by_id = {v.id: v for v in found}
    problems = []
    for zone, vswitch_id in pods.adopted_zones.items():
        vswitch = by_id.get(vswitch_id)
        if vswitch is None:
            problems.append(Problem(_zone_path(zone, "vswitchId"), f"{vswitch_id} does not exist in this region"))
        elif vswitch.zone and vswitch.zone != zone:
            problems.append(Problem(_zone_path(zone, "vswitchId"), f"{vswitch_id} is in zone {vswitch.zone}, not {zone}"))
        elif pods.vpc_id and vswitch.vpc_id and vswitch.vpc_id != pods.vpc_id:
            problems.append(
                Problem(_zone_path(zone, "vswitchId"), f"{vswitch_id} is in {vswitch.vpc_id}, not vpcId {pods.vpc_id}")
            )
    return problems


def nat_gateway_problems(pods: PodVSwitchSettings, gateway: Optional[NatGateway]) -> list[Problem]:
    """The NAT gateway (named, or owning the SNAT table) exists and is in the pods' VPC."""
    snat = pods.snat
    key = "natGatewayId" if snat.nat_gateway_id else "snatTableId"
    path = key_path(["podVSwitches", "snat", key])
    if gateway is None:
        if snat.nat_gateway_id:
            return [Problem(path, f"{snat.nat_gateway_id} does not exist in this region")]
        where = f"in {pods.vpc_id}" if pods.vpc_id else "in this region"
        return [Problem(path, f"{snat.snat_table_id} is not the SNAT table of any NAT gateway {where}")]
    if pods.vpc_id and gateway.vpc_id and gateway.vpc_id != pods.vpc_id:
        return [Problem(path, f"NAT gateway {gateway.id} is in {gateway.vpc_id}, not vpcId {pods.vpc_id}")]
    return []


def eip_problems(pods: PodVSwitchSettings, gateway: NatGateway, eips: Sequence[Eip]) -> list[Problem]:
    """Each snatIps entry is an EIP of this account bound to the NAT gateway."""
    by_ip = {e.ip: e for e in eips}
    problems = []
    for index, address in enumerate(pods.snat.snat_ips):
        path = key_path(["podVSwitches", "snat", f"snatIps[{index}]"])
        eip = by_ip.get(str(address))
        if eip is None:
            problems.append(Problem(path, f"{address} is not an EIP of this account in this region"))
        elif not eip.status:
            continue  # unknown offline
        elif not eip.instance_id:
            problems.append(Problem(path, f"{address} is not bound to anything; bind it to NAT gateway {gateway.id} first"))
        elif eip.instance_id != gateway.id:
            bound = f"{eip.instance_type} {eip.instance_id}".strip()
            problems.append(Problem(path, f"{address} is bound to {bound}, not to NAT gateway {gateway.id}"))
    return problems
