"""Trunk ENI member ENIs through the offline plan (`python -m terway_stack plan`), from the files kubectl
would save: nodes with Terway's instance-type annotation and Node CRs (issue 18)."""
from __future__ import annotations

import json

from .plan_cli import eni_conf_with, plan, write_json

# A trunk-capable type, by hand: 8 ENIs of 30 IPv4 and 38 ENIs in all -> 30 member ENIs per node.
TRUNK_INFO = json.dumps({"InstanceTypeId": "ecs.g7.4xlarge", "EniQuantity": 8, "EniPrivateIpAddressQuantity": 30,
                         "EniTotalQuantity": 38, "EniTrunkSupported": True, "EriQuantity": 0})


def trunk_node(name, labels=None):
    return {"metadata": {"name": name, "labels": {
        "topology.kubernetes.io/zone": "cn-shanghai-f", "node.kubernetes.io/instance-type": "ecs.g7.4xlarge", **(labels or {})},
        "annotations": {"alibabacloud.com/instance-type-info": TRUNK_INFO}}}


def node_cr(name, attached):
    nics = {"eni-trunk": {"networkInterfaceType": "Trunk", "networkInterfaceTrafficMode": "Standard"}}
    nics.update({f"eni-{i}": {"networkInterfaceType": "Secondary", "networkInterfaceTrafficMode": "Standard"}
                 for i in range(attached - 1)})
    return {"metadata": {"name": name}, "status": {"networkInterfaces": nics}}


def test_trunk_nodes_show_member_enis_apart_and_keep_their_shared_figures(tmp_path):
    nodes = {"kind": "List", "items": [
        trunk_node("full"), trunk_node("room"),
        trunk_node("exclusive", labels={"k8s.aliyun.com/exclusive-mode-eni-type": "eniOnly"}),
    ]}
    crs = {"kind": "List", "items": [node_cr("full", 7), node_cr("room", 3), node_cr("exclusive", 2)]}
    files = ["--nodes", write_json(tmp_path, "nodes.json", nodes), "--node-crs", write_json(tmp_path, "crs.json", crs),
             "--vswitches", write_json(tmp_path, "vsw.json", {"vsw-uf6existing00000000f": {"zone": "cn-shanghai-f", "availableIps": 100}})]
    conf = eni_conf_with(tmp_path, ipam_type="crd", enable_eni_trunking=True)
    result = plan("--stack", "prod", "--format", "json", "--eni-config", conf, *files)
    assert result.returncode == 0, result.stderr
    f = json.loads(result.stdout)["capacity"]["cn-shanghai-f"]
    # By hand: member ENIs 30 + 30 (the exclusive node runs no trunk); shared figures as without trunking:
    # full 0, room 4 free x 30 = 120, exclusive 5 free x 1 = 5.
    assert (f["trunkMemberEnis"], f["newEniIps"], f["nodesAtEniLimit"]) == (60, 125, 1)
    assert f["maxPodsPerNode"] == {"ecs.g7.4xlarge exclusive": 7, "ecs.g7.4xlarge shared": 210}
    table = plan("--stack", "prod", "--eni-config", conf, *files).stdout
    assert "cn-shanghai-f: trunk member ENIs 60 (PodNetworking pods, one IP each from its vSwitchOptions" in table
