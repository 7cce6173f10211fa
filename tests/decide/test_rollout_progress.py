"""Rollout completion node by node (decide/rollout_progress.py) and the restart budget
(decide/rollout_budget.py), with property tests over generated node and pod states."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.act.rollout_wait import RolloutStatus
from terway_stack.decide import rollout_budget as budget
from terway_stack.decide import rollout_progress as rp

RUNS = 400
NOW = datetime(2026, 12, 4, 18, 0, 0, tzinfo=timezone.utc)
UID, NEW, OLD = "ds-uid", "hash-new", "hash-old"

# What one node holds: its Ready condition, and its DaemonSet pods as (revision, ready, terminating).
pod_states = st.tuples(st.sampled_from([NEW, OLD]), st.booleans(), st.booleans())
node_states = st.tuples(st.sampled_from(["True", "False", "Unknown", None]), st.lists(pod_states, max_size=2))


def node(name, ready):
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    return {"metadata": {"name": name}, "status": {"conditions": conditions}}


def pod(name, node_name, revision, ready, terminating, owner=UID, ready_since=NOW - timedelta(minutes=5)):
    meta = {"name": name, "labels": {rp.REVISION_LABEL: revision},
            "ownerReferences": [{"controller": True, "uid": owner, "kind": "DaemonSet"}]}
    if terminating:
        meta["deletionTimestamp"] = "2026-12-04T17:59:00Z"
    condition = {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": ready_since.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return {"metadata": meta, "spec": {"nodeName": node_name}, "status": {"conditions": [condition]}}


def daemon_set(desired, min_ready=0):
    return {"metadata": {"uid": UID, "generation": 2}, "spec": {"minReadySeconds": min_ready},
            "status": {"desiredNumberScheduled": desired, "observedGeneration": 2}}


def revision(number, hash_, owner=UID):
    return {"metadata": {"labels": {rp.REVISION_LABEL: hash_}, "ownerReferences": [{"controller": True, "uid": owner}]},
            "revision": number}


@settings(max_examples=RUNS, deadline=None)
@given(st.lists(node_states, min_size=1, max_size=8), st.integers(0, 2))
def test_complete_iff_every_ready_node_runs_an_updated_available_pod(nodes_spec, missing):
    nodes, pods = [], []
    for i, (ready, node_pods) in enumerate(nodes_spec):
        nodes.append(node(f"n{i}", ready))
        pods += [pod(f"p{i}-{j}", f"n{i}", *state) for j, state in enumerate(node_pods)]
    desired = sum(1 for _, node_pods in nodes_spec if node_pods) + missing  # `missing` nodes wait for a pod
    progress = rp.node_progress(daemon_set(desired), pods, nodes, NEW, NOW)

    def done(node_pods):
        return all(rev == NEW for rev, _, _ in node_pods) and any(r and not t for _, r, t in node_pods)

    with_pods = [(f"n{i}", ready, p) for i, (ready, p) in enumerate(nodes_spec) if p]
    expect_not_ready = [name for name, ready, p in with_pods if ready != "True" and not done(p)]
    expect_pending = [name for name, ready, p in with_pods if ready == "True" and not done(p)]
    assert list(progress.not_ready) == expect_not_ready
    assert list(progress.pending) == expect_pending
    assert progress.complete() == (not expect_pending and missing == 0)
    # The status the provider waits on agrees, and names the NotReady nodes it finished without.
    status = RolloutStatus.of({**daemon_set(desired), "status": {"desiredNumberScheduled": desired, "observedGeneration": 2,
                                                                  "numberUnavailable": 1}}, progress)
    assert status.complete() == progress.complete()
    if status.complete():
        assert status.not_updated_nodes() == tuple(expect_not_ready)
        assert all(name in status.outcome() for name in expect_not_ready)


def test_one_notready_node_of_twenty_does_not_hold_the_rollout_open():
    nodes = [node(f"n{i}", "True" if i else "False") for i in range(20)]
    pods = [pod(f"p{i}", f"n{i}", NEW if i else OLD, bool(i), not i) for i in range(20)]
    ds = {**daemon_set(20), "status": {"desiredNumberScheduled": 20, "observedGeneration": 2, "updatedNumberScheduled": 19,
                                         "numberAvailable": 19, "numberUnavailable": 1}}
    status = RolloutStatus.of(ds, rp.node_progress(ds, pods, nodes, NEW, NOW))
    assert not status.counts_complete()  # what the old wait required: it never ended
    assert status.complete() and status.not_updated_nodes() == ("n0",)
    assert "not updated on NotReady node n0" in status.outcome()


def test_pods_of_another_owner_and_the_old_revision_are_told_apart():
    revisions = [revision(1, OLD), revision(3, NEW), revision(9, "someone-else", owner="other")]
    assert rp.current_revision(daemon_set(1), revisions) == NEW
    progress = rp.node_progress(daemon_set(1), [pod("x", "n0", NEW, True, False, owner="other")], [node("n0", "True")],
                                NEW, NOW)
    assert progress.done == () and not progress.complete()


def test_min_ready_seconds_counts_from_the_ready_transition():
    fresh = pod("p", "n0", NEW, True, False, ready_since=NOW - timedelta(seconds=5))
    assert not rp.node_progress(daemon_set(1, min_ready=30), [fresh], [node("n0", "True")], NEW, NOW).complete()
    assert rp.node_progress(daemon_set(1, min_ready=3), [fresh], [node("n0", "True")], NEW, NOW).complete()


# --------------------------------------------------------------------------- budget


@settings(max_examples=RUNS, deadline=None)
@given(st.integers(0, 500), st.one_of(st.integers(0, 600), st.integers(0, 100).map(lambda p: f"{p}%")),
       st.integers(1, 100), st.booleans())
def test_budget_refuses_all_or_more_than_the_share_unless_confirmed(desired, max_unavailable, share, confirmed):
    if isinstance(max_unavailable, str):
        pods = math.ceil(desired * int(max_unavailable[:-1]) / 100)
    else:
        pods = max_unavailable
    problem = budget.budget_problem(max_unavailable, desired, share, confirmed)
    too_many = desired > 0 and pods > 1 and (pods >= desired or pods * 100 > share * desired)
    assert (problem is not None) == (too_many and not confirmed), (desired, max_unavailable, share, problem)
    if problem:
        assert budget.CONFIRM_KEY in problem and f"maxUnavailable {max_unavailable}" in problem


def test_100_percent_of_20_pods_is_refused_naming_all_of_them():
    problem = budget.budget_problem("100%", 20, 25, False)
    assert "all 20 Terway pods" in problem and "terway:terway.confirmMaxUnavailable" in problem
    assert budget.budget_problem("100%", 20, 25, True) is None
    assert budget.budget_problem("10%", 20, 25, False) is None  # Terway's chart default: 2 of 20


@pytest.mark.parametrize("bad", ["abc", "5.5%", True, "٣%"])
def test_budget_refuses_a_value_that_is_no_count(bad):
    assert "is not a number or a percentage" in budget.budget_problem(bad, 10, 25, True)
