"""VPC (Version 2016-04-28) actions: the look-ups and the writes the provider sends for this stack.

Request parameters are the POP flattened form (`Tag.1.Key`, `ResourceId.1`); every value arrives as a
string. Checks are the ones CreateVSwitch's and CreateSnatEntry's API reference lists.
"""
from __future__ import annotations

import ipaddress
from typing import Callable

from .errors import ApiError
from .state import Cloud, SnatEntry

Params = dict[str, str]


def page(items: list, params: Params, key: str, inner: str, default_size: int = 10) -> dict:
    """PageNumber / PageSize paging as the Describe* actions do it (1-based, TotalCount of all matches)."""
    number = int(params.get("PageNumber") or 1)
    size = int(params.get("PageSize") or default_size)
    if number < 1 or not 1 <= size <= 100:
        raise ApiError("InvalidParameter", message="The specified PageNumber or PageSize is invalid.")
    chosen = items[(number - 1) * size: number * size]
    return {key: {inner: chosen}, "PageNumber": number, "PageSize": size, "TotalCount": len(items)}


def numbered(params: Params, prefix: str) -> list[str]:
    """`ResourceId.1`, `ResourceId.2`, ... in order."""
    found = sorted((int(k[len(prefix) + 1:]), v) for k, v in params.items()
                   if k.startswith(prefix + ".") and k[len(prefix) + 1:].isdigit())
    return [v for _, v in found]


