"""The rollout-restart provider, and the preflight gate's per-node config read, against a real kube-apiserver.

A local control plane (e2e/controlplane.py: etcd, kube-apiserver, controller-manager, scheduler,
kwok) runs 20 fake nodes with the ACK-like terway-eniip DaemonSet (maxUnavailable 10%). The real
DaemonSet controller performs the rollouts. The provider is used the way the engine uses it: it
goes through Pulumi's serializer first, and its methods are called on the deserialized copy.

The audit log tells our requests (User-Agent terway-stack-rollout/...) from the controllers'.
Run: /tmp/v/bin/python -m pytest e2e/tests/test_rollout_provider.py  (after e2e/build-engine.sh)
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # e2e/ is not a package; import the harness and the project from the repo root
    sys.path.insert(0, str(REPO))


from e2e.ack_seed import terway_daemonset_manifest  # noqa: E402
from e2e.audit_log import by_daemonset_controller  # noqa: E402
from e2e.rollout_watch import RolloutWatch  # noqa: E402
from tests.engine_pickling import engine_copy  # noqa: E402
from terway_stack.act import preflight  # noqa: E402
from terway_stack.act import terway_rollout as tr  # noqa: E402
from terway_stack.act.rollout_restart import RESTARTED_AT, TRIGGER_ANNOTATION  # noqa: E402
from terway_stack.act.rollout_wait import RolloutError  # noqa: E402
from terway_stack.decide import facts  # noqa: E402
from terway_stack.decide.facts import PENDING_ID  # noqa: E402
from terway_stack.decide.preflight import PreflightSettings, node_config_problems  # noqa: E402
from terway_stack.decide.restarts import policy_baseline  # noqa: E402

NODES = 20
NS, DS = "kube-system", "terway-eniip"
MAX_UNAVAILABLE = 2  # 10% of 20, rounded up as DaemonSets do
OUR_AGENT = facts.ROLLOUT_USER_AGENT.split("/")[0]




def props(kubeconfig, **over):
    base = {
        "kind": facts.ROLLOUT_KIND,
        "restartMethod": facts.ROLLOUT_METHOD,
        "daemonSet": DS,
        "namespace": NS,
        "trigger": f"trigger-{uuid.uuid4().hex[:8]}",
        "restartOn": "change",
        "timeoutSeconds": 180.0,
        "kubeconfig": kubeconfig,
        "writersChanged": [True],  # a writer changed eni-config in this run: a restart is due
    }
    base.update(over)
    return base


def live(cp, name=DS):
    ds = cp.apps().read_namespaced_daemon_set(name, NS)
    return ds.spec.template.metadata.annotations or {}, ds


def our_writes(cp, since):
    """Every write we sent, failed ones included."""
    return cp.write_events(since, user_agent=OUR_AGENT, ok_only=False)


def summary(events):
    return sorted((e["verb"], e["objectRef"].get("resource"), e["objectRef"].get("name")) for e in events)


# --------------------------------------------------------------------------- change mode


def test_create_rolls_terway_once_within_max_unavailable(cp, kubeconfig, capsys):
    before, ds_before = live(cp)
    since = cp.audit_offset()
    provider = engine_copy(tr.TerwayRolloutProvider())
    with RolloutWatch(cp, NS, DS) as watch:
        result = provider.create(props(kubeconfig))
    after, ds_after = live(cp)

    # One restart, recorded in the outputs and visible on the live template.
    assert result.outs["restarts"] == 1
    assert after[RESTARTED_AT] != before.get(RESTARTED_AT)
    assert result.outs["restartedAt"] == after[RESTARTED_AT]
    assert result.outs["observedGeneration"] == ds_after.status.observed_generation == ds_after.metadata.generation
    assert ds_after.metadata.generation == ds_before.metadata.generation + 1  # exactly one template change

    # The rollout finished: every pod replaced and available.
    status = ds_after.status
    assert status.updated_number_scheduled == status.desired_number_scheduled == NODES
    assert status.number_available == NODES and not status.number_unavailable

    # Our only write was one patch of the DaemonSet: never a pod deletion.
    assert summary(our_writes(cp, since)) == [("patch", "daemonsets", DS)]
    # The DaemonSet controller did replace every pod (so the rollout really happened) ...
    assert cp.count_writes(since, verbs=["delete"], resource="pods", predicate=by_daemonset_controller) == NODES
    # ... never more than maxUnavailable at a time, by its own status and by the pods themselves.
    assert 0 < watch.max_status_unavailable <= MAX_UNAVAILABLE
    assert 0 < watch.max_nodes_without_ready_pod <= MAX_UNAVAILABLE

    progress = capsys.readouterr().err
    assert f"terway-rollout {NS}/{DS}: rolling restart requested" in progress
    assert f"terway-rollout {NS}/{DS}: rollout complete" in progress
    assert kubeconfig not in progress


def test_same_trigger_restarts_nothing_and_changed_trigger_restarts_once(cp, kubeconfig):
    provider = engine_copy(tr.TerwayRolloutProvider())
    first = provider.create(props(kubeconfig))
    since = cp.audit_offset()

    same = provider.update(first.id, first.outs, dict(first.outs))
    assert our_writes(cp, since) == []
    assert (same.outs["restarts"], same.outs["restartedAt"]) == (1, first.outs["restartedAt"])

    # A rerun after a lost create (same trigger, already on the template) only waits.
    again = provider.create(props(kubeconfig, trigger=first.outs["trigger"]))
    assert our_writes(cp, since) == [] and again.outs["restarts"] == 0

    changed = provider.update(first.id, first.outs, props(kubeconfig, trigger="another-" + uuid.uuid4().hex))
    assert summary(our_writes(cp, since)) == [("patch", "daemonsets", DS)]
    assert changed.outs["restarts"] == 2 and changed.outs["restartedAt"] == live(cp)[0][RESTARTED_AT]


def test_read_returns_live_values_and_stored_inputs(cp, kubeconfig):
    provider = engine_copy(tr.TerwayRolloutProvider())
    created = provider.create(props(kubeconfig))
    annotations, ds = live(cp)
    result = provider.read(created.id, created.outs)
    assert result.id == created.id
    assert result.outs["restartedAt"] == annotations[RESTARTED_AT]
    assert result.outs["observedGeneration"] == ds.status.observed_generation
    assert {k: result.outs[k] for k in tr.INPUT_KEYS} == {k: created.outs[k] for k in tr.INPUT_KEYS}
    assert result.outs["restarts"] == created.outs["restarts"]


def test_change_mode_delete_touches_nothing(cp, kubeconfig):
    provider = engine_copy(tr.TerwayRolloutProvider())
    created = provider.create(props(kubeconfig))
    since = cp.audit_offset()
    provider.delete(created.id, created.outs)
    assert our_writes(cp, since) == []


def test_missing_daemonset_is_a_clear_error(cp, kubeconfig):
    since = cp.audit_offset()
    with pytest.raises(RolloutError, match=r"DaemonSet kube-system/terway-eni not found"):
        engine_copy(tr.TerwayRolloutProvider()).create(props(kubeconfig, daemonSet="terway-eni"))
    assert our_writes(cp, since) == []


# --------------------------------------------------------------------------- timeout and resume


@pytest.fixture(scope="module")
def never_available(cp):
    """A Terway-like DaemonSet whose pods are Ready but never Available (minReadySeconds one hour)."""
    manifest = terway_daemonset_manifest()
    name = "terway-slow"
    manifest["metadata"]["name"] = name
    manifest["metadata"]["labels"] = {"app": name}
    manifest["spec"]["selector"] = {"matchLabels": {"app": name}}
    manifest["spec"]["template"]["metadata"]["labels"] = {"app": name}
    manifest["spec"]["minReadySeconds"] = 3600
    cp.apps().create_namespaced_daemon_set(NS, manifest)
    yield name
    cp.apps().delete_namespaced_daemon_set(name, NS)


def test_timeout_error_carries_status_and_rerun_does_not_restart_again(cp, kubeconfig, never_available):
    provider = engine_copy(tr.TerwayRolloutProvider())
    request = props(kubeconfig, daemonSet=never_available, timeoutSeconds=3.0)
    since = cp.audit_offset()
    with pytest.raises(RolloutError) as err:
        provider.create(request)
    message = str(err.value)
    assert f"DaemonSet {NS}/{never_available} did not finish its rolling restart within 3s" in message
    assert f"/{NODES} available" in message and "unavailable" in message and "maxUnavailable 10% = 2" in message
    assert kubeconfig not in message

    # `pulumi up` again: same trigger, already on the template -> wait only, no second patch.
    with pytest.raises(RolloutError, match="did not finish"):
        provider.create({**request, "timeoutSeconds": 2.0})
    assert summary(our_writes(cp, since)) == [("patch", "daemonsets", never_available)]


# --------------------------------------------------------------------------- release mode


def test_release_mode_restarts_only_on_delete_and_a_retried_delete_does_not_restart_again(cp, kubeconfig):
    provider = engine_copy(tr.TerwayRolloutProvider())
    request = props(kubeconfig, restartOn="release")
    since = cp.audit_offset()
    created = provider.create(request)
    updated = provider.update(created.id, created.outs, {**request, "trigger": "new-" + uuid.uuid4().hex})
    assert our_writes(cp, since) == [] and updated.outs["restarts"] == 0

    # The baseline recorded ("new-...") is not what eni-config holds now: the release changed something.
    provider.delete(created.id, updated.outs)
    annotations, ds = live(cp)
    data = cp.core().read_namespaced_config_map("eni-config", NS).data
    assert annotations[TRIGGER_ANNOTATION] == "release:" + policy_baseline(data)
    assert ds.status.updated_number_scheduled == NODES and ds.status.number_available == NODES
    provider.delete(created.id, updated.outs)  # e.g. destroy rerun after a timeout
    assert summary(our_writes(cp, since)) == [("patch", "daemonsets", DS)]


def test_release_mode_delete_of_a_vanished_daemonset_succeeds(cp, kubeconfig):
    provider = engine_copy(tr.TerwayRolloutProvider())
    provider.delete("x", props(kubeconfig, restartOn="release", daemonSet="terway-gone"))


# --------------------------------------------------------------------------- per-node configs


@pytest.fixture
def per_node_config(cp):
    """Node 0 labelled terway-config=big-nodes, with an override ConfigMap listing zone f's vSwitches."""
    core, node = cp.core(), cp.node_names[0]
    zone = cp.node_manifest(0)["metadata"]["labels"]["topology.kubernetes.io/zone"]
    eni_conf = {"vswitches": {zone: ["vsw-existing-f"]}, "max_pool_size": 10}
    core.create_namespaced_config_map(NS, {"metadata": {"name": "big-nodes"}, "data": {"eni_conf": json.dumps(eni_conf)}})
    # A ConfigMap no node selects must not be checked.
    core.create_namespaced_config_map(
        NS, {"metadata": {"name": "unused-nodes"}, "data": {"eni_conf": json.dumps({"vswitches": {zone: []}})}}
    )
    core.patch_node(node, {"metadata": {"labels": {"terway-config": "big-nodes"}}})
    yield zone, eni_conf
    core.patch_node(node, {"metadata": {"labels": {"terway-config": None}}})
    for name in ("big-nodes", "unused-nodes"):
        core.delete_namespaced_config_map(name, NS)


