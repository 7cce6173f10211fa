"""IPv6 for pod vSwitches where Terway runs dual stack.

With `ip_stack: dual` (or `ipv6`) in the live eni_conf, Terway asks for IPv6 on every new ENI and ECS
refuses that on a vSwitch without IPv6; with `vswitch_selection_policy: ordered` the empty new
vSwitch is even tried first. So there a created vSwitch gets IPv6 (a free /64 of the VPC's IPv6
block), and an adopted one must already have it. Read from the live eni-config in this run, with
blocking cloud reads, inside the live gate: a problem stops the run before any write.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi_alicloud as alicloud

from ..decide.eni_config import parse_eni_conf
from ..decide.network import ipv6_block_masks, ipv6_needed, ipv6_problems
from ..decide.problems import InputError
from ..decide.settings import StackSettings
from .pod_vswitches import lookup_vswitches

# zone -> ipv6_cidr_block_mask of the vSwitch created there (None: the VPC's IPv6 block is not known offline)
Ipv6Plan = Optional[dict[str, Optional[int]]]


def ipv6_plan(settings: StackSettings, data: Optional[Mapping[str, Any]]) -> Ipv6Plan:
    """None where no vSwitch needs IPv6; raises InputError naming the key where IPv6 cannot be had."""
    pods = settings.pod_vswitches
    try:
        conf = parse_eni_conf(data or {})
    except InputError:
        return None  # the live gate reports a malformed eni_conf
    if pods is None or not ipv6_needed(conf):
        return None
    if not settings.cloud_lookups:
        return {zone: None for zone in pods.created_zones}
    vpc_ipv6 = _vpc_ipv6(pods.vpc_id) if pods.created_zones else None
    adopted = lookup_vswitches(list(pods.adopted_zones.values()))
    problems = ipv6_problems(conf, pods, vpc_ipv6, adopted)
    if problems:
        raise InputError(problems)
    if not pods.created_zones:
        return {}
    if not vpc_ipv6:
        return {zone: None for zone in pods.created_zones}
    used = [s.ipv6_cidr_block or "" for s in alicloud.vpc.get_switches(vpc_id=pods.vpc_id).vswitches or []]
    return ipv6_block_masks(vpc_ipv6, used, list(pods.created_zones))


def _vpc_ipv6(vpc_id: Optional[str]) -> Optional[str]:
    """The VPC's IPv6 block; "" when it has none; None when unknown (the offline plan's placeholder VPC)."""
    vpcs = alicloud.vpc.get_networks(ids=[vpc_id]).vpcs or []
    if not vpcs or not vpcs[0].cidr_block:
        return None
    return vpcs[0].ipv6_cidr_block or ""
