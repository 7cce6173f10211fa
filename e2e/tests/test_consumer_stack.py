"""Issue 13 §2: another stack reads this stack's outputs through a StackReference, under the real engine.

The producer is this project, `pulumi up` on a local control plane (mode typha, adopted pod vSwitches,
so no cloud resource). The consumer is `e2e/consumer`, a second Pulumi project on the SAME file
backend, reading every output named in `terway_stack/outputs_contract.py` with `require_output`, as
the README's example does. Asserted: every contract output arrives, with its contract type (as the
JSON of `pulumi stack output` and as Python values in the consumer), and the values the e2e stack
must have. Pulumi's Python SDK drops null members when a StackReference is read: the consumer sees
a null capacity figure as an absent key, and the contract's `nulls_dropped` check allows exactly that.
It also checks the Typha Deployment as the API server stored it (issue 10 §4).
"""
from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.controlplane import ZONES  # noqa: E402
from e2e.pulumi_project import PulumiCli, adopted_stack_config, copy_project, init_stack  # noqa: E402
from terway_stack import outputs_contract as contract  # noqa: E402

NODES = 3
STACK = "e2e-consumed"
ADOPTED = {ZONES[0]: "vsw-e2econsumedf"}
CONSUMER = REPO / "e2e" / "consumer"
# On a file backend every stack lives in the organization named "organization".
STACK_REFERENCE = f"organization/terway/{STACK}"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pulumi")  # one state directory (file backend) for both projects


@pytest.fixture(scope="module")
def producer(cp, home, tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("producer"))
    cli = PulumiCli(project, home, on_error=pytest.fail)
    init_stack(cli, STACK, adopted_stack_config("e2e-consumed", NODES, "typha", ADOPTED), cp.kubeconfig_inline())
    cli("up", "--yes", "--skip-preview")
    return cli


def consumer_project(target: Path) -> Path:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(CONSUMER / name, target / name)
    (target / "venv").symlink_to(Path(sys.prefix))
    return target


@pytest.fixture(scope="module")
def consumer(producer, home, tmp_path_factory):
    cli = PulumiCli(consumer_project(tmp_path_factory.mktemp("consumer")), home, on_error=pytest.fail)
    cli("stack", "init", "reader")
    cli("config", "set", "terwayStack", STACK_REFERENCE)
    cli("config", "set", "outputs", json.dumps(list(contract.NAMES)))
    cli("up", "--yes", "--skip-preview")
    return cli


def stack_outputs(cli) -> dict:
    return json.loads(cli("stack", "output", "--json").stdout)


def live_nodes_by_zone(cp) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for node in cp.core().list_node().items:
        labels = node.metadata.labels or {}
        kinds = counts.setdefault(labels["topology.kubernetes.io/zone"], {})
        kind = labels["node.kubernetes.io/instance-type"]
        kinds[kind] = kinds.get(kind, 0) + 1
    return counts


def capacity_of_the_e2e_cluster(cp):
    """podIpCapacity is read live: check it against the control plane rather than a literal."""
    nodes = live_nodes_by_zone(cp)

    def check(figures: dict) -> bool:
        assert {zone: f["nodesByInstanceType"] for zone, f in figures.items() if f["nodes"]} == nodes
        for zone, f in figures.items():  # no cloud here: quotas unknown, null, and `unknown` says why
            assert f["maxPodsPerNode"] == {f"{kind} shared": None for kind in nodes.get(zone, {})}
            assert any("terway:cloudLookups is false" in note for note in f["unknown"])
        assert figures[ZONES[0]]["vswitches"][-1] == ADOPTED[ZONES[0]]
        return True

    return check


def expected_e2e_outputs(cp, producer) -> dict:
    """Every contract output: its value for the e2e stack, or a check where the value is read live."""
    return {
        "clusterName": "e2e-consumed",
        "networkPolicyMode": "typha",
        "typhaServiceName": "calico-typha",
        "typhaReplicas": 2,  # 3 nodes: the minimum 3 is lowered to nodes - 1, so a node stays free
        "podVSwitchIds": ADOPTED,
        "podVSwitchCidrs": {},  # adopted, not created
        "podVSwitchUsableIps": {},
        "terwayDaemonSets": ["terway-eniip"],
        "eniConfigTrigger": stack_outputs(producer)["eniConfigTrigger"],
        "podIpCapacity": capacity_of_the_e2e_cluster(cp),
    }


def test_the_stack_exports_every_contract_output_with_its_type(producer):
    produced = stack_outputs(producer)
    assert sorted(produced) == sorted(contract.NAMES)
    assert contract.problems(produced) == []  # state keeps nulls: the strict check


def test_consumer_reads_every_contract_output_with_its_type(consumer):
    read = stack_outputs(consumer)
    python_values = {name: ast.literal_eval(text) for name, text in read.pop("pythonRepr").items()}
    assert sorted(read) == sorted(contract.NAMES) == sorted(python_values)
    # Pulumi's Python SDK drops null members on the way in (the capacity figures the e2e cluster
    # cannot know are null): the contract counts an absent member of a nullable type as null.
    assert contract.problems(read, nulls_dropped=True) == []  # as the consumer re-exported them
    assert contract.problems(python_values, nulls_dropped=True) == []  # as Python values in the consumer
    assert contract.problems(read) != []  # the drop is real: the strict check sees the missing figures


def test_consumer_reads_the_e2e_stacks_values(cp, consumer, producer):
    expected = expected_e2e_outputs(cp, producer)
    assert sorted(expected) == sorted(contract.NAMES), "every contract output needs its e2e value here"
    produced = stack_outputs(producer)
    for name, want in expected.items():
        assert want(produced[name]) if callable(want) else produced[name] == want, name
    assert len(produced["eniConfigTrigger"]) == 64 and int(produced["eniConfigTrigger"], 16) >= 0
    read = stack_outputs(consumer)
    assert {n: read[n] for n in contract.NAMES} == {n: contract.drop_nulls(produced[n]) for n in contract.NAMES}


def test_a_consumer_reading_a_renamed_output_fails_naming_it(consumer):
    consumer("config", "set", "outputs", json.dumps([*contract.NAMES, "typhaReplicaCount"]))
    try:
        result = consumer("preview", check=False)
        assert result.returncode != 0
        assert "typhaReplicaCount" in result.stdout + result.stderr
    finally:
        consumer("config", "set", "outputs", json.dumps(list(contract.NAMES)))


def test_typha_as_the_api_server_stored_it_keeps_off_virtual_kubelet_and_runs_non_root(cp, producer):
    # Issue 10 §4 against a real kube-apiserver: the affinity and security settings pass its
    # validation, are kept as written (not pruned or defaulted away), and the rollout became ready.
    deployment = cp.apps().read_namespaced_deployment("calico-typha", "kube-system")
    spec = deployment.spec.template.spec
    [term] = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    assert [(e.key, e.operator, e.values) for e in term.match_expressions] == [("type", "NotIn", ["virtual-kubelet"])]
    assert spec.security_context.seccomp_profile.type == "RuntimeDefault"
    [container] = spec.containers
    context = container.security_context
    assert (context.run_as_non_root, context.run_as_user, context.allow_privilege_escalation) == (True, 999, False)
    assert deployment.status.ready_replicas == 2
    nodes = {n.metadata.name: n.metadata.labels for n in cp.core().list_node().items}
    pods = cp.core().list_namespaced_pod("kube-system", label_selector="k8s-app=calico-typha").items
    assert pods and all(nodes[p.spec.node_name].get("type") != "virtual-kubelet" for p in pods)
