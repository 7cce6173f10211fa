"""A mixed-mode Terway cluster on top of the ACK seed (e2e/ack_seed.py): issue 18's e2e set-up.

What it adds, as Terway v1.16+ itself leaves a cluster:
- Terway's CRDs (e2e/terway_crds/, copied from Terway's pkg/apis/crds);
- on every node the annotation `alibabacloud.com/instance-type-info` (ECS's InstanceType JSON, what
  Terway's GetLimitFromAnno reads), and per node its mode: the label
  `k8s.aliyun.com/exclusive-mode-eni-type: eniOnly`, or `terway-config: prefix-pool` pointing at a
  per-node ConfigMap with `enable_ip_prefix`;
- one Node CR per node (`spec.nodeCap`, and `status.networkInterfaces` with the ENIs attached);
- `ipam_type: crd` and `enable_eni_trunking: true` in eni_conf (centralized IPAM, the chart default;
  trunk ENI for PodNetworking); one node's type supports trunking (EniTotalQuantity 38, so
  38 - 8 = 30 member ENIs, `nodeCap.memberAdapterLimit` as Terway's controller writes it) and it has a
  Trunk ENI among its attached ones; the other nodes' type has no member ENIs, so trunking stays off there;
- a PodNetworking created the way terway-controlplane's webhook fills it: every vSwitch of eni_conf.

`expected_capacity` holds the figures computed by hand for this cluster.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from e2e import ack_seed
from e2e.waiting import wait_until

CRD_DIR = Path(__file__).resolve().parent / "terway_crds"
GROUP, VERSION = "network.alibabacloud.com", "v1beta1"
PER_NODE_CONFIG = "prefix-pool"
POD_NETWORKING = "web"
# ecs.g7.4xlarge: 8 ENIs, 30 private IPv4 each, no ERDMA.
INSTANCE_TYPE_INFO = json.dumps({
    "InstanceTypeId": ack_seed.INSTANCE_TYPE, "EniQuantity": 8, "EniPrivateIpAddressQuantity": 30,
    "EniTotalQuantity": 8, "EniIpv6AddressQuantity": 0, "EriQuantity": 0,
})
# The same type where it supports trunk ENIs: 38 ENIs in all, 30 of them member ENIs.
TRUNK_INSTANCE_TYPE_INFO = json.dumps({**json.loads(INSTANCE_TYPE_INFO), "EniTotalQuantity": 38, "EniTrunkSupported": True})
TRUNK_NODE = 1
# node index -> (mode, pod ENIs attached now). Zones round-robin: 0, 2, 4 in ZONES[0]; 1, 3 in ZONES[1].
LAYOUT = {0: ("shared", 7), 1: ("shared", 5), 2: ("exclusive", 2), 3: ("shared", 0), 4: ("prefix", 1)}
NODES = len(LAYOUT)


def install_crds(api_client: Any) -> None:
    from kubernetes.client import ApiextensionsV1Api

    api = ApiextensionsV1Api(api_client)
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        api.create_custom_resource_definition(crd, field_manager=ack_seed.ACK_ADDON_MANAGER)
        name = crd["metadata"]["name"]

        def established(name=name) -> bool:
            conditions = api.read_custom_resource_definition(name).status.conditions or []
            return any(c.type == "Established" and c.status == "True" for c in conditions)

        wait_until(f"CRD {name}", established, timeout=60)


def _nic(index: int, kind: str = "Secondary") -> dict:
    return {"id": f"eni-{index}", "status": "InUse", "networkInterfaceType": kind,
            "networkInterfaceTrafficMode": "Standard"}


def seed_modes(cp: Any) -> None:
    """Turn the ACK seed into the mixed cluster of LAYOUT."""
    from kubernetes.client import CoreV1Api, CustomObjectsApi

    client = cp.api_client()
    core, custom = CoreV1Api(client), CustomObjectsApi(client)
    install_crds(client)
    core.create_namespaced_config_map("kube-system", {
        "metadata": {"name": PER_NODE_CONFIG, "namespace": "kube-system"},
        "data": {"eni_conf": json.dumps({"enable_ip_prefix": True})},
    })
    for index, (mode, attached) in LAYOUT.items():
        name = ack_seed.node_name(index)
        labels = {
            "exclusive": {"k8s.aliyun.com/exclusive-mode-eni-type": "eniOnly"},
            "prefix": {"terway-config": PER_NODE_CONFIG},
        }.get(mode, {})
        trunk = index == TRUNK_NODE
        info = TRUNK_INSTANCE_TYPE_INFO if trunk else INSTANCE_TYPE_INFO
        core.patch_node(name, {"metadata": {"labels": labels, "annotations": {"alibabacloud.com/instance-type-info": info}}})
        cap = {"adapters": 8, "totalAdapters": 38 if trunk else 8, "ipv4PerAdapter": 30, **({"memberAdapterLimit": 30} if trunk else {})}
        node_cr = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Node", "metadata": {"name": name},
                   "spec": {"nodeCap": cap,
                            "nodeMetadata": {"regionID": ack_seed.REGION, "zoneID": cp.zones[index % len(cp.zones)],
                                             "instanceType": ack_seed.INSTANCE_TYPE, "instanceID": f"i-kwok{index:04d}"}}}
        created = custom.create_cluster_custom_object(GROUP, VERSION, "nodes", node_cr)
        created["status"] = {"networkInterfaces": {
            f"eni-{i}": _nic(i, "Trunk" if trunk and i == 0 else "Secondary") for i in range(attached)}}
        custom.replace_cluster_custom_object_status(GROUP, VERSION, "nodes", name, created)
    conf = dict(ack_seed.DEFAULT_ENI_CONF, ipam_type="crd", enable_eni_trunking=True)
    eni_config = ack_seed.eni_config_manifest()
    eni_config["data"]["eni_conf"] = json.dumps(conf, indent=2)
    core.patch_namespaced_config_map("eni-config", "kube-system", eni_config, field_manager=ack_seed.ACK_ADDON_MANAGER)
    every_vswitch = sorted(i for ids in conf["vswitches"].values() for i in ids)
    custom.create_cluster_custom_object(GROUP, VERSION, "podnetworkings", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "PodNetworking", "metadata": {"name": POD_NETWORKING},
        "spec": {"eniOptions": {"eniType": "Default"}, "vSwitchOptions": every_vswitch,
                 "selector": {"podSelector": {"matchLabels": {"app": "web"}}}},
    })


def expected_capacity(zones: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """By hand, for LAYOUT (centralized IPAM: pod ENIs = 8 - 1 = 7; min_pool_size 0 in the seed):

    zone 0: node 0 shared 7/7 attached (at its limit), node 2 exclusive 2/7 (5 x 1 IP more),
            node 4 prefix 1/7 (6 x (30 - 1) x 16 = 2784 more) -> new-ENI IPs 2789.
    zone 1: node 1 shared 5/7 (2 x 30 = 60 more), node 3 shared 0/7 (7 x 30 = 210) -> 270.
    Trunk member ENIs: node 1 only, 38 - 8 = 30 (its trunk ENI is one of its 5 and changes nothing above).
    """
    return {
        zones[0]: {"nodes": 3, "nodesByMode": {"shared": 1, "exclusive": 1, "prefix": 1},
                   "maxPodsPerNode": {f"{ack_seed.INSTANCE_TYPE} exclusive": 7, f"{ack_seed.INSTANCE_TYPE} prefix": 7 * 29 * 16,
                                      f"{ack_seed.INSTANCE_TYPE} shared": 210},
                   "nodesCanAttachEni": 2, "nodesAtEniLimit": 1, "nodesEniStateUnknown": 0, "newEniIps": 5 + 2784,
                   "worstCaseIps": 210 + 7 + 7 * 29 * 16, "warmIps": 0, "trunkMemberEnis": 0},
        zones[1]: {"nodes": 2, "nodesByMode": {"shared": 2, "exclusive": 0, "prefix": 0},
                   "maxPodsPerNode": {f"{ack_seed.INSTANCE_TYPE} shared": 210},
                   "nodesCanAttachEni": 2, "nodesAtEniLimit": 0, "nodesEniStateUnknown": 0, "newEniIps": 60 + 210,
                   "worstCaseIps": 2 * 210, "warmIps": 0, "trunkMemberEnis": 30},
    }
