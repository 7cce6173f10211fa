"""What the double's cloud holds, and how each object is shaped on the wire.

Field names and nesting follow the official Go SDK response models
(github.com/alibabacloud-go/vpc-20160428/v6 v6.12.8, ecs-20140526/v7 v7.7.0, client/*_response_body_model.go).
The provider type-asserts nested maps (`SecondaryCidrBlocks`, `RouteTable`, `SnatTableIds`, `IpLists`, ...),
so every nested object the models define is present, empty where the cloud would have nothing.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional

REGION = "cn-shanghai"
OWNER_ID = 1234567890123456
CREATED = "2026-12-01T08:00:00Z"


def _tags(tags: dict[str, str]) -> dict:
    return {"Tag": [{"Key": k, "Value": v} for k, v in tags.items()]}


@dataclass
class Vpc:
    id: str
    cidr: str
    name: str = ""
    router_id: str = ""
    route_table_id: str = ""
    ipv6_cidr: str = ""  # "" = the VPC has no IPv6 block
    routes: list = field(default_factory=list)  # RouteEntry of its system route table

    def shape(self, cloud: "Cloud") -> dict:
        return {
            "VpcId": self.id, "VpcName": self.name, "RegionId": REGION, "CidrBlock": self.cidr,
            "Status": "Available", "CreationTime": CREATED, "Description": "", "IsDefault": False,
            "VRouterId": self.router_id, "ResourceGroupId": "rg-e2e", "OwnerId": OWNER_ID,
            "DhcpOptionsSetId": "", "DhcpOptionsSetStatus": "", "DnsHostnameStatus": "DISABLED",
            "CenStatus": "Detached", "EnabledIpv6": bool(self.ipv6_cidr), "Ipv6CidrBlock": self.ipv6_cidr,
            "Ipv6CidrBlocks": {"Ipv6CidrBlock": [{"Ipv6CidrBlock": self.ipv6_cidr, "Ipv6Isp": "BGP"}] if self.ipv6_cidr else []},
            "NatGatewayIds": {"NatGatewayIds": [g.id for g in cloud.nat_gateways.values() if g.vpc_id == self.id]},
            "RouterTableIds": {"RouterTableIds": [self.route_table_id]},
            "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
            "UserCidrs": {"UserCidr": []},
            "VSwitchIds": {"VSwitchId": [v.id for v in cloud.vswitches.values() if v.vpc_id == self.id]},
            "Tags": _tags({}),
        }

    def route_table_with_entries(self, cloud: "Cloud") -> dict:
        """DescribeRouteTables' RouteTable (describe_route_tables_response_body_model.go)."""
        return {
            "RouteTableId": self.route_table_id, "RouteTableType": "System", "VRouterId": self.router_id,
            "Status": "Available", "CreationTime": CREATED, "ResourceGroupId": "rg-e2e",
            "VSwitchIds": {"VSwitchId": [v.id for v in cloud.vswitches.values() if v.vpc_id == self.id]},
            "RouteEntrys": {"RouteEntry": [r.shape(self.route_table_id) for r in self.routes]},
        }

    def route_table(self, cloud: "Cloud") -> dict:
        return {
            "RouteTableId": self.route_table_id, "RouteTableName": "", "RouteTableType": "System",
            "RouterId": self.router_id, "RouterType": "VRouter", "VpcId": self.id, "Status": "Available",
            "AssociateType": "VSwitch", "CreationTime": CREATED, "Description": "", "OwnerId": OWNER_ID,
            "ResourceGroupId": "rg-e2e", "RoutePropagationEnable": True,
            "GatewayIds": {"GatewayIds": []},
            "VSwitchIds": {"VSwitchId": [v.id for v in cloud.vswitches.values() if v.vpc_id == self.id]},
            "Tags": _tags({}),
        }


