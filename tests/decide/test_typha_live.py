"""Typha sized from the live cluster, the BGPPeer CRD left alone when it is someone else's, and Typha
deleted by hand while Felix's relay points at it (pure decisions)."""
from __future__ import annotations

import pytest

from terway_stack.decide.sizing import TyphaSizing
from terway_stack.decide.typha_compat import minor_gap, shutdown_behaviour, sync_problem, typha_access_checks
from terway_stack.decide.typha_live import (
    TyphaLive,
    bgppeer_crd_plan,
    recreate_warning,
    recreation,
    relayed_but_missing,
)


@pytest.mark.parametrize(
    "configured,live,replicas",
    [
        (1200, 1200, 6),
        (1200, 1600, 8),  # grown since nodeCount was written: sized for the live 1600
        (1200, 300, 6),  # shrunk (autoscaler): nodeCount is a floor
        (6, 6, 3),
        (6, 3, 2),  # fewer than the live nodes: a rollout needs a free node
        (6, None, 3),  # not read: nodeCount alone
    ],
)
def test_replicas_from_the_larger_count_and_fewer_than_live_nodes(configured, live, replicas):
    assert TyphaSizing(configured, live).replicas == replicas


@pytest.mark.parametrize(
    "configured,live,override,cap",
    [
        (6, 3, None, 3),  # 2 replicas instead of nodeCount's 3: held by the live count
        (1200, 2, None, 2),
        (6, 6, None, None),  # nodeCount's minimum fits
        (1200, 1600, None, None),
        (6, None, None, None),  # not read
        (6, 5, 4, None),  # the override fits
        (6, 4, 5, 4),  # the override held by the live count
    ],
)
def test_the_live_cap_is_named_only_when_the_live_count_held_the_replicas_down(configured, live, override, cap):
    sizing = TyphaSizing(configured, live, override)
    assert sizing.live_cap == cap
    if cap is not None:
        assert sizing.replicas == cap - 1


def test_the_plan_shows_both_counts_and_warns_when_they_disagree():
    sizing = TyphaSizing(1200, 1600)
    assert sizing.summary() == "Typha sizing: terway:cluster.nodeCount 1200, 1600 live Linux nodes: 8 replicas (sized for 1600 nodes)"
    assert sizing.disagreement().startswith("terway:cluster.nodeCount is 1200 but the cluster has 1600 Linux nodes")
    assert TyphaSizing(1200, 1250).disagreement() is None  # within 10%
    assert TyphaSizing(1200, None).disagreement() is None


def test_an_override_must_leave_a_live_node_free():
    assert TyphaSizing(6, 4, override=4).override_problem().startswith("4 leaves no free node among the cluster's 4")
    assert TyphaSizing(6, 5, override=4).override_problem() is None
    assert TyphaSizing(6, 5, override=4).replicas == 4


def test_bgppeer_crd_created_when_missing_kept_when_ours_left_when_someone_elses():
    assert bgppeer_crd_plan(TyphaLive()) == "create"  # not read: declared as before
    assert bgppeer_crd_plan(TyphaLive(bgppeer_crd_exists=False, bgppeer_crd_managers=())) == "create"
    ours = TyphaLive(bgppeer_crd_exists=True, bgppeer_crd_managers=("terway-stack-typha", "kube-apiserver"))
    assert bgppeer_crd_plan(ours) == "keep"
    earlier_stack = TyphaLive(bgppeer_crd_exists=True, bgppeer_crd_managers=("pulumi-kubernetes-abc123",))
    assert bgppeer_crd_plan(earlier_stack) == "keep"
    ack = TyphaLive(bgppeer_crd_exists=True, bgppeer_crd_managers=("ack-addon-manager",))
    assert bgppeer_crd_plan(ack) == "leave"


def test_typha_gone_while_relayed_is_named_and_only_then():
    gone = TyphaLive(missing=("Deployment",), relay="calico-typha")
    assert relayed_but_missing(gone, "calico-typha") == ["Deployment"]
    assert recreate_warning(["Deployment"], "calico-typha", "kube-system").startswith(
        "Deployment kube-system/calico-typha not found while felix_relay_service points Felix at calico-typha"
    )
    first_run = TyphaLive(missing=("Service", "Deployment", "PodDisruptionBudget"), relay=None)
    assert relayed_but_missing(first_run, "calico-typha") == []
    assert relayed_but_missing(TyphaLive(missing=("Deployment",), relay="my-typha"), "calico-typha") == []


def test_a_missing_object_gets_a_fresh_stamp_and_is_replaced_a_present_one_keeps_its_own():
    live = TyphaLive(missing=("Deployment",), recreated_at={"Service": "earlier"})
    assert recreation(live, "Deployment", "now").annotation == "now"
    assert recreation(live, "Deployment", "now").replace
    assert recreation(live, "Service", "now").annotation == "earlier"
    assert not recreation(live, "Service", "now").replace
    assert recreation(live, "PodDisruptionBudget", "now").annotation is None
    assert not recreation(live, "PodDisruptionBudget", "now").replace
    # Nothing read (offline plan): declared as before.
    assert not recreation(TyphaLive(), "Deployment", "now").replace
    assert recreation(TyphaLive(), "Deployment", "now").annotation is None


def test_release_facts_measured_with_the_real_typha():
    on_134 = sync_problem("v3.20.2", (1, 34), "1.34")
    assert on_134 and "discovery.k8s.io/v1beta1" in on_134
    assert sync_problem("v3.24.5", (1, 34), "1.34") is None
    assert sync_problem("v3.20.2", (1, 24), "1.24") is None
    assert not shutdown_behaviour("v3.24.5").graceful and shutdown_behaviour("v3.24.5").env == ()
    assert shutdown_behaviour("v3.25.0").graceful
    assert minor_gap("v3.24.5", "v3.26.1") == 2 and minor_gap("v3.24.5", "v4.0.0") == 100
    assert ("list", "", "serviceaccounts") in typha_access_checks()
    assert ("list", "crd.projectcalico.org", "clusterinformations") in typha_access_checks()
