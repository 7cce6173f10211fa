"""The restart provider under faults and needless restarts (issue 19): a converged cluster, a destroy
that released nothing, a budget that takes every pod down, a frozen API server.

Cluster access goes to tests/act/stub_apiserver.py, a stand-in on 127.0.0.1; the real API server is
in e2e/tests/test_restart_faults.py.
"""
from __future__ import annotations

import threading

import pytest

from terway_stack.act import terway_rollout as tr
from terway_stack.act.kube import KubeError, KubeStatusError
from terway_stack.act.rollout_restart import RestartOutcome
from terway_stack.act.rollout_wait import RolloutError, RolloutStatus, wait_for_rollout
from terway_stack.decide import restarts

from .stub_apiserver import StubApiServer
from .rollout_values import CM_PATH, DS_PATH, SSAR_PATH, FakeClock, ds, live_ds, outputs, preflight_props, props

class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return RestartOutcome(bool(kwargs.get("wanted")), None, 2)


@pytest.fixture
def recorded(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(tr, "restart_and_wait", recorder)
    return recorder


# --------------------------------------------------------------------------- which runs restart


def test_first_up_on_a_converged_cluster_asks_for_no_restart(recorded):
    result = tr.TerwayRolloutProvider().create(props(writersChanged=[False, False]))
    [(_, kwargs)] = recorded.calls
    assert kwargs["wanted"] is False and "already held" in kwargs["reason"]
    assert result.outs["restarts"] == 0


def test_first_up_restarts_when_a_writer_changed_something(recorded):
    result = tr.TerwayRolloutProvider().create(props(writersChanged=[False, True]))
    assert recorded.calls[0][1]["wanted"] is True and result.outs["restarts"] == 1


def test_an_update_with_the_same_trigger_never_reaches_the_cluster(recorded):
    tr.TerwayRolloutProvider().update("id", outputs(), props(writersChanged=[True, True], maxUnavailableShare=50))
    assert recorded.calls == []


def release_props(baseline):
    return outputs(restartOn="release", trigger=baseline)


@pytest.mark.parametrize("mode_left,live_after,restart", [
    # mode direct left no relay and policy on; its release writes nothing: no restart
    ({"disable_network_policy": "false"}, {"disable_network_policy": "false", "eni_conf": "{}"}, False),
    # mode typha left the relay; the release removed it: Felix must re-read before Typha goes
    ({"felix_relay_service": "calico-typha"}, {"eni_conf": "{}"}, True),
])
def test_destroy_restarts_only_when_the_release_changed_something(monkeypatch, recorded, mode_left, live_after, restart):
    monkeypatch.setattr(tr, "read_eni_config_data", lambda *_: live_after)
    tr.TerwayRolloutProvider().delete("id", release_props(restarts.policy_baseline(mode_left)))
    assert bool(recorded.calls) == restart


# --------------------------------------------------------------------------- against an HTTP stand-in


def test_no_restart_due_and_none_applied_sends_no_patch():
    with StubApiServer({DS_PATH: live_ds()}) as api:
        outcome = tr.restart_and_wait(api.kubeconfig(), "kube-system", "terway-eniip", "t1", 60, wanted=False,
                                      reason="eni-config already held the wanted values")
    assert not outcome.restarted
    assert [m for m, _ in api.requests] == ["GET"]


def test_a_budget_of_every_pod_is_refused_before_the_patch():
    with StubApiServer({DS_PATH: live_ds(max_unavailable="100%")}) as api:
        with pytest.raises(RolloutError) as err:
            tr.restart_and_wait(api.kubeconfig(), "kube-system", "terway-eniip", "t1", 60)
    assert "all 20 Terway pods" in str(err.value) and "Nothing was restarted" in str(err.value)
    assert [m for m, _ in api.requests] == ["GET"]


def test_a_confirmed_budget_goes_ahead():
    with StubApiServer({DS_PATH: live_ds(max_unavailable="100%")}) as api:
        outcome = tr.restart_and_wait(api.kubeconfig(), "kube-system", "terway-eniip", "t1", 60,
                                      budget=tr.Budget(25, confirmed=True))
    assert outcome.restarted and ("PATCH", DS_PATH) in api.requests


def test_a_frozen_api_server_ends_the_restart_by_its_deadline():
    outcome: dict = {}

    def run(kubeconfig):
        try:
            tr.restart_and_wait(kubeconfig, "kube-system", "terway-eniip", "t1", 0.5)
        except (RolloutError, KubeError) as err:
            outcome["error"] = str(err)

    with StubApiServer(frozen=True) as api:
        worker = threading.Thread(target=run, args=(api.kubeconfig(),), daemon=True)
        worker.start()
        worker.join(120)  # a hang guard, not a timing assertion: the deadline is 0.5 s
        hung = worker.is_alive()
    assert not hung, "restart_and_wait did not return while the API server was frozen"
    assert "cannot reach the Kubernetes API server" in outcome["error"] and "stub-token" not in outcome["error"]


# --------------------------------------------------------------------------- the wait loop


def test_a_wait_whose_reads_never_answer_ends_at_the_deadline_with_the_last_status():
    clock, lines, timeouts = FakeClock(), [], []
    answers = iter([RolloutStatus.of(ds(generation=3, observed=3, updated=5))])

    def read(timeout):
        timeouts.append(timeout)
        clock.now += timeout  # the request waits for its whole timeout
        answer = next(answers, None)
        if answer is None:
            raise KubeError("cannot reach the Kubernetes API server: Read timed out")
        return answer

    with pytest.raises(RolloutError) as err:
        wait_for_rollout(read, namespace="kube-system", name="terway-eniip", timeout_seconds=100,
                         report=lines.append, clock=clock, sleep=clock.sleep, request_timeout=30)
    assert clock.now <= 100 + 0.1  # no request outlives the deadline
    assert all(t <= 30 for t in timeouts) and len(timeouts) > 2  # retried, each cut to the time left
    message = str(err.value)
    assert "within 100s" in message and "5/20 updated" in message and "Read timed out" in message


def test_a_permission_error_while_waiting_ends_the_wait_at_once():
    clock = FakeClock()

    def read(_timeout):
        raise KubeStatusError("reading failed: 403 Forbidden", 403)

    with pytest.raises(KubeStatusError, match="403"):
        wait_for_rollout(read, namespace="kube-system", name="terway-eniip", timeout_seconds=100,
                         report=lambda _: None, clock=clock, sleep=clock.sleep)
    assert clock.now == 0


# --------------------------------------------------------------------------- the preflight's reviews


def test_the_preflight_stops_at_a_write_the_identity_may_not_make():
    from terway_stack.act import preflight

    objects = {CM_PATH: {"metadata": {"name": "eni-config"}, "data": {"eni_conf": "{}"}}, DS_PATH: live_ds(),
               SSAR_PATH: {"status": {"allowed": False, "reason": ""}}}
    with StubApiServer(objects) as api:
        _, failures = preflight.run_checks({**preflight_props(), "kubeconfig": api.kubeconfig()})
    reasons = [f.reason for f in failures]
    assert "kubernetes:kubeconfig: this identity may not patch configmaps kube-system/eni-config" in reasons[0]
    assert any("may not patch daemonsets.apps kube-system/terway-eniip" in r for r in reasons)
    assert all("Nothing was written" in r for r in reasons)
    assert {m for m, _ in api.requests} == {"GET", "POST"}  # reads and reviews only


def test_the_preflight_stops_when_eni_config_is_gone_and_when_the_budget_takes_every_pod():
    from terway_stack.act import preflight

    objects = {DS_PATH: live_ds(max_unavailable="100%"), SSAR_PATH: {"status": {"allowed": True}}}
    with StubApiServer(objects) as api:
        _, failures = preflight.run_checks({**preflight_props(), "kubeconfig": api.kubeconfig()})
    reasons = sorted(f.reason for f in failures)
    assert reasons[0].startswith("DaemonSet kube-system/terway-eniip: maxUnavailable 100%: a rolling restart would take all 20")
    assert reasons[1].startswith("kube-system/eni-config: not found")
    with StubApiServer({**objects, CM_PATH: {"data": {}}}) as api:
        _, failures = preflight.run_checks({**preflight_props(confirm_max_unavailable=True), "kubeconfig": api.kubeconfig()})
    assert failures == []


def test_every_request_of_a_client_has_a_timeout_even_without_its_own(monkeypatch):
    """The preflight's and the writers' reads give no `_request_timeout`: the client's default holds them.

    The default is shortened for the test (the read waits out the whole read timeout); a read that got
    no timeout at all would hang just the same, and the hang guard would fail it."""
    from terway_stack.act import eni_config_writer, kube

    assert all(0 < seconds <= 60 for seconds in kube.REQUEST_TIMEOUT)  # the real default is finite
    monkeypatch.setattr(kube, "REQUEST_TIMEOUT", (kube.CONNECT_TIMEOUT, 0.5))
    outcome: dict = {}

    def run(kubeconfig):
        try:
            eni_config_writer.observe_keys(kubeconfig, "kube-system", "eni-config", ["eni_conf"])
        except KubeError as err:
            outcome["error"] = str(err)

    with StubApiServer(frozen=True) as api:
        worker = threading.Thread(target=run, args=(api.kubeconfig(),), daemon=True)
        worker.start()
        worker.join(60)  # hang guard; the read timeout is 0.5 s here
        hung = worker.is_alive()
    assert not hung, "a read without its own timeout hung on a frozen API server"
    assert "cannot reach the Kubernetes API server" in outcome["error"]


# --------------------------------------------------------------------------- eni-config gone mid-write


def test_an_apply_that_recreated_a_deleted_eni_config_removes_it_and_says_nothing_was_written():
    from terway_stack.act import eni_config_writer as writer
    from terway_stack.act.configmap_writes import ConfigMapMissing

    read = {"metadata": {"name": "eni-config", "namespace": "kube-system", "uid": "uid-ack", "resourceVersion": "7"},
            "data": {"eni_conf": "{}"}}
    recreated = {"metadata": {"name": "eni-config", "namespace": "kube-system", "uid": "uid-new", "resourceVersion": "9"},
                 "data": {"eni_conf": '{"vswitches": {"z": ["vsw-1"]}}'}}
    with StubApiServer({CM_PATH: read}, patched={CM_PATH: recreated}) as api:
        with pytest.raises(ConfigMapMissing, match="nothing was written"):
            writer.write_eni_conf(api.kubeconfig(), "kube-system", "eni-config", {"z": ["vsw-1"]})
    assert [m for m, _ in api.requests] == ["GET", "PATCH", "DELETE"]
