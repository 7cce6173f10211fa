from terway_stack.fleet.gates import capacity_gate, health_gates, no_changes_gate, rollout_gate, typha_gate
from terway_stack.fleet.model import StepChange

from .k8s_objects import daemon_set, deployment, zone


def test_typha_gate_only_in_mode_typha_and_only_when_every_replica_is_ready():
    assert typha_gate("typha", deployment()).passed
    assert typha_gate("direct", None).passed  # not checked outside mode typha
    missing = typha_gate("typha", None)
    assert not missing.passed and "calico-typha not found" in missing.reason
    short = typha_gate("typha", deployment(ready=2))
    assert not short.passed and "2/3 ready" in short.reason
    stale = typha_gate("typha", deployment(generation=3, observed=2))
    assert not stale.passed and "observed 2" in stale.reason


def test_rollout_gate_needs_every_daemon_set_rolled_and_rolling():
    assert rollout_gate({"terway-eniip": daemon_set()}).passed
    halfway = rollout_gate({"terway-eniip": daemon_set(updated=3)})
    assert not halfway.passed and "rollout not complete: 3/6 updated" in halfway.reason
    on_delete = rollout_gate({"terway-eniip": daemon_set(strategy="OnDelete")})
    assert not on_delete.passed and "updateStrategy OnDelete" in on_delete.reason
    gone = rollout_gate({"terway-eniip": None})
    assert not gone.passed and "terway-eniip not found" in gone.reason
    assert not rollout_gate({}).passed


def test_capacity_gate_applies_the_stacks_own_warning_rule_to_its_output():
    assert capacity_gate({"cn-shanghai-f": zone()}).passed
    thin = capacity_gate({"cn-shanghai-f": zone(availableIps=45)})
    assert not thin.passed and "headroom after this run is 5 IPs" in thin.reason
    unlisted = capacity_gate({"cn-shanghai-g": zone(vswitches=[])})
    assert not unlisted.passed and "eni_conf lists no vSwitch for the zone" in unlisted.reason
    unknown = capacity_gate({"cn-shanghai-f": zone(availableIps=None, headroom=None)})
    assert unknown.passed  # figures not read are not a warning (as at preview)
    assert not capacity_gate(None).passed


def test_no_changes_gate_lists_what_is_pending():
    assert no_changes_gate([]).passed
    pending = no_changes_gate([StepChange("update", "kubernetes:apps/v1:Deployment", "calico-typha-deployment", ("spec.replicas",))])
    assert not pending.passed
    assert pending.reason == "1 pending change(s): update kubernetes:apps/v1:Deployment calico-typha-deployment (spec.replicas)"


def test_health_gates_in_order():
    outputs = {"networkPolicyMode": "typha", "typhaServiceName": "calico-typha", "podIpCapacity": {"cn-shanghai-f": zone()}}
    gates = health_gates(outputs, deployment(), {"terway-eniip": daemon_set()}, [])
    assert [g.name for g in gates] == ["typha-ready", "terway-rollout", "capacity", "follow-up-preview"]
    assert all(g.passed for g in gates)


def test_a_capacity_output_off_the_contract_fails_the_gate():
    broken = zone()
    del broken["headroom"]
    gate = capacity_gate({"cn-shanghai-f": broken})
    assert not gate.passed and "does not match the outputs contract" in gate.reason
