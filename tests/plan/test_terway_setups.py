"""Issue 18's set-ups through the offline plan (`python -m terway_stack plan`), each with the live files
kubectl would save: per-node modes and limits, the smaller points, dual stack, SNAT coverage."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from terway_stack.plan.mocks import SAMPLE_ENI_CONFIG

from .plan_cli import ROOT, eni_conf_with, plan, write_json

G7_INFO = json.dumps({"InstanceTypeId": "ecs.g7.4xlarge", "EniQuantity": 8, "EniPrivateIpAddressQuantity": 30,
                      "EniTotalQuantity": 8, "EriQuantity": 0})


def saved_eni_config(tmp_path: Path, **data: str) -> Path:
    configmap = yaml.safe_load(SAMPLE_ENI_CONFIG.read_text())
    configmap["data"].update(data)
    path = tmp_path / "eni-config.yaml"
    path.write_text(yaml.safe_dump(configmap))
    return path


def kube_node(name, zone="cn-shanghai-f", labels=None):
    return {"metadata": {"name": name, "labels": {
        "topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": "ecs.g7.4xlarge", **(labels or {})},
        "annotations": {"alibabacloud.com/instance-type-info": G7_INFO}}}


def node_cr(name, attached):
    return {"metadata": {"name": name}, "spec": {"nodeCap": {"adapters": 8, "ipv4PerAdapter": 30}},
            "status": {"networkInterfaces": {f"eni-{i}": {"networkInterfaceType": "Secondary",
                                                          "networkInterfaceTrafficMode": "Standard"} for i in range(attached)}}}


# ------------------------------------------------------------------------------------ capacity per node


def test_mixed_cluster_capacity_per_node_mode(tmp_path):
    """Shared, exclusive (label) and prefix (per-node config) nodes; one shared node at its ENI limit."""
    nodes = {"kind": "List", "items": [
        kube_node("shared-full"), kube_node("shared-room"),
        kube_node("exclusive", labels={"k8s.aliyun.com/exclusive-mode-eni-type": "eniOnly"}),
        kube_node("prefix", labels={"terway-config": "prefix-pool"}),
    ]}
    crs = {"kind": "List", "items": [node_cr("shared-full", 7), node_cr("shared-room", 5), node_cr("exclusive", 2),
                                     node_cr("prefix", 1)]}
    configmaps = {"kind": "List", "items": [
        {"metadata": {"name": "prefix-pool", "namespace": "kube-system"}, "data": {"eni_conf": '{"enable_ip_prefix": true}'}}]}
    result = plan(
        "--stack", "prod", "--format", "json", "--eni-config", eni_conf_with(tmp_path, ipam_type="crd", min_pool_size=4),
        "--nodes", write_json(tmp_path, "nodes.json", nodes), "--node-crs", write_json(tmp_path, "crs.json", crs),
        "--configmaps", write_json(tmp_path, "cms.json", configmaps),
        "--vswitches", write_json(tmp_path, "vsw.json", {"vsw-uf6existing00000000f": {"zone": "cn-shanghai-f", "availableIps": 100}}),
    )
    assert result.returncode == 0, result.stderr
    f = json.loads(result.stdout)["capacity"]["cn-shanghai-f"]
    # By hand: 8 ENIs x 30 IPs; pod ENIs 7 under centralized IPAM.
    #   shared-full: 7 of 7 attached -> at its limit; shared-room: 2 free x 30 = 60;
    #   exclusive: 5 free x 1 = 5; prefix: 6 free x (30 - 1) x 16 = 2784.
    assert f["nodesByMode"] == {"shared": 2, "exclusive": 1, "prefix": 1}
    assert f["maxPodsPerNode"] == {"ecs.g7.4xlarge exclusive": 7, "ecs.g7.4xlarge prefix": 7 * 29 * 16,
                                   "ecs.g7.4xlarge shared": 210}
    assert (f["nodesCanAttachEni"], f["nodesAtEniLimit"], f["nodesEniStateUnknown"]) == (3, 1, 0)
    assert f["newEniIps"] == 60 + 5 + 2784
    assert (f["addedIps"], f["addedUsableIps"], f["usableHeadroomIps"]) == (8188, 2849, 100 + 2849)
    assert f["warmIps"] == 2 * 4  # prefix and exclusive pools are zeroed
    assert f["worstCaseIps"] == 2 * 210 + 7 + 7 * 29 * 16
    table = plan("--stack", "prod", "--eni-config", eni_conf_with(tmp_path, ipam_type="crd"),
                 "--nodes", str(tmp_path / "nodes.json"), "--node-crs", str(tmp_path / "crs.json"),
                 "--configmaps", str(tmp_path / "cms.json")).stdout
    assert "1 (needs new nodes)" in table and "USABLE HEADROOM" in table and "1 of 4 nodes are at their ENI limit" in table


def test_eni_knobs_lower_max_pods_on_the_legacy_path(tmp_path):
    nodes = {"kind": "List", "items": [kube_node("a")]}
    result = plan("--stack", "prod", "--format", "json", "--eni-config", eni_conf_with(tmp_path, max_eni=3),
                  "--nodes", write_json(tmp_path, "nodes.json", nodes))
    assert json.loads(result.stdout)["capacity"]["cn-shanghai-f"]["maxPodsPerNode"] == {"ecs.g7.4xlarge shared": 90}


# ------------------------------------------------------------------------------------ the smaller points


def test_disable_network_policy_with_a_newline_is_off_and_needs_confirmation(tmp_path):
    result = plan("--stack", "prod", "--eni-config", str(saved_eni_config(tmp_path, disable_network_policy="false\n")))
    assert result.returncode == 2
    assert "kube-system/eni-config:disable_network_policy: is 'false\\n': NetworkPolicy is off" in result.stderr


def test_a_per_node_config_with_null_vswitches_stops_the_plan(tmp_path):
    configmaps = {"kind": "List", "items": [
        {"metadata": {"name": "gpu-pool"}, "data": {"eni_conf": '{"vswitches": null, "max_pool_size": 5}'}}]}
    nodes = {"kind": "List", "items": [kube_node("g", labels={"terway-config": "gpu-pool"})]}
    result = plan("--stack", "prod", "--nodes", write_json(tmp_path, "nodes.json", nodes),
                  "--configmaps", write_json(tmp_path, "cms.json", configmaps))
    assert result.returncode == 2, result.stdout
    assert ("kube-system/gpu-pool:eni_conf.vswitches: is null, which removes the base's vswitches (RFC 7396) for nodes "
            "labelled terway-config=gpu-pool") in result.stderr
    assert "cn-shanghai-f, cn-shanghai-g" in result.stderr and "Traceback" not in result.stderr


def test_the_conflist_decides_over_the_conf(tmp_path):
    conf = json.dumps({"type": "terway", "network_policy_provider": "ebpf"})
    conflist = json.dumps({"plugins": [{"type": "terway", "eniip_virtual_type": "Veth"}]})
    both = plan("--stack", "prod", "--format", "json",
                "--eni-config", str(saved_eni_config(tmp_path, **{"10-terway.conf": conf, "10-terway.conflist": conflist})))
    assert both.returncode == 0, both.stderr
    assert not any("ebpf" in w for w in json.loads(both.stdout)["warnings"])
    (tmp_path / "alone").mkdir()
    alone = plan("--stack", "prod", "--format", "json",
                 "--eni-config", str(saved_eni_config(tmp_path / "alone", **{"10-terway.conf": conf})))
    # The prod stack runs mode typha, which the preflight refuses where Felix does not run (ebpf).
    assert alone.returncode == 2
    assert "10-terway.conf sets network_policy_provider ebpf" in alone.stderr


def test_the_ack_registry_form_is_recognised(tmp_path):
    stack = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    stack["config"]["terway:typha"]["image"] = "registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/typha:v3.24.5"
    path = tmp_path / "Pulumi.ack.yaml"
    path.write_text(yaml.safe_dump(stack))
    result = plan("--stack-config", str(path), "--project-dir", str(ROOT), "--format", "json")
    messages = [v["message"] for v in json.loads(result.stdout)["violations"]]
    assert any("comes from the cn-hangzhou registry but the stack is in cn-shanghai" in m for m in messages), messages


# ------------------------------------------------------------------------------------ dual stack, egress


def test_dual_stack_gives_the_planned_vswitches_ipv6(tmp_path):
    result = plan("--stack", "prod", "--format", "json", "--eni-config", eni_conf_with(tmp_path, ip_stack="dual"))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    switches = [r["inputs"] for r in document["resources"] if r["type"] == "alicloud:vpc/switch:Switch"]
    assert len(switches) == 2 and all(s["enableIpv6"] is True for s in switches)
    assert any("IPv6 block of VPC vpc-uf6prodshanghai0000001" in line for line in document["checksNotRun"])
    ipv4 = json.loads(plan("--stack", "prod", "--format", "json").stdout)
    assert not any("enableIpv6" in r["inputs"] for r in ipv4["resources"])


def test_an_adopted_vswitch_without_ipv6_stops_a_dual_stack_plan(tmp_path):
    vswitches = {"vsw-uf6devpods0000000g": {"zone": "cn-shanghai-g", "availableIps": 10, "ipv6CidrBlock": ""}}
    result = plan("--stack", "dev", "--eni-config", eni_conf_with(tmp_path, ip_stack="dual"),
                  "--vswitches", write_json(tmp_path, "vsw.json", vswitches))
    assert result.returncode == 2, result.stdout
    assert "eni_conf.ip_stack is 'dual'" in result.stderr and "has no IPv6 CIDR block" in result.stderr


def test_a_vpc_wide_snat_entry_stops_the_plan_unless_confirmed(tmp_path):
    entries = [{"id": "snat-vpcwide", "sourceCidr": "10.0.0.0/8", "snatIp": "47.100.9.9"}]
    path = write_json(tmp_path, "snat.json", entries)
    result = plan("--stack", "prod", "--snat-entries", path)
    assert result.returncode == 2, result.stdout
    assert ("terway:podVSwitches.zones.cn-shanghai-f.cidr: 10.0.32.0/19 is already covered by SNAT entry snat-vpcwide "
            "(source_cidr 10.0.0.0/8, egress IP 47.100.9.9)") in result.stderr
    stack = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    stack["config"]["terway:podVSwitches"]["snat"]["confirmEgressChange"] = True
    confirmed = tmp_path / "Pulumi.confirmed.yaml"
    confirmed.write_text(yaml.safe_dump(stack))
    assert plan("--stack-config", str(confirmed), "--project-dir", str(ROOT), "--snat-entries", path).returncode == 0
    offline = json.loads(plan("--stack", "prod", "--format", "json").stdout)["checksNotRun"]
    assert any(line.startswith("SNAT entries already covering the new CIDRs: not read") for line in offline)


def test_a_stale_pod_networking_is_shown_by_the_plan(tmp_path):
    pod_networkings = {"kind": "List", "items": [
        {"metadata": {"name": "web"}, "spec": {"vSwitchOptions": ["vsw-uf6existing00000000f", "vsw-uf6existing00000000g"]}},
        {"metadata": {"name": "batch"}, "spec": {"vSwitchOptions": ["vsw-elsewhere"]},
         "status": {"vSwitches": [{"id": "vsw-elsewhere", "zone": "cn-shanghai-e"}]}}]}
    result = plan("--stack", "prod", "--format", "json", "--nodes", write_json(tmp_path, "n.json", {"items": []}),
                  "--pod-networkings", write_json(tmp_path, "pn.json", pod_networkings))
    assert result.returncode == 0, result.stderr
    warnings = json.loads(result.stdout)["warnings"]
    assert [w.split(" but ")[0] for w in warnings if w.startswith("PodNetworking")] == [
        "PodNetworking web covers cn-shanghai-f", "PodNetworking web covers cn-shanghai-g"]
