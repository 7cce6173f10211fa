"""New pod vSwitches, one per zone, with internet egress through the NAT gateway."""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_alicloud as alicloud

from ..decide.network import (
    Eip,
    ExistingVSwitch,
    NatGateway,
    adopted_problems,
    cloud_problems,
    eip_problems,
    nat_gateway_problems,
    pod_vswitch_name,
)
from ..decide.facts import CLUSTER_TAG_KEY, MANAGED_BY_TAG
from ..decide.problems import InputError, Problem, key_path
from ..decide.settings import PodVSwitchSettings, StackSettings
from ..decide.sizing import usable_addresses
from .secrets import kept_component_outputs



def check_against_cloud(pods: PodVSwitchSettings, cluster: str = "") -> None:
    """Read the cloud before anything is declared; raise InputError naming each key that cannot work.

    Blocking invokes on purpose: a failure here must stop the run before any resource is registered.
    The offline plan's placeholder answers leave unknown fields empty; the checks then skip them.
    """
    problems = []
    if pods.vpc_id is not None:
        vpcs = alicloud.vpc.get_networks(ids=[pods.vpc_id]).vpcs
        if not vpcs:
            raise InputError([Problem(key_path(["podVSwitches", "vpcId"]), f"{pods.vpc_id} does not exist in this region")])
        switches = alicloud.vpc.get_switches(vpc_id=pods.vpc_id).vswitches
        existing = [ExistingVSwitch(s.id, s.cidr_block, s.zone_id, s.vswitch_name or "") for s in switches]
        problems += cloud_problems(pods, vpcs[0].cidr_block, existing, check_adopted=False, cluster=cluster)
    if pods.adopted_zones:
        problems += adopted_problems(pods, lookup_vswitches(list(pods.adopted_zones.values())))
    if pods.snat is not None:
        gateway, known = find_nat_gateway(pods)
        if known:
            problems += nat_gateway_problems(pods, gateway)
        if gateway is not None:
            problems += eip_problems(pods, gateway, lookup_eips([str(ip) for ip in pods.snat.snat_ips]))
    if problems:
        raise InputError(problems)


def lookup_vswitches(ids: list[str]) -> list[ExistingVSwitch]:
    """vSwitches by id, whatever their VPC (an adopted one needs no vpcId)."""
    if not ids:
        return []
    found = alicloud.vpc.get_switches(ids=ids).vswitches or []
    return [
        ExistingVSwitch(
            s.id, s.cidr_block or "", s.zone_id or "", s.vswitch_name or "", s.vpc_id or "", s.available_ip_address_count
        )
        for s in found
    ]


def find_nat_gateway(pods: PodVSwitchSettings) -> tuple[Optional[NatGateway], bool]:
    """(the NAT gateway named, or owning snatTableId; whether the cloud's answer is known)."""
    snat = pods.snat
    if snat.nat_gateway_id:
        answer = alicloud.vpc.get_nat_gateways(ids=[snat.nat_gateway_id]).gateways or []
    else:
        answer = alicloud.vpc.get_nat_gateways(vpc_id=pods.vpc_id).gateways or []
    gateways = [NatGateway(g.id or "", g.vpc_id or "", tuple(g.snat_table_ids or ())) for g in answer]
    if any(not g.id for g in gateways):
        return None, False  # a placeholder listing: the offline plan cannot know the gateways
    if snat.nat_gateway_id:
        return next((g for g in gateways if g.id == snat.nat_gateway_id), None), True
    return next((g for g in gateways if snat.snat_table_id in g.snat_table_ids), None), True


def lookup_eips(addresses: list[str]) -> list[Eip]:
    answer = alicloud.ecs.get_eip_addresses(ip_addresses=addresses).addresses or []
    return [Eip(a.ip_address or "", a.instance_id or "", a.instance_type or "", a.status or "") for a in answer]


def resolve_snat_table(pods: PodVSwitchSettings) -> Optional[str]:
    """The SNAT table to add entries to: given, or the NAT gateway's first one."""
    snat = pods.snat
    if snat is None:
        return None
    if snat.snat_table_id:
        return snat.snat_table_id
    gateways = alicloud.vpc.get_nat_gateways(ids=[snat.nat_gateway_id]).gateways
    if not gateways or not gateways[0].snat_table_ids:
        raise InputError(
            [Problem(key_path(["podVSwitches", "snat", "natGatewayId"]), f"{snat.nat_gateway_id} has no SNAT table")]
        )
    return gateways[0].snat_table_ids[0]


class PodVSwitches(pulumi.ComponentResource):
    """Pod vSwitches for Terway: created ones (cidr) plus adopted ones (vswitchId), zone by zone."""

    vswitch_ids: pulumi.Output[dict]

    def __init__(self, name: str, settings: StackSettings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("terway:index:PodVSwitches", name, None, opts)
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
        self.vswitch_ids = pulumi.Output.all(
            **{zone: vswitch.id for zone, vswitch in created.items()}, **pods.adopted_zones
        ).apply(lambda ids: dict(sorted(ids.items())))
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