@dataclass
class RouteEntry:
    destination: str
    next_hop_type: str
    instance_id: str

    def shape(self, table_id: str) -> dict:
        return {
            "RouteEntryId": f"rte-{table_id[4:]}-{self.instance_id}", "RouteEntryName": "", "Description": "",
            "DestinationCidrBlock": self.destination, "InstanceId": self.instance_id, "NextHopType": self.next_hop_type,
            "RouteTableId": table_id, "Status": "Available", "Type": "Custom",
            "NextHops": {"NextHop": []},
        }


@dataclass
class VSwitch:
    id: str
    vpc_id: str
    zone: str
    cidr: str
    name: str = ""
    description: str = ""
    status: str = "Available"
    pending_polls: int = 0  # DescribeVSwitchAttributes answers Pending this many more times
    eni_count: int = 0  # ENIs still in it: DeleteVSwitch answers DependencyViolation
    ipv6_cidr: str = ""

    def available_ips(self) -> int:
        return ipaddress.IPv4Network(self.cidr).num_addresses - 4 - self.eni_count

    def shape(self, cloud: "Cloud") -> dict:
        vpc = cloud.vpcs.get(self.vpc_id)
        return {
            "VSwitchId": self.id, "VSwitchName": self.name, "VpcId": self.vpc_id, "ZoneId": self.zone,
            "CidrBlock": self.cidr, "Status": self.status, "Description": self.description,
            "AvailableIpAddressCount": self.available_ips(), "CreationTime": CREATED, "IsDefault": False,
            "EnabledIpv6": bool(self.ipv6_cidr), "Ipv6CidrBlock": self.ipv6_cidr, "NetworkAclId": "", "OwnerId": OWNER_ID,
            "ResourceGroupId": "rg-e2e", "ShareType": "",
            "RouteTable": {"RouteTableId": vpc.route_table_id if vpc else "", "RouteTableType": "System"},
            "Tags": _tags(cloud.tags.get(self.id, {})),
        }


@dataclass
class NatGateway:
    id: str
    vpc_id: str
    snat_table_id: str
    name: str = ""

    def shape(self, cloud: "Cloud") -> dict:
        bound = [e for e in cloud.eips.values() if e.instance_id == self.id]
        return {
            "NatGatewayId": self.id, "Name": self.name, "VpcId": self.vpc_id, "RegionId": REGION,
            "Status": "Available", "BusinessStatus": "Normal", "NatType": "Enhanced", "NetworkType": "internet",
            "Spec": "", "InstanceChargeType": "PostPaid", "InternetChargeType": "PayByLcu",
            "CreationTime": CREATED, "ExpiredTime": "", "Description": "", "DeletionProtection": False,
            "EcsMetricEnabled": False, "IcmpReplyEnabled": True, "AutoPay": False, "EipBindMode": "MULTI_BINDED",
            "EnableSessionLog": "false", "PrivateLinkEnabled": False, "PrivateLinkMode": "FullNat",
            "SecurityProtectionEnabled": False, "ResourceGroupId": "rg-e2e",
            "AccessMode": {"ModeValue": "", "TunnelType": ""},
            "ForwardTableIds": {"ForwardTableId": [f"ftb-{self.id[4:]}"]},
            "FullNatTableIds": {"FullNatTableId": []},
            "SnatTableIds": {"SnatTableId": [self.snat_table_id]},
            "IpLists": {"IpList": [
                {"AllocationId": e.id, "IpAddress": e.ip, "PrivateIpAddress": "", "SnatEntryEnabled": True,
                 "UsingStatus": "UsedBySnatTable"} for e in bound
            ]},
            "NatGatewayPrivateInfo": {
                "EniInstanceId": f"eni-{self.id[4:]}", "EniType": "indirect", "IzNo": "cn-shanghai-f",
                "MaxBandwidth": 5120, "MaxSessionEstablishRate": 100000, "MaxSessionQuota": 2000000,
                "PrivateIpAddress": "10.0.0.250", "VswitchId": "",
            },
            "Tags": {"Tag": []},
        }


