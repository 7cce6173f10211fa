"""New pod vSwitches, one per zone, with internet egress through the NAT gateway."""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_alicloud as alicloud

from ..decide.network import (
    Eip,
    ExistingVSwitch,
    NatGateway,
    RouteEntry,
    SnatEntry,
    adopted_problems,
    cloud_problems,
    default_route_problems,
    eip_problems,
    nat_gateway_problems,
    pod_vswitch_name,
    snat_coverage_problems,
)
from ..decide.facts import CLUSTER_TAG_KEY, MANAGED_BY_TAG
from ..decide.problems import InputError, Problem, key_path
from ..decide.settings import PodVSwitchSettings, StackSettings
from ..decide.sizing import usable_addresses
from .cloud_reads import read
from .secrets import kept_component_outputs



def check_against_cloud(pods: PodVSwitchSettings, cluster: str = "") -> None:
    """Read the cloud before anything is declared; raise InputError naming each key that cannot work.

    Blocking invokes on purpose: a failure here must stop the run before any resource is registered.
    The offline plan's placeholder answers leave unknown fields empty; the checks then skip them.
    """
    problems = []
    route_table = ""
    if pods.vpc_id is not None:
        vpc_key = key_path(["podVSwitches", "vpcId"])
        # enable_details adds a DescribeRouteTableList per VPC for route_table_id, which only the default-route
        # check of new vSwitches with SNAT reads: ask for it only then.
        details = pods.snat is not None and bool(pods.created_zones)
        vpcs = read("the VPC", vpc_key, lambda: alicloud.vpc.get_networks(ids=[pods.vpc_id], enable_details=details).vpcs)
        if not vpcs:
            raise InputError([Problem(vpc_key, f"{pods.vpc_id} does not exist in this region")])
        switches = read("the VPC's vSwitches", vpc_key, lambda: alicloud.vpc.get_switches(vpc_id=pods.vpc_id).vswitches)
        existing = [ExistingVSwitch(s.id, s.cidr_block, s.zone_id, s.vswitch_name or "") for s in switches or []]
        problems += cloud_problems(pods, vpcs[0].cidr_block, existing, check_adopted=False, cluster=cluster)
        route_table = vpcs[0].route_table_id or ""  # a new vSwitch joins the VPC's system route table
    if pods.adopted_zones:
        problems += adopted_problems(pods, lookup_vswitches(list(pods.adopted_zones.values())))
    if pods.snat is not None:
        gateway, known = find_nat_gateway(pods)
        if known:
            problems += nat_gateway_problems(pods, gateway)
        if gateway is not None:
            problems += eip_problems(pods, gateway, lookup_eips([str(ip) for ip in pods.snat.snat_ips]))
            problems += egress_problems(pods, gateway, route_table)
    if problems:
        raise InputError(problems)


def egress_problems(pods: PodVSwitchSettings, gateway: NatGateway, route_table: str) -> list[Problem]:
    """SNAT entries already covering a new CIDR, and the default route of the new vSwitches' route table."""
    if not pods.created_zones:
        return []
    table = pods.snat.snat_table_id or (gateway.snat_table_ids[0] if gateway.snat_table_ids else "")
    snat_key = key_path(["podVSwitches", "snat", "snatTableId" if pods.snat.snat_table_id else "natGatewayId"])
    entries = (read("the SNAT table's entries", snat_key, lambda: alicloud.vpc.get_snat_entries(snat_table_id=table).entries)
               or []) if table else []
    problems = snat_coverage_problems(
        pods, [SnatEntry(e.id or "", e.source_cidr or "", e.source_vswitch_id or "", e.snat_ip or "") for e in entries]
    )
    if route_table:
        vpc_key = key_path(["podVSwitches", "vpcId"])
        routes = read("the route table's entries", vpc_key,
                      lambda: alicloud.vpc.get_route_entries(route_table_id=route_table).entries) or []
        problems += default_route_problems(
            pods, gateway.id, route_table,
            [RouteEntry(r.cidr_block or "", r.next_hop_type or "", r.instance_id or "") for r in routes],
        )
    return problems


def lookup_vswitches(ids: list[str]) -> list[ExistingVSwitch]:
    """vSwitches by id, whatever their VPC (an adopted one needs no vpcId)."""
    if not ids:
        return []
    # The data source lists every vSwitch of the region (paged) and keeps these ids.
    key = key_path(["podVSwitches", "zones"])
    found = read("vSwitches by id", key, lambda: alicloud.vpc.get_switches(ids=ids).vswitches) or []
    return [
        ExistingVSwitch(
            s.id, s.cidr_block or "", s.zone_id or "", s.vswitch_name or "", s.vpc_id or "", s.available_ip_address_count,
            # the offline plan's placeholder vSwitch (no zone) says nothing about IPv6
            (s.ipv6_cidr_block or "") if s.zone_id else None,
        )
        for s in found
    ]


def find_nat_gateway(pods: PodVSwitchSettings) -> tuple[Optional[NatGateway], bool]:
    """(the NAT gateway named, or owning snatTableId; whether the cloud's answer is known)."""
    snat = pods.snat
    key = key_path(["podVSwitches", "snat", "natGatewayId" if snat.nat_gateway_id else "snatTableId"])
    if snat.nat_gateway_id:
        answer = read("the NAT gateway", key, lambda: alicloud.vpc.get_nat_gateways(ids=[snat.nat_gateway_id]).gateways)
    else:
        answer = read("the VPC's NAT gateways", key, lambda: alicloud.vpc.get_nat_gateways(vpc_id=pods.vpc_id).gateways)
    answer = answer or []
    gateways = [NatGateway(g.id or "", g.vpc_id or "", tuple(g.snat_table_ids or ())) for g in answer]
    if any(not g.id for g in gateways):
        return None, False  # a placeholder listing: the offline plan cannot know the gateways
    if snat.nat_gateway_id:
        return next((g for g in gateways if g.id == snat.nat_gateway_id), None), True
    return next((g for g in gateways if snat.snat_table_id in g.snat_table_ids), None), True