def check(kubeconfig, wanted):
    """The preflight gate's per-node check, as it runs in check(): the live read, then the decision."""
    settings = PreflightSettings(mode="direct", daemon_sets=(DS,), wanted_vswitches=wanted, manages_vswitches=True)
    return [str(p) for p in node_config_problems(settings, preflight.read_node_configs(kubeconfig))]


def test_per_node_config_missing_the_new_vswitch_fails_check(cp, kubeconfig, per_node_config):
    zone, eni_conf = per_node_config
    problems = check(kubeconfig, {zone: ["vsw-new"]})
    assert len(problems) == 1
    assert problems[0].startswith(f"kube-system/big-nodes:eni_conf.vswitches.{zone}:")
    assert "vsw-new" in problems[0]

    # A vSwitch this run creates has no id yet (PENDING_ID): the override hides it as well.
    preview = check(kubeconfig, {zone: [PENDING_ID]})
    assert len(preview) == 1 and "would never use the vSwitch this stack creates there" in preview[0]

    # Another zone, or the id already present: nothing to report.
    assert check(kubeconfig, {"cn-shanghai-x": ["vsw-new"]}) == []
    eni_conf["vswitches"][zone].append("vsw-new")
    cp.core().patch_namespaced_config_map("big-nodes", NS, {"data": {"eni_conf": json.dumps(eni_conf)}})
    assert check(kubeconfig, {zone: ["vsw-new"]}) == []


def test_per_node_check_passes_without_labelled_nodes(cp, kubeconfig):
    assert check(kubeconfig, {"cn-shanghai-f": ["vsw-new"]}) == []