def _ids(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def describe_vpcs(cloud: Cloud, p: Params) -> dict:
    vpcs = [v for v in cloud.vpcs.values()
            if (not p.get("VpcId") or v.id in _ids(p["VpcId"])) and (not p.get("VpcName") or v.name == p["VpcName"])]
    return page([v.shape(cloud) for v in vpcs], p, "Vpcs", "Vpc")


def describe_route_table_list(cloud: Cloud, p: Params) -> dict:
    vpcs = [v for v in cloud.vpcs.values() if not p.get("VpcId") or v.id == p["VpcId"]]
    return page([v.route_table(cloud) for v in vpcs], p, "RouterTableList", "RouterTableListType")


def describe_route_tables(cloud: Cloud, p: Params) -> dict:
    """By RouteTableId or VRouterId, as data_source_alicloud_route_entries.go asks (alicloud.vpc.get_route_entries)."""
    vpcs = [v for v in cloud.vpcs.values()
            if (not p.get("RouteTableId") or v.route_table_id == p["RouteTableId"])
            and (not p.get("VRouterId") or v.router_id == p["VRouterId"])]
    return page([v.route_table_with_entries(cloud) for v in vpcs], p, "RouteTables", "RouteTable")


def describe_vswitches(cloud: Cloud, p: Params) -> dict:
    def wanted(v) -> bool:
        return ((not p.get("VpcId") or v.vpc_id == p["VpcId"]) and (not p.get("ZoneId") or v.zone == p["ZoneId"])
                and (not p.get("VSwitchId") or v.id in _ids(p["VSwitchId"]))
                and (not p.get("VSwitchName") or v.name == p["VSwitchName"]))

    return page([v.shape(cloud) for v in cloud.vswitches.values() if wanted(v)], p, "VSwitches", "VSwitch")


def describe_vswitch_attributes(cloud: Cloud, p: Params) -> dict:
    vswitch = cloud.vswitches.get(p.get("VSwitchId", ""))
    if vswitch is None:
        # An unknown id is answered with empty attributes: the provider's DescribeVpcVswitch
        # (service_alicloud_vpc_v2.go) reads `VSwitchId == ""` as "not found".
        return {"VSwitchId": "", "Status": "", "RouteTable": {}, "Tags": {"Tag": []}}
    answer = vswitch.shape(cloud)
    if vswitch.pending_polls > 0:
        vswitch.pending_polls -= 1
        if vswitch.pending_polls == 0:
            vswitch.status = "Available"
    return answer


def create_vswitch(cloud: Cloud, p: Params) -> dict:
    for required in ("VpcId", "ZoneId", "CidrBlock"):
        if not p.get(required):
            raise ApiError("MissingParameter", message=f"{required} is mandatory for this action.")
    vpc = cloud.vpcs.get(p["VpcId"])
    if vpc is None:
        raise ApiError("InvalidVpcId.NotFound")
    if p["ZoneId"] not in cloud.zones:
        raise ApiError("InvalidZoneId.NotFound")
    try:
        network = ipaddress.IPv4Network(p["CidrBlock"])
    except ValueError:
        raise ApiError("InvalidCidrBlock.Malformed") from None
    if not network.subnet_of(ipaddress.IPv4Network(vpc.cidr)) or not 16 <= network.prefixlen <= 29:
        raise ApiError("InvalidParameter")
    siblings = [v for v in cloud.vswitches.values() if v.vpc_id == vpc.id]
    if any(network.overlaps(ipaddress.IPv4Network(v.cidr)) for v in siblings):
        raise ApiError("InvalidCidrBlock.Overlapped")
    if len(siblings) >= cloud.vswitch_quota:
        raise ApiError("QuotaExceeded.VSwitch")
    vswitch = cloud.add_vswitch(cloud.new_id("vsw"), vpc.id, p["ZoneId"], str(network), p.get("VSwitchName", ""))
    if p.get("Ipv6CidrBlock"):  # the /64 index in the VPC's IPv6 block (CreateVSwitch's Ipv6CidrBlock)
        if not vpc.ipv6_cidr:
            del cloud.vswitches[vswitch.id]
            raise ApiError("InvalidParameter", message="The VPC has no IPv6 CIDR block.")
        block = ipaddress.IPv6Network(vpc.ipv6_cidr)
        vswitch.ipv6_cidr = str(ipaddress.IPv6Network((int(block.network_address) + (int(p["Ipv6CidrBlock"]) << 64), 64)))
    vswitch.description = p.get("Description", "")
    vswitch.status, vswitch.pending_polls = ("Pending", cloud.pending_polls) if cloud.pending_polls else ("Available", 0)
    return {"VSwitchId": vswitch.id}


def delete_vswitch(cloud: Cloud, p: Params) -> dict:
    vswitch = cloud.vswitches.get(p.get("VSwitchId", ""))
    if vswitch is None:
        raise ApiError("InvalidVSwitchId.NotFound")
    if vswitch.eni_count > 0:
        raise ApiError("DependencyViolation")
    if any(e.source_vswitch_id == vswitch.id for e in cloud.snat_entries.values()):
        raise ApiError("DependencyViolation.SnatEntry")
    del cloud.vswitches[vswitch.id]
    cloud.tags.pop(vswitch.id, None)
    return {}


def tag_resources(cloud: Cloud, p: Params) -> dict:
    pairs, index = {}, 1
    while f"Tag.{index}.Key" in p:
        pairs[p[f"Tag.{index}.Key"]] = p.get(f"Tag.{index}.Value", "")
        index += 1
    for resource_id in numbered(p, "ResourceId"):
        _require_resource(cloud, resource_id)
        cloud.tags.setdefault(resource_id, {}).update(pairs)
    return {}


def untag_resources(cloud: Cloud, p: Params) -> dict:
    for resource_id in numbered(p, "ResourceId"):
        for key in numbered(p, "TagKey"):
            cloud.tags.get(resource_id, {}).pop(key, None)
    return {}


def list_tag_resources(cloud: Cloud, p: Params) -> dict:
    rows = [
        {"ResourceId": rid, "ResourceType": p.get("ResourceType", ""), "TagKey": k, "TagValue": v}
        for rid in numbered(p, "ResourceId") for k, v in cloud.tags.get(rid, {}).items()
    ]
    return {"TagResources": {"TagResource": rows}, "NextToken": ""}


def _require_resource(cloud: Cloud, resource_id: str) -> None:
    if resource_id not in cloud.vswitches and resource_id not in cloud.eips and resource_id not in cloud.nat_gateways:
        raise ApiError("InvalidResourceId.NotFound", status=404, message="The specified resource is not found.")


def describe_nat_gateways(cloud: Cloud, p: Params) -> dict:
    gateways = [g for g in cloud.nat_gateways.values()
                if (not p.get("VpcId") or g.vpc_id == p["VpcId"]) and (not p.get("NatGatewayId") or g.id == p["NatGatewayId"])]
    return page([g.shape(cloud) for g in gateways], p, "NatGateways", "NatGateway")


def describe_eip_addresses(cloud: Cloud, p: Params) -> dict:
    def wanted(e) -> bool:
        return ((not p.get("EipAddress") or e.ip == p["EipAddress"])
                and (not p.get("AllocationId") or e.id in _ids(p["AllocationId"]))
                and (not p.get("AssociatedInstanceId") or e.instance_id == p["AssociatedInstanceId"]))

    return page([e.shape(cloud) for e in cloud.eips.values() if wanted(e)], p, "EipAddresses", "EipAddress")


def create_snat_entry(cloud: Cloud, p: Params) -> dict:
    gateway = cloud.snat_table(p.get("SnatTableId", ""))
    if gateway is None:
        raise ApiError("InvalidSnatTableId.NotFound")
    if bool(p.get("SourceVSwitchId")) == bool(p.get("SourceCIDR")) or not p.get("SnatIp"):
        raise ApiError("MissingParameter", message="Exactly one of SourceVSwitchId and SourceCIDR, and SnatIp, are mandatory.")
    if p.get("SourceVSwitchId") and p["SourceVSwitchId"] not in cloud.vswitches:
        raise ApiError("InvalidVSwitchId.NotFound")
    bound = {e.ip for e in cloud.eips.values() if e.instance_id == gateway.id}
    if not set(p["SnatIp"].split(",")) <= bound:
        raise ApiError("EIP_NOT_IN_GATEWAY")
    entry = SnatEntry(cloud.new_id("snat"), gateway.snat_table_id, gateway.id, p["SnatIp"],
                      p.get("SourceVSwitchId", ""), p.get("SourceCIDR", ""), p.get("SnatEntryName", ""))
    cloud.snat_entries[entry.id] = entry
    return {"SnatEntryId": entry.id}


def describe_snat_table_entries(cloud: Cloud, p: Params) -> dict:
    entries = [e for e in cloud.snat_entries.values() if e.table_id == p.get("SnatTableId")
               and (not p.get("SnatEntryId") or e.id == p["SnatEntryId"])
               and (not p.get("SourceVSwitchId") or e.source_vswitch_id == p["SourceVSwitchId"])]
    answer = page([e.shape(cloud) for e in entries], p, "SnatTableEntries", "SnatTableEntry")
    for entry in entries:
        entry.pending_polls -= 1
        if entry.pending_polls <= 0:
            entry.status = "Available"
    return answer


def delete_snat_entry(cloud: Cloud, p: Params) -> dict:
    entry = cloud.snat_entries.get(p.get("SnatEntryId", ""))
    if entry is None or entry.table_id != p.get("SnatTableId"):
        raise ApiError("InvalidSnatEntryId.NotFound")
    del cloud.snat_entries[entry.id]
    return {}


ACTIONS: dict[str, Callable[[Cloud, Params], dict]] = {
    "DescribeVpcs": describe_vpcs,
    "DescribeRouteTableList": describe_route_table_list,
    "DescribeRouteTables": describe_route_tables,
    "DescribeVSwitches": describe_vswitches,
    "DescribeVSwitchAttributes": describe_vswitch_attributes,
    "CreateVSwitch": create_vswitch,
    "DeleteVSwitch": delete_vswitch,
    "TagResources": tag_resources,
    "UnTagResources": untag_resources,
    "ListTagResources": list_tag_resources,
    "DescribeNatGateways": describe_nat_gateways,
    "DescribeEipAddresses": describe_eip_addresses,
    "CreateSnatEntry": create_snat_entry,
    "DescribeSnatTableEntries": describe_snat_table_entries,
    "DeleteSnatEntry": delete_snat_entry,
}