def lookup_eips(addresses: list[str]) -> list[Eip]:
    """One look-up per address, by `ip_address` (the API's EipAddress filter).

    Not `ip_addresses=[...]`: the real data source matches that list against each EIP's AllocationId,
    so it never finds an address. enable_details=False skips a ListTagResources per EIP.
    """
    found = []
    for index, address in enumerate(addresses):
        key = key_path(["podVSwitches", "snat", f"snatIps[{index}]"])
        answer = read("the EIP", key, lambda ip=address: alicloud.ecs.get_eip_addresses(ip_address=ip, enable_details=False).addresses)
        found += [Eip(a.ip_address or "", a.instance_id or "", a.instance_type or "", a.status or "") for a in answer or []]
    return found


def resolve_snat_table(pods: PodVSwitchSettings) -> Optional[str]:
    """The SNAT table to add entries to: given, or the NAT gateway's first one."""
    snat = pods.snat
    if snat is None:
        return None
    if snat.snat_table_id:
        return snat.snat_table_id
    key = key_path(["podVSwitches", "snat", "natGatewayId"])
    gateways = read("the NAT gateway", key, lambda: alicloud.vpc.get_nat_gateways(ids=[snat.nat_gateway_id]).gateways)
    if not gateways or not gateways[0].snat_table_ids:
        raise InputError(
            [Problem(key_path(["podVSwitches", "snat", "natGatewayId"]), f"{snat.nat_gateway_id} has no SNAT table")]
        )
    return gateways[0].snat_table_ids[0]


class PodVSwitches(pulumi.ComponentResource):
    """Pod vSwitches for Terway: created ones (cidr) plus adopted ones (vswitchId), zone by zone."""

    vswitch_ids: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        opts: Optional[pulumi.ResourceOptions] = None,
        ipv6: Optional[pulumi.Output] = None,
    ):
        super().__init__("terway:index:PodVSwitches", name, None, opts)
        # zone -> IPv6 /64 index, where the live eni_conf runs dual stack (declare/dual_stack.py)
        self._ipv6 = ipv6 if ipv6 is not None else pulumi.Output.from_input(None)
        # A component's depends_on does not reach its children; pass it on so every write waits.
        self._depends_on = opts.depends_on if opts else None
        pods = settings.pod_vswitches
        # check_against_cloud ran in declare/stack.py before anything was declared (the preflight too).
        snat_table_id = resolve_snat_table(pods)
        tags = {**pods.tags, MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1], CLUSTER_TAG_KEY: settings.cluster.name}

        created = {zone: self._vswitch(settings.cluster.name, zone, cidr, pods.vpc_id, tags) for zone, cidr in pods.created_zones.items()}
        self.snat_entries = {
            zone: self._snat_entry(settings.cluster.name, zone, vswitch, snat_table_id, pods)
            for zone, vswitch in created.items()
            if snat_table_id
        }
        self.vswitches = created
        self.cidrs = dict(pods.created_zones)
        self.usable_ips = {zone: usable_addresses(cidr) for zone, cidr in pods.created_zones.items()}
        ids = pulumi.Output.all(**{zone: vswitch.id for zone, vswitch in created.items()}, **pods.adopted_zones)
        # eni-config must not list a new vSwitch before its SNAT entry exists: pods placed there in
        # between would have no internet egress. Carrying the entries' ids makes every user wait.
        egress = [entry.id for entry in self.snat_entries.values()]
        self.vswitch_ids = pulumi.Output.all(ids, *egress).apply(lambda parts: dict(sorted(parts[0].items())))
        self.register_outputs(
            kept_component_outputs(
                settings, {"vswitchIds": self.vswitch_ids, "cidrs": self.cidrs, "usableIps": self.usable_ips}, "podVSwitches"
            )
        )

    def _retained(self) -> pulumi.ResourceOptions:
        # eni_conf keeps listing these vSwitches after a destroy and pods hold ENIs in them, so the
        # vSwitch and its egress stay too; removing a pod vSwitch is a deliberate, drained operation.
        return pulumi.ResourceOptions(parent=self, depends_on=self._depends_on, retain_on_delete=True)

    def _vswitch(self, cluster: str, zone: str, cidr: str, vpc_id: str, tags: dict) -> alicloud.vpc.Switch:
        return alicloud.vpc.Switch(
            f"{cluster}-pods-{zone}",
            vpc_id=vpc_id,
            zone_id=zone,
            cidr_block=cidr,
            vswitch_name=pod_vswitch_name(cluster, zone),
            description=f"Terway pod vSwitch for ACK cluster {cluster}, managed by terway-stack",
            tags=tags,
            enable_ipv6=self._ipv6.apply(lambda plan: True if plan is not None and zone in plan else None),
            ipv6_cidr_block_mask=self._ipv6.apply(lambda plan: (plan or {}).get(zone)),
            opts=self._retained(),
        )

    def _snat_entry(
        self, cluster: str, zone: str, vswitch: alicloud.vpc.Switch, snat_table_id: str, pods: PodVSwitchSettings
    ) -> alicloud.vpc.SnatEntry:
        return alicloud.vpc.SnatEntry(
            f"{cluster}-pods-{zone}-snat",
            snat_table_id=snat_table_id,
            source_vswitch_id=vswitch.id,
            snat_ip=",".join(str(ip) for ip in pods.snat.snat_ips),  # kept secret by declare/secrets.py
            snat_entry_name=f"{cluster}-terway-pods-{zone}",
            opts=self._retained(),
        )