@dataclass
class Eip:
    id: str  # AllocationId
    ip: str
    instance_id: str = ""
    instance_type: str = ""  # Nat, EcsInstance, ...

    def shape(self, cloud: "Cloud") -> dict:
        return {
            "AllocationId": self.id, "IpAddress": self.ip, "Name": "", "RegionId": REGION,
            "Status": "InUse" if self.instance_id else "Available",
            "InstanceId": self.instance_id, "InstanceType": self.instance_type, "InstanceRegionId": REGION if self.instance_id else "",
            "AllocationTime": CREATED, "Bandwidth": "100", "BandwidthPackageBandwidth": "", "BandwidthPackageId": "",
            "BandwidthPackageType": "", "BizType": "", "BusinessStatus": "Normal", "ChargeType": "PostPaid",
            "DeletionProtection": False, "Description": "", "EipBandwidth": "", "ExpiredTime": "",
            "HDMonitorStatus": "OFF", "HasReservationData": "false", "ISP": "BGP", "InternetChargeType": "PayByTraffic",
            "Mode": "NAT", "Netmode": "public", "PrivateIpAddress": "", "PublicIpAddressPoolId": "",
            "ReservationActiveTime": "", "ReservationBandwidth": "", "ReservationInternetChargeType": "",
            "ReservationOrderType": "", "ResourceGroupId": "rg-e2e", "SecondLimited": False, "SegmentInstanceId": "",
            "ServiceManaged": 0, "VpcId": "", "Zone": "",
            "OperationLocks": {"LockReason": []},
            "SecurityProtectionTypes": {"SecurityProtectionType": []},
            # Not in the SDK model v6.12.8, but data_source_alicloud_eip_addresses.go type-asserts
            # object["AvailableRegions"].(map[string]interface{}): the live API returns it.
            "AvailableRegions": {"AvailableRegion": [REGION]},
            "Tags": _tags(cloud.tags.get(self.id, {})),
        }


@dataclass
class SnatEntry:
    id: str
    table_id: str
    gateway_id: str
    snat_ip: str
    source_vswitch_id: str = ""
    source_cidr: str = ""
    name: str = ""
    status: str = "Pending"
    pending_polls: int = 1

    def shape(self, cloud: "Cloud") -> dict:
        return {
            "SnatEntryId": self.id, "SnatTableId": self.table_id, "NatGatewayId": self.gateway_id,
            "SnatIp": self.snat_ip, "SourceVSwitchId": self.source_vswitch_id, "SourceCIDR": self.source_cidr,
            "SnatEntryName": self.name, "Status": self.status, "EipAffinity": "0", "NetworkInterfaceId": "",
        }


