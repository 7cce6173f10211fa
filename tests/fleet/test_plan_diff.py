import json
from pathlib import Path

import yaml

from terway_stack.fleet.plan_diff import CREATE, DELETE, NO_OP, REPLACE, UPDATE, diff_plans
from tests.cli_runs import run_module

REPO = Path(__file__).resolve().parents[2]


def plan(resources):
    return {"stack": "s", "resources": [{"type": t, "name": n, "inputs": i} for t, n, i in resources]}


SWITCH = "alicloud:vpc/switch:Switch"
TYPHA = "kubernetes:apps/v1:Deployment"


def test_each_resource_gets_one_op_and_its_changed_keys():
    base = plan([
        (SWITCH, "pods-f", {"cidrBlock": "10.0.32.0/19", "tags": {"a": "1"}}),
        (SWITCH, "pods-g", {"cidrBlock": "10.0.64.0/19", "tags": {}}),
        (TYPHA, "calico-typha-deployment", {"metadata": {"name": "calico-typha"}, "spec": {"replicas": 3}}),
        ("kubernetes:core/v1:Service", "calico-typha-service", {"spec": {"ports": [5473]}}),
        ("alicloud:vpc/snatEntry:SnatEntry", "snat-g", {"snatIp": "47.1.1.1"}),
    ])
    head = plan([
        (SWITCH, "pods-f", {"cidrBlock": "10.0.32.0/19", "tags": {"a": "2"}}),
        (SWITCH, "pods-g", {"cidrBlock": "10.0.96.0/19", "tags": {}}),
        (TYPHA, "calico-typha-deployment", {"metadata": {"name": "calico-typha"}, "spec": {"replicas": 6}}),
        ("kubernetes:core/v1:Service", "calico-typha-service", {"spec": {"ports": [5473]}}),
        (SWITCH, "pods-h", {"cidrBlock": "10.0.128.0/19"}),
    ])
    diff = diff_plans("prod", base, head)
    by_name = {r.name: (r.op, r.keys) for r in diff.resources}
    assert by_name == {
        "pods-f": (UPDATE, ("tags.a",)),
        "pods-g": (REPLACE, ("cidrBlock",)),  # willReplaceOnChanges in the alicloud schema
        "calico-typha-deployment": (UPDATE, ("spec.replicas",)),
        "calico-typha-service": (NO_OP, ()),
        "snat-g": (DELETE, ()),
        "pods-h": (CREATE, ()),
    }
    assert diff.counts() == {"create": 1, "update": 2, "replace": 1, "delete": 1, "no-op": 1}
    assert "calico-typha-deployment.spec.replicas" in diff.changed_keys()


def test_a_kubernetes_rename_is_a_replacement_and_a_new_stack_is_all_creates():
    base = plan([(TYPHA, "t", {"metadata": {"name": "a"}})])
    head = plan([(TYPHA, "t", {"metadata": {"name": "b"}})])
    assert diff_plans("s", base, head).resources[0].op == REPLACE
    new = diff_plans("s", None, head)
    assert new.base_missing and [r.op for r in new.resources] == [CREATE]


def run_plan(stack_file: Path) -> dict:
    out = run_module("terway_stack", "plan", "--stack-config", str(stack_file), "--project-dir", str(REPO),
                     "--format", "json", timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_real_plans_of_a_config_change_diff_to_the_keys_it_touches(tmp_path):
    """Both sides are the real offline plan of the program: a PR raising nodeCount changes Typha's replicas,
    the vSwitch CIDR change is a replacement, and nothing else moves."""
    config = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    base_file = tmp_path / "Pulumi.base.yaml"
    base_file.write_text(yaml.safe_dump(config))
    config["config"]["terway:cluster"]["nodeCount"] = 3000
    zones = config["config"]["terway:podVSwitches"]["zones"]
    zone = sorted(zones)[0]
    zones[zone]["cidr"] = "10.0.160.0/19"
    head_file = tmp_path / "Pulumi.head.yaml"
    head_file.write_text(yaml.safe_dump(config))
    diff = diff_plans("prod", run_plan(base_file), run_plan(head_file))
    changed = {r.name: (r.op, r.keys) for r in diff.changed}
    assert changed["calico-typha-deployment"][0] == UPDATE
    assert "spec.replicas" in changed["calico-typha-deployment"][1]
    switch = next(name for name in changed if name.endswith(f"pods-{zone}"))
    assert changed[switch] == (REPLACE, ("cidrBlock",))
    assert diff.counts()["no-op"] > 5
