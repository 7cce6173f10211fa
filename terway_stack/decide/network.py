"""Checks of the configured pod vSwitches against what the cloud already holds."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

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
    ipv6_cidr: Optional[str] = None  # None = unknown, "" = no IPv6


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


# --------------------------------------------------------------------------- egress: SNAT coverage and routing


@dataclass(frozen=True)
class SnatEntry:
    id: str
    source_cidr: str = ""  # "" when the entry names a vSwitch instead
    source_vswitch_id: str = ""
    snat_ip: str = ""


@dataclass(frozen=True)
class RouteEntry:
    destination: str
    next_hop_type: str = ""
    next_hop_id: str = ""


CONFIRM_EGRESS_KEY = key_path(["podVSwitches", "snat", "confirmEgressChange"])
DEFAULT_ROUTE = "0.0.0.0/0"


def snat_coverage_problems(pods: PodVSwitchSettings, entries: Sequence[SnatEntry]) -> list[Problem]:
    """A CIDR SNAT entry already covering a new vSwitch: our per-vSwitch entry would change its egress IP.

    Alibaba Cloud matches the vSwitch entry first, so pods in the new vSwitch would leave from
    `snatIps` instead of the IPs partners may have allow-listed. Confirmed by confirmEgressChange.
    """
    if pods.snat is None or pods.snat.confirm_egress_change:
        return []
    problems = []
    for zone, cidr in pods.created_zones.items():
        network = ipaddress.IPv4Network(cidr)
        for entry in entries:
            try:
                covers = bool(entry.source_cidr) and network.subnet_of(ipaddress.IPv4Network(entry.source_cidr, strict=False))
            except ValueError:
                continue
            if covers:
                problems.append(
                    Problem(
                        _zone_path(zone, "cidr"),
                        f"{cidr} is already covered by SNAT entry {entry.id} (source_cidr {entry.source_cidr}, egress "
                        f"IP {entry.snat_ip or 'unknown'}); the stack's per-vSwitch entry would change these pods' egress "
                        f"IP to {', '.join(str(ip) for ip in pods.snat.snat_ips)}, which breaks allow-lists that name the "
                        f"old one. Set {CONFIRM_EGRESS_KEY} true to go ahead, or drop terway:podVSwitches.snat to keep "
                        "the existing entry",
                    )
                )
    return problems


def default_route_problems(
    pods: PodVSwitchSettings, gateway_id: str, route_table_id: str, routes: Sequence[RouteEntry]
) -> list[Problem]:
    """The route table the new vSwitches use must send 0.0.0.0/0 to the NAT gateway of the SNAT entries."""
    if pods.snat is None or not pods.created_zones or not gateway_id or not route_table_id:
        return []
    default = [r for r in routes if r.destination == DEFAULT_ROUTE]
    if any(r.next_hop_id == gateway_id for r in default):
        return []
    now = ", ".join(f"{r.next_hop_type or 'next hop'} {r.next_hop_id}".strip() for r in default) or "no route"
    key = "natGatewayId" if pods.snat.nat_gateway_id else "snatTableId"
    return [
        Problem(
            key_path(["podVSwitches", "snat", key]),
            f"route table {route_table_id} (the one new vSwitches of the VPC use) sends {DEFAULT_ROUTE} to {now}, not to "
            f"NAT gateway {gateway_id}: the SNAT entries would give the new vSwitches no internet egress. Add the "
            "route first",
        )
    ]


# --------------------------------------------------------------------------- dual stack


IPV6_STACKS = ("dual", "ipv6")


def ipv6_needed(conf: Mapping[str, Any]) -> bool:
    """Terway asks for IPv6 on every new ENI when ip_stack is dual or ipv6 (types/daemon/config.go GetIPStack)."""
    return conf.get("ip_stack") in IPV6_STACKS


def ipv6_problems(
    conf: Mapping[str, Any],
    pods: PodVSwitchSettings,
    vpc_ipv6_cidr: Optional[str],
    adopted: Sequence[ExistingVSwitch],
) -> list[Problem]:
    """Under dual/ipv6 stack a new vSwitch needs IPv6 (so the VPC needs an IPv6 block) and an adopted one must have it.

    `vpc_ipv6_cidr` None = unknown (offline), "" = the VPC has none. Adopted vSwitches whose IPv6 is
    unknown (`ipv6_cidr` None) are skipped.
    """
    if not ipv6_needed(conf):
        return []
    stack = f"kube-system/eni-config:eni_conf.ip_stack is {conf.get('ip_stack')!r}"
    problems = []
    if pods.created_zones and vpc_ipv6_cidr == "":
        for zone in pods.created_zones:
            problems.append(
                Problem(
                    _zone_path(zone, "cidr"),
                    f"{stack}, so Terway asks for IPv6 on every new ENI, but VPC {pods.vpc_id} has no IPv6 CIDR block: "
                    "the new vSwitch could not have IPv6 and pods would stay stuck. Enable IPv6 on the VPC first",
                )
            )
    by_id = {v.id: v for v in adopted}
    for zone, vswitch_id in pods.adopted_zones.items():
        found = by_id.get(vswitch_id)
        if found is not None and found.ipv6_cidr == "":
            problems.append(
                Problem(
                    _zone_path(zone, "vswitchId"),
                    f"{stack}, so Terway asks for IPv6 on every new ENI, but {vswitch_id} has no IPv6 CIDR block: ECS "
                    "refuses such ENIs and pods would stay stuck. Enable IPv6 on the vSwitch first",
                )
            )
    return problems


def ipv6_block_masks(vpc_ipv6_cidr: str, used: Sequence[str], zones: Sequence[str]) -> dict[str, int]:
    """A free /64 of the VPC's IPv6 block per zone, as vpc.Switch's ipv6_cidr_block_mask (its index in the block)."""
    vpc = ipaddress.IPv6Network(vpc_ipv6_cidr)
    taken = set()
    for block in used:
        try:
            network = ipaddress.IPv6Network(block)
        except ValueError:
            continue
        if network.prefixlen == 64 and network.subnet_of(vpc):
            taken.add((int(network.network_address) - int(vpc.network_address)) >> 64)
    free = (i for i in range(2 ** (64 - vpc.prefixlen)) if i not in taken)
    return {zone: next(free) for zone in sorted(zones)}