@dataclass
class InstanceType:
    id: str
    family: str
    cores: int
    memory: float
    enis: int
    ips_per_eni: int

    def shape(self) -> dict:
        return {
            "InstanceTypeId": self.id, "InstanceTypeFamily": self.family, "CpuCoreCount": self.cores,
            "MemorySize": self.memory, "EniQuantity": self.enis, "EniPrivateIpAddressQuantity": self.ips_per_eni,
            "EniIpv6AddressQuantity": self.ips_per_eni, "EniTotalQuantity": self.enis, "EniTrunkSupported": True,
            "EriQuantity": 0, "GPUAmount": 0, "GPUMemorySize": 0, "GPUSpec": "", "InitialCredit": 0, "BaselineCredit": 0,
            "InstanceBandwidthRx": 5120000, "InstanceBandwidthTx": 5120000, "InstanceCategory": "General-purpose",
            "InstanceFamilyLevel": "EnterpriseLevel", "InstancePpsRx": 1600000, "InstancePpsTx": 1600000,
            "LocalStorageAmount": 0, "LocalStorageCategory": "", "MaximumQueueNumberPerEni": 8,
            "PrimaryEniQueueNumber": 8, "SecondaryEniQueueNumber": 8, "TotalEniQueueQuantity": 64, "QueuePairNumber": 8,
            "NetworkCardQuantity": 1, "NvmeSupport": "unsupported", "CpuArchitecture": "X86",
            "CpuSpeedFrequency": 2.7, "CpuTurboFrequency": 3.5, "DiskQuantity": 17, "JumboFrameSupport": True,
            "NetworkEncryptionSupport": False, "PhysicalProcessorModel": "Intel Xeon (Ice Lake) Platinum 8369B",
            "Attributes": {"Attribute": []}, "Clock": {"PtpSupport": "unsupported"},
            "CpuOptions": {"Core": self.cores // 2, "CoreFactor": 2, "HyperThreadingAdjustable": True,
                           "SupportedTopologyTypes": {"SupportedTopologyType": []}, "ThreadsPerCore": 2},
            "EnhancedNetwork": {"RssSupport": True, "SriovSupport": True, "VfQueueNumberPerEni": 8},
            "NetworkCards": {"NetworkCardInfo": [{"NetworkCardIndex": 0}]},
            "NetworkInfo": {"BandwidthWeighting": {"WeightingInfos": {"WeightingInfo": []}}},
            "SupportedBootModes": {"SupportedBootMode": ["BIOS", "UEFI"]},
        }


@dataclass
class Cloud:
    """One region's state. Ids are handed out in order, so runs are reproducible."""

    zones: tuple[str, ...] = ("cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g")
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    vswitches: dict[str, VSwitch] = field(default_factory=dict)
    nat_gateways: dict[str, NatGateway] = field(default_factory=dict)
    eips: dict[str, Eip] = field(default_factory=dict)
    snat_entries: dict[str, SnatEntry] = field(default_factory=dict)
    instance_types: dict[str, InstanceType] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # resource id -> tags
    vswitch_quota: int = 150  # per VPC (CreateVSwitch's usage notes)
    pending_polls: int = 1  # how many status reads a new vSwitch answers Pending
    _serial: int = 0

    def new_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-e2e{self._serial:06d}"

    def snat_table(self, table_id: str) -> Optional[NatGateway]:
        return next((g for g in self.nat_gateways.values() if g.snat_table_id == table_id), None)

    def add_vpc(self, vpc_id: str, cidr: str, name: str = "") -> Vpc:
        vpc = Vpc(vpc_id, cidr, name, router_id=f"vrt-{vpc_id[4:]}", route_table_id=f"vtb-{vpc_id[4:]}")
        self.vpcs[vpc_id] = vpc
        return vpc

    def add_vswitch(self, vswitch_id: str, vpc_id: str, zone: str, cidr: str, name: str = "", eni_count: int = 0) -> VSwitch:
        vswitch = VSwitch(vswitch_id, vpc_id, zone, cidr, name, eni_count=eni_count)
        self.vswitches[vswitch_id] = vswitch
        return vswitch

    def add_nat_gateway(self, gateway_id: str, vpc_id: str, name: str = "") -> NatGateway:
        gateway = NatGateway(gateway_id, vpc_id, f"stb-{gateway_id[4:]}", name)
        self.nat_gateways[gateway_id] = gateway
        return gateway

    def add_eip(self, allocation_id: str, ip: str, bound_to: str = "", bound_type: str = "") -> Eip:
        eip = Eip(allocation_id, ip, bound_to, bound_type or ("Nat" if bound_to.startswith("ngw-") else ""))
        self.eips[allocation_id] = eip
        return eip

    def add_instance_type(self, type_id: str, enis: int, ips_per_eni: int, cores: int = 16, memory: float = 64.0) -> None:
        family = type_id.rsplit(".", 1)[0]
        self.instance_types[type_id] = InstanceType(type_id, family, cores, memory, enis, ips_per_eni)
