"""Unit tests of the rollout-restart dynamic provider that need no API server.

Anything that talks to Kubernetes is exercised against a real kube-apiserver in
e2e/tests/test_rollout_provider.py; here: the serializer round trip, diff, the no-op paths
(which must not even try to reach a cluster), status and timeout messages, and secrecy.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone

import pulumi
import pytest
from pulumi.runtime import rpc

from terway_stack.act import kube
from terway_stack.act import terway_rollout as tr
from terway_stack.act.rollout_restart import restart_patch
from terway_stack.act.rollout_wait import RolloutError, RolloutStatus, wait_for_rollout
from tests.engine_pickling import engine_pickle, engine_unpickle, in_fresh_interpreter
from terway_stack.decide import facts

from .kubeconfigs import SECRET_TOKEN, UNREACHABLE_KUBECONFIG
from .rollout_values import FakeClock, ds, outputs, props

# --------------------------------------------------------------------------- serializer


def test_provider_survives_pulumi_serializer_and_still_works():
    _, raw = engine_pickle(tr.TerwayRolloutProvider())
    provider = engine_unpickle(raw)
    assert isinstance(provider, tr.TerwayRolloutProvider)
    # By reference: the bytes name the stable import path and carry no code or state.
    assert b"terway_stack.act.terway_rollout" in raw and b"TerwayRolloutProvider" in raw
    assert provider.__dict__ == {}
    assert provider.diff("id", outputs(), props(trigger="t2")).changes is True
    assert provider.check({}, props()).failures == []


def test_unpickles_in_a_fresh_interpreter_by_import_path():
    # The engine's provider process imports the module anew; prove that works from the bytes alone.
    text, _ = engine_pickle(tr.TerwayRolloutProvider())
    out = in_fresh_interpreter(text, "type(p).__module__, p.diff('i', {'trigger': 'a'}, {'trigger': 'a'}).changes")
    assert out.split() == ["terway_stack.act.terway_rollout", "False"]


class _Recorder(pulumi.runtime.Mocks):
    def __init__(self):
        self.inputs = {}

    def new_resource(self, args):
        self.inputs[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


def declare(**kwargs):
    mocks = _Recorder()
    pulumi.runtime.set_mocks(mocks, preview=False)

    @pulumi.runtime.test
    def run():
        return tr.TerwayRollout("terway-restart", **kwargs).urn

    run()
    return mocks.inputs["terway-restart"]


def test_resource_props_are_camel_case_and_kubeconfig_is_secret_and_not_in_provider():
    inputs = declare(
        kubeconfig=UNREACHABLE_KUBECONFIG, daemon_set="terway-eniip", trigger="abc", restart_on="change", timeout_seconds=600
    )
    assert {k: inputs[k] for k in ("kind", "restartMethod", "daemonSet", "namespace", "trigger", "restartOn")} == {
        "kind": "terway-rollout-restart",
        "restartMethod": "rollout-restart",
        "daemonSet": "terway-eniip",
        "namespace": "kube-system",
        "trigger": "abc",
        "restartOn": "change",
    }
    assert inputs["timeoutSeconds"] == 600
    assert rpc.is_rpc_secret(inputs["kubeconfig"]) and rpc.unwrap_rpc_secret(inputs["kubeconfig"]) == UNREACHABLE_KUBECONFIG
    provider_blob = base64.b64decode(rpc.unwrap_rpc_secret(inputs["__provider"]))
    assert SECRET_TOKEN.encode() not in provider_blob and b"kubeconfig" not in provider_blob


@pytest.mark.parametrize("bad", [dict(restart_on="always"), dict(timeout_seconds=0), dict(timeout_seconds=1.5)])
def test_constructor_rejects_bad_mode_or_timeout(bad):
    kwargs = dict(kubeconfig="x", daemon_set="terway-eniip", trigger="t", restart_on="change", timeout_seconds=60)
    with pytest.raises(ValueError):
        tr.TerwayRollout("r", **{**kwargs, **bad})


# --------------------------------------------------------------------------- diff


def test_diff_same_trigger_is_no_change():
    result = tr.TerwayRolloutProvider().diff("id", outputs(), props())
    assert result.changes is False and result.replaces == []


def test_diff_changed_trigger_is_an_update_not_a_replace():
    result = tr.TerwayRolloutProvider().diff("id", outputs(), props(trigger="t2"))
    assert result.changes is True and result.replaces == [] and "trigger" not in result.stables


def test_diff_unknown_trigger_in_preview_counts_as_change():
    result = tr.TerwayRolloutProvider().diff("id", outputs(), props(trigger=rpc.UNKNOWN))
    assert result.changes is True and result.replaces == []


@pytest.mark.parametrize("key,value", [("daemonSet", "terway-eni"), ("namespace", "other"), ("restartOn", "release")])
def test_diff_other_daemonset_namespace_or_mode_replaces(key, value):
    result = tr.TerwayRolloutProvider().diff("id", outputs(), props(**{key: value}))
    assert result.changes is True and result.replaces == [key]


def test_diff_release_mode_records_new_trigger_without_replacing():
    olds = outputs(restartOn="release")
    same = tr.TerwayRolloutProvider().diff("id", olds, props(restartOn="release"))
    changed = tr.TerwayRolloutProvider().diff("id", olds, props(restartOn="release", trigger="t2"))
    assert same.changes is False
    assert changed.changes is True and changed.replaces == []


def test_diff_timeout_only_is_an_update():
    result = tr.TerwayRolloutProvider().diff("id", outputs(), props(timeoutSeconds=60.0))
    assert result.changes is True and result.replaces == []


# --------------------------------------------------------------------------- no-op paths never reach a cluster


def test_update_timeout_only_carries_outputs_without_restarting():
    # The kubeconfig points nowhere: any API call would raise.
    result = tr.TerwayRolloutProvider().update("id", outputs(), props(timeoutSeconds=60.0))
    assert result.outs["timeoutSeconds"] == 60.0
    assert (result.outs["restartedAt"], result.outs["restarts"], result.outs["observedGeneration"]) == (
        "2026-01-01T00:00:00Z",
        1,
        3.0,
    )
    assert result.outs["kubeconfig"] == UNREACHABLE_KUBECONFIG  # kept for a later release-mode delete


def test_update_in_release_mode_records_trigger_only():
    result = tr.TerwayRolloutProvider().update("id", outputs(restartOn="release"), props(restartOn="release", trigger="t9"))
    assert result.outs["trigger"] == "t9" and result.outs["restarts"] == 1


def test_delete_in_change_mode_does_nothing():
    assert tr.TerwayRolloutProvider().delete("id", outputs()) is None


def test_update_with_changed_trigger_does_try_the_cluster():
    # Counter-check of the tests above: the same bogus kubeconfig does fail once a restart is due.
    with pytest.raises(kube.KubeError):
        tr.TerwayRolloutProvider().update("id", outputs(), props(trigger="t2", timeoutSeconds=1.0))


# --------------------------------------------------------------------------- check


def test_check_accepts_valid_and_unknown_inputs():
    assert tr.TerwayRolloutProvider().check({}, props(trigger=rpc.UNKNOWN, kubeconfig=rpc.UNKNOWN)).failures == []


def test_check_reports_each_bad_input():
    failures = tr.TerwayRolloutProvider().check({}, props(restartOn="sometimes", timeoutSeconds=0, daemonSet="")).failures
    assert sorted(f.property for f in failures) == ["daemonSet", "restartOn", "timeoutSeconds"]


# --------------------------------------------------------------------------- secrecy of errors


@pytest.mark.parametrize(
    "text",
    [
        f"users: [{{name: u, user: {{token: {SECRET_TOKEN}}}]\n  bad: [",  # YAML error quoting the line
        f"users: [{{name: u, user: {{token: {SECRET_TOKEN}}}}}]\n",  # valid YAML, rejected by the client
        SECRET_TOKEN,  # not a mapping at all
    ],
)
def test_kubeconfig_errors_never_echo_the_kubeconfig(text):
    with pytest.raises(kube.KubeError) as err:
        with kube.kube_client(text, facts.ROLLOUT_USER_AGENT):
            pass
    assert SECRET_TOKEN not in str(err.value) and "s3cr3t" not in str(err.value)
    # No chained exception: Pulumi sends the whole traceback to the user.
    assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)


def test_unreachable_cluster_error_does_not_echo_the_kubeconfig():
    with pytest.raises(kube.KubeError) as err:
        tr.restart_and_wait(UNREACHABLE_KUBECONFIG, "kube-system", "terway-eniip", "t", 1)
    assert SECRET_TOKEN not in str(err.value)


# --------------------------------------------------------------------------- status, patch, waiting


@pytest.mark.parametrize(
    "obj,complete",
    [
        (ds(), True),
        (ds(generation=3, observed=2), False),  # controller has not seen the new template yet
        (ds(updated=18), False),
        (ds(available=19, unavailable=1), False),
        (ds(desired=0, updated=0, available=0, ready=0), True),  # no nodes: nothing to roll
    ],
)
def test_rollout_completion(obj, complete):
    assert RolloutStatus.of(obj).complete() is complete


def test_max_unavailable_percentage_rounds_up_like_daemonsets():
    assert RolloutStatus.of(ds(desired=20)).allowed_unavailable() == 2
    assert RolloutStatus.of(ds(desired=21)).allowed_unavailable() == 3
    assert RolloutStatus.of(ds(max_unavailable=4)).allowed_unavailable() == 4


def test_restart_patch_is_exactly_the_kubectl_annotation_plus_trigger():
    body = restart_patch(datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc), "abc")
    assert body == {
        "spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "2026-03-04T05:06:07Z",
            "terway-stack.io/restart-trigger": "abc",
        }}}}
    }


def test_release_mode_marks_its_trigger_apart_from_change_mode():
    assert tr.trigger_mark(props()) == "t1"
    assert tr.trigger_mark(props(restartOn="release")) == "release:t1"


def test_wait_times_out_with_the_daemonset_status_in_the_message():
    clock, lines = FakeClock(), []
    stuck = ds(generation=3, observed=3, updated=12, available=18, unavailable=2, ready=18)
    with pytest.raises(RolloutError) as err:
        wait_for_rollout(
            lambda _timeout: RolloutStatus.of(stuck), namespace="kube-system", name="terway-eniip", timeout_seconds=30,
            report=lines.append, clock=clock, sleep=clock.sleep,
        )
    message = str(err.value)
    assert "DaemonSet kube-system/terway-eniip did not finish its rolling restart within 30s" in message
    assert "12/20 updated, 18/20 available, 2 unavailable, 18 ready" in message
    assert "maxUnavailable 10% = 2" in message and "pulumi up" in message
    assert clock.now == pytest.approx(30)  # never sleeps past the deadline
    assert len(lines) == 1  # the same status is reported once, not once per poll
    assert all(b >= a for a, b in zip(clock.sleeps, clock.sleeps[1:-1]))  # backoff grows (last is clipped)


def test_wait_reports_each_change_and_returns_when_complete():
    clock, lines = FakeClock(), []
    states = iter([ds(generation=3, observed=2), ds(generation=3, observed=3, updated=10), ds(generation=3, observed=3)])
    status = wait_for_rollout(
        lambda _timeout: RolloutStatus.of(next(states)), namespace="kube-system", name="terway-eniip", timeout_seconds=600,
        report=lines.append, clock=clock, sleep=clock.sleep,
    )
    assert status.complete() and status.observed_generation == 3
    assert [line.split(" (")[0] for line in lines] == [
        "new template not yet observed; 20/20 updated, 20/20 available, 0 unavailable, 20 ready",
        "10/20 updated, 20/20 available, 0 unavailable, 20 ready",
        "20/20 updated, 20/20 available, 0 unavailable, 20 ready",
    ]


def test_missing_daemonset_message_names_it():
    assert "DaemonSet kube-system/terway-eniip not found" in str(tr.DaemonSetMissing("kube-system", "terway-eniip"))
