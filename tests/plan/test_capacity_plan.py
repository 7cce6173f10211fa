"""The offline plan's capacity section, from the --nodes / --vswitches / --instance-types files."""
from __future__ import annotations

import json

import pytest

from .plan_cli import plan

NODES = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        *[{"metadata": {"name": f"f{i}", "labels": {"topology.kubernetes.io/zone": "cn-shanghai-f",
                                                     "node.kubernetes.io/instance-type": "ecs.g7.4xlarge"}}} for i in range(40)],
        {"metadata": {"name": "e0", "labels": {"topology.kubernetes.io/zone": "cn-shanghai-e",
                                                "node.kubernetes.io/instance-type": "ecs.g7.2xlarge"}}},
    ],
}
VSWITCHES = "vsw-uf6existing00000000f: {zone: cn-shanghai-f, availableIps: 35}\nvsw-uf6existing00000000g: {zone: cn-shanghai-g, availableIps: 6000}\n"
TYPES = "ecs.g7.4xlarge: {eniQuantity: 8, privateIpsPerEni: 30}\n"


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "nodes.json").write_text(json.dumps(NODES))
    (tmp_path / "vswitches.yaml").write_text(VSWITCHES)
    (tmp_path / "types.yaml").write_text(TYPES)
    return tmp_path


def test_capacity_json_section_from_the_files(files):
    result = plan("--stack", "prod", "--format", "json", "--nodes", str(files / "nodes.json"),
                  "--vswitches", str(files / "vswitches.yaml"), "--instance-types", str(files / "types.yaml"))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    f = document["capacity"]["cn-shanghai-f"]
    assert (f["nodes"], f["maxPodsPerNode"], f["availableIps"], f["addedIps"], f["headroom"], f["worstCaseIps"]) == (
        40, {"ecs.g7.4xlarge": 210}, 35, 8188, 35 + 8188, 40 * 210)
    assert document["outputs"]["podIpCapacity"] == document["capacity"]
    e = document["capacity"]["cn-shanghai-e"]
    assert e["availableIps"] is None and "getInstanceTypes gave no ENI quota" in e["unknown"][0]
    assert any("cn-shanghai-e: 1 nodes but eni_conf lists no vSwitch" in w for w in document["warnings"])


def test_capacity_table_says_what_it_could_not_compute_without_the_files():
    result = plan("--stack", "prod")
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("Pod IP capacity per zone")[1].split("\n\n")[0]
    assert "cn-shanghai-f  ?" in section  # nodes unknown, not 0
    assert "cn-shanghai-f: not computed: nodes: offline plan without --nodes (kubectl get nodes -o json)" in section
    assert "cn-shanghai-f: not computed: available IPs: free IPs of vsw-uf6existing00000000f unknown" in section


@pytest.mark.parametrize(
    "flag, text, message",
    [
        ("--nodes", '{"kind": "List"}', "nodes.txt: items: missing: expected the output of `kubectl get nodes -o json`"),
        ("--nodes", "{not yaml: [", "nodes.txt: is not valid YAML"),
        ("--vswitches", "vsw-a: {zone: cn-shanghai-f, availableIps: -1}", "vswitches.txt: vsw-a.availableIps: must be a whole number >= 0"),
        ("--vswitches", "subnet-1: {zone: cn-shanghai-f, availableIps: 1}", "vswitches.txt: subnet-1: is not a vSwitch id"),
        ("--instance-types", "ecs.x: {eniQuantity: true, privateIpsPerEni: 2}", "types.txt: ecs.x.eniQuantity: must be a whole number >= 1"),
    ],
)
def test_bad_capacity_files_exit_2_naming_the_key(tmp_path, flag, text, message):
    name = {"--nodes": "nodes.txt", "--vswitches": "vswitches.txt", "--instance-types": "types.txt"}[flag]
    (tmp_path / name).write_text(text)
    result = plan("--stack", "prod", flag, str(tmp_path / name))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
