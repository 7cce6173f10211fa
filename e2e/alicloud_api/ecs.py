"""ECS (Version 2014-05-26) actions behind `alicloud.ecs.get_instance_types`.

The data source calls DescribeAvailableResource (DestinationResource=InstanceType, old alibaba-cloud-sdk-go
client) and then DescribeInstanceTypes (NextToken paging). DescribeInstanceTypes' request model has no
`InstanceType` parameter (only `InstanceTypes.N`), so the one the provider sends is ignored, as the live
API ignores unknown parameters: every type of the region comes back.
"""
from __future__ import annotations

from typing import Callable

from .errors import ApiError
from .state import REGION, Cloud
from .vpc import Params, numbered

MAX_RESULTS = 100  # DescribeInstanceTypes' default and maximum MaxResults


def describe_available_resource(cloud: Cloud, p: Params) -> dict:
    if p.get("DestinationResource") != "InstanceType":
        raise ApiError("InvalidParameter", message="The specified DestinationResource is not supported here.")
    types = [t for t in cloud.instance_types if not p.get("InstanceType") or t == p["InstanceType"]]
    zones = [z for z in cloud.zones if not p.get("ZoneId") or z == p["ZoneId"]]
    return {"AvailableZones": {"AvailableZone": [
        {"ZoneId": zone, "RegionId": REGION, "Status": "Available", "StatusCategory": "WithStock",
         "AvailableResources": {"AvailableResource": [{"Type": "InstanceType", "SupportedResources": {"SupportedResource": [
             {"Value": t, "Status": "Available", "StatusCategory": "WithStock"} for t in types
         ]}}]}}
        for zone in zones
    ]}}


def describe_instance_types(cloud: Cloud, p: Params) -> dict:
    wanted = set(numbered(p, "InstanceTypes"))
    types = [t for t in cloud.instance_types.values()
             if (not wanted or t.id in wanted) and (not p.get("InstanceTypeFamily") or t.family == p["InstanceTypeFamily"])]
    start = int(p.get("NextToken") or 0)
    size = int(p.get("MaxResults") or MAX_RESULTS)
    chosen = types[start:start + size]
    following = str(start + size) if start + size < len(types) else ""
    return {"InstanceTypes": {"InstanceType": [t.shape() for t in chosen]}, "NextToken": following}


ACTIONS: dict[str, Callable[[Cloud, Params], dict]] = {
    "DescribeAvailableResource": describe_available_resource,
    "DescribeInstanceTypes": describe_instance_types,
}
