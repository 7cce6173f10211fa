"""An Alibaba Cloud that answers the stack's look-ups as the real provider's data sources do, recording
each one; shared by the capacity and cloud-read tests."""
from __future__ import annotations

from terway_stack.plan import mocks
from terway_stack.plan.mocks import evaluate
from terway_stack.program import run

INSTANCE_TYPES = "alicloud:ecs/getInstanceTypes:getInstanceTypes"
SWITCHES = "alicloud:vpc/getSwitches:getSwitches"
NAT = "alicloud:vpc/getNatGateways:getNatGateways"
EIPS = "alicloud:ecs/getEipAddresses:getEipAddresses"
QUOTAS = {"ecs.g7.4xlarge": (8, 30), "ecs.g7.2xlarge": (6, 20)}
FREE = {"vsw-uf6existing00000000f": ("cn-shanghai-f", 40), "vsw-uf6existing00000000g": ("cn-shanghai-g", 5000),
        "vsw-adopted1": ("cn-shanghai-g", 7000)}


def node_list(*specs):
    return {"items": [{"metadata": {"name": f"n{i}", "labels": {
        "topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": kind}}}
        for i, (zone, kind) in enumerate(specs)]}


NODES = node_list(*[("cn-shanghai-f", "ecs.g7.4xlarge")] * 30, *[("cn-shanghai-f", "ecs.g7.2xlarge")] * 2,
                  *[("cn-shanghai-g", "ecs.g7.4xlarge")] * 3)


class Cloud:
    """Answers like Alibaba Cloud with credentials, and records every look-up."""

    def __init__(self, free=FREE, quotas=QUOTAS, gateways=None, eips=None):
        self.calls: list[tuple[str, dict]] = []
        self.free, self.quotas = free, quotas
        self.gateways = gateways if gateways is not None else [{"id": "ngw-g1", "vpcId": "vpc-a1", "snatTableIds": ["stb-t1"]}]
        self.eips = eips if eips is not None else {"47.100.1.2": ("ngw-g1", "Nat"), "47.100.1.3": ("ngw-g1", "Nat")}

    def answers(self):
        def recorded(token, fn):
            def answer(args):
                self.calls.append((token, args))
                return fn(args)
            return answer

        return {
            INSTANCE_TYPES: recorded(INSTANCE_TYPES, self._types),
            SWITCHES: recorded(SWITCHES, self._switches),
            NAT: recorded(NAT, self._gateways),
            EIPS: recorded(EIPS, self._eips),
            "alicloud:vpc/getNetworks:getNetworks": recorded("getNetworks", lambda a: {
                "ids": a["ids"], "vpcs": [{"id": i, "cidrBlock": "10.0.0.0/8"} for i in a["ids"]]}),
        }

    def _types(self, args):
        # As the real data source answers: DescribeInstanceTypes has no InstanceType filter, so every
        # type of the region comes back whatever `instanceType` says.
        return {"ids": list(self.quotas), "instanceTypes": [
            {"id": kind, "eniQuantity": enis, "eniPrivateIpAddressQuantity": ips} for kind, (enis, ips) in self.quotas.items()]}

    def _switches(self, args):
        ids = [i for i in args.get("ids") or [] if i in self.free]
        return {"ids": ids, "vswitches": [
            {"id": i, "zoneId": self.free[i][0], "availableIpAddressCount": self.free[i][1], "vpcId": "vpc-a1",
             "cidrBlock": "10.9.0.0/19"} for i in ids]}

    def _gateways(self, args):
        wanted = args.get("ids")
        found = [g for g in self.gateways if not wanted or g["id"] in wanted]
        if args.get("vpcId"):
            found = [g for g in found if g["vpcId"] == args["vpcId"]]
        return {"ids": [g["id"] for g in found], "gateways": found}

    def _eips(self, args):
        return mocks.eip_addresses_answer({
            ip: {"instanceId": bound, "instanceType": kind, "status": "InUse" if bound else "Available"}
            for ip, (bound, kind) in self.eips.items()})(args)

    def count(self, token):
        return len([c for c in self.calls if c[0] == token])


def declare(config, cloud=None, nodes=NODES, eni_config=None):
    def reader(_kubeconfig):
        if isinstance(nodes, Exception):
            raise nodes
        return nodes

    return evaluate(lambda: run(config, environ={}, node_reader=reader), config, stack="capacity",
                    eni_config=eni_config, cloud_answers=cloud.answers() if cloud else None)
