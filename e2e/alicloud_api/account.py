"""The e2e suite's Alibaba Cloud account: the cluster's VPC among many, enough of everything to page.

Every list the stack reads is longer than the provider's page of 50 (PageSizeLarge), and the object the
stack looks for is on a later page, so a look-up that stops after the first page is caught.
"""
from __future__ import annotations

from .state import Cloud, RouteEntry

VPC_ID = "vpc-e2e"
VPC_CIDR = "10.0.0.0/8"
NAT_GATEWAY_ID = "ngw-e2e"
SNAT_TABLE_ID = "stb-e2e"
EIPS_OF_NAT = ("47.100.0.1", "47.100.0.2")  # bound to the cluster's NAT gateway
EIP_OF_AN_INSTANCE = "47.100.9.9"  # bound to an ECS instance: not usable for SNAT
FOREIGN_INSTANCE = "i-e2eforeign"
ADOPTED = {"cn-shanghai-g": "vsw-e2eadopted"}  # made elsewhere, adopted by id
EXISTING = {"cn-shanghai-f": "vsw-existing-f", "cn-shanghai-g": "vsw-existing-g"}  # in the seeded eni_conf
INSTANCE_TYPE = ("ecs.g7.4xlarge", 8, 30)  # the kwok nodes' type: ENIs, private IPs per ENI
FILLER = 55  # other VPCs, vSwitches, NAT gateways, EIPs: more than one page of 50


def e2e_account() -> Cloud:
    cloud = Cloud()
    for i in range(FILLER):  # other VPCs first: the cluster's VPC is on page 2
        cloud.add_vpc(f"vpc-other{i:03d}", f"172.{16 + i % 16}.0.0/16", f"other-{i}")
        cloud.add_nat_gateway(f"ngw-other{i:03d}", f"vpc-other{i:03d}")
        cloud.add_eip(f"eip-other{i:03d}", f"47.101.{i // 200}.{i % 200 + 1}")
    vpc = cloud.add_vpc(VPC_ID, VPC_CIDR, "ack-e2e")
    # The system route table sends internet traffic to the cluster's NAT gateway (checked before SNAT entries are made).
    vpc.routes.append(RouteEntry("0.0.0.0/0", "NatGateway", NAT_GATEWAY_ID))
    for i in range(FILLER):  # node vSwitches of the VPC: the pod ones come after them
        cloud.add_vswitch(f"vsw-node{i:03d}", VPC_ID, ("cn-shanghai-f", "cn-shanghai-g")[i % 2], f"10.0.{i}.0/24", f"node-{i}")
    for n, (zone, vswitch_id) in enumerate(sorted(EXISTING.items())):
        cloud.add_vswitch(vswitch_id, VPC_ID, zone, f"10.1.{n * 32}.0/19", f"pods-{zone}", eni_count=40)
    for zone, vswitch_id in ADOPTED.items():
        cloud.add_vswitch(vswitch_id, VPC_ID, zone, "10.2.0.0/19", f"adopted-{zone}")
    gateway = cloud.add_nat_gateway(NAT_GATEWAY_ID, VPC_ID, "ack-e2e-ngw")
    gateway.snat_table_id = SNAT_TABLE_ID
    for n, ip in enumerate(EIPS_OF_NAT):
        cloud.add_eip(f"eip-nat{n}", ip, NAT_GATEWAY_ID)
    cloud.add_eip("eip-instance", EIP_OF_AN_INSTANCE, FOREIGN_INSTANCE, "EcsInstance")
    type_id, enis, ips = INSTANCE_TYPE
    for i in range(120):  # more than DescribeInstanceTypes' page of 100
        cloud.add_instance_type(f"ecs.other{i:03d}.large", 3, 6, cores=2, memory=8.0)
    cloud.add_instance_type(type_id, enis, ips)
    return cloud


ZONE_NEW, ZONE_ADOPTED = "cn-shanghai-f", "cn-shanghai-g"
NEW_CIDR = "10.3.0.0/19"  # free in the VPC
EXTRA_TAGS = {"team": "network", "cost-center": "k8s"}


def pod_vswitches() -> dict:
    """`terway:podVSwitches` for this account: create one zone's vSwitch with SNAT, adopt the other's."""
    return {
        "vpcId": VPC_ID,
        "zones": {ZONE_NEW: {"cidr": NEW_CIDR}, ZONE_ADOPTED: {"vswitchId": ADOPTED[ZONE_ADOPTED]}},
        "snat": {"natGatewayId": NAT_GATEWAY_ID, "snatIps": list(EIPS_OF_NAT)},
        "tags": dict(EXTRA_TAGS),
    }
