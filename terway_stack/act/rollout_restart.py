"""One rolling restart of a Terway DaemonSet, start to finish, against one deadline.

`restart_and_wait` reads the DaemonSet, refuses a budget that takes too many pods down at once
(decide/rollout_budget.py), patches the pod template like `kubectl rollout restart` unless the live
template already carries this restart's mark (a rerun only waits), and waits (act/rollout_wait.py)
until every pod on a Ready node is updated and available. Every request gets at most the time left
before `timeoutSeconds`, so the deadline holds even when the API server stops answering.
The provider (act/terway_rollout.py) decides whether a restart is due (decide/restarts.py).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional

from ..decide.facts import ENI_CONFIG_NAME, ROLLOUT_FIELD_MANAGER, ROLLOUT_USER_AGENT
from ..decide.live_objects import template_annotations, update_strategy
from ..decide.rollout_budget import DEFAULT_MAX_UNAVAILABLE_SHARE, budget_problem
from ..decide.rollout_progress import current_revision, node_progress
from .kube import READ_TIMEOUT, KubeStatusError, kube_client, read, send
from .rollout_wait import Deadline, RolloutError, RolloutStatus, utc_now, wait_for_rollout

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
TRIGGER_ANNOTATION = "terway-stack.io/restart-trigger"


class DaemonSetMissing(RolloutError):
    def __init__(self, namespace: str, name: str):
        super().__init__(
            f"DaemonSet {namespace}/{name} not found: check terway:terway.daemonSets "
            f"(kubectl -n {namespace} get daemonsets)"
        )


def reporter(namespace: str, name: str) -> Callable[[str], None]:
    def report(line: str) -> None:
        print(f"terway-rollout {namespace}/{name}: {line}", file=sys.stderr, flush=True)

    return report


# --------------------------------------------------------------------------- Kubernetes access


def read_daemon_set(client: Any, namespace: str, name: str, timeout: Optional[float] = None) -> dict:
    from kubernetes.client import AppsV1Api

    obj = read(AppsV1Api(client).read_namespaced_daemon_set, name, namespace, **_timeout(timeout))
    if obj is None:
        raise DaemonSetMissing(namespace, name)
    return obj


def _timeout(timeout: Optional[float]) -> dict:
    return {} if timeout is None else {"_request_timeout": timeout}


def _selector(ds: Mapping[str, Any]) -> str:
    labels = ((ds.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def look(client: Any, namespace: str, name: str, timeout: float, now: Callable[[], datetime] = utc_now) -> RolloutStatus:
    """One look at the rollout: the DaemonSet, and its pods node by node when the counts fall short.

    The lists are served from the API server's cache (resourceVersion 0): a poll of a large cluster
    costs it little.
    """
    from kubernetes.client import AppsV1Api, CoreV1Api

    ds = read_daemon_set(client, namespace, name, timeout)
    status = RolloutStatus.of(ds)
    if status.counts_complete() or not status.observed():
        return status
    cached = {"resource_version": "0", "_request_timeout": timeout}
    selector = _selector(ds)
    core, apps = CoreV1Api(client), AppsV1Api(client)
    pods = read(core.list_namespaced_pod, namespace, label_selector=selector, **cached) or {}
    nodes = read(core.list_node, **cached) or {}
    revisions = read(apps.list_namespaced_controller_revision, namespace, label_selector=selector, **cached) or {}
    revision = current_revision(ds, revisions.get("items") or [])
    progress = node_progress(ds, pods.get("items") or [], nodes.get("items") or [], revision, now())
    return RolloutStatus.of(ds, progress)


def patch_restart(client: Any, namespace: str, name: str, body: dict, timeout: Optional[float] = None) -> dict:
    """One strategic-merge patch of the pod template annotations, as kubectl rollout restart sends."""
    from kubernetes.client import AppsV1Api

    try:
        return send(
            AppsV1Api(client).patch_namespaced_daemon_set,
            name,
            namespace,
            body,
            what=f"patching DaemonSet {namespace}/{name}",
            field_manager=ROLLOUT_FIELD_MANAGER,
            _content_type="application/strategic-merge-patch+json",
            **_timeout(timeout),
        )
    except KubeStatusError as err:
        if err.status == 404:
            raise DaemonSetMissing(namespace, name) from None
        raise


def observe(kubeconfig: str, namespace: str, name: str) -> tuple[Optional[str], Optional[int]]:
    """Live restartedAt and observedGeneration; (None, None) when the DaemonSet is gone."""
    from kubernetes.client import AppsV1Api

    with kube_client(kubeconfig, ROLLOUT_USER_AGENT) as client:
        ds = read(AppsV1Api(client).read_namespaced_daemon_set, name, namespace)
    if ds is None:
        return None, None
    return template_annotations(ds).get(RESTARTED_AT), RolloutStatus.of(ds).observed_generation


def read_eni_config_data(kubeconfig: str, namespace: str) -> Optional[dict]:
    """The live eni-config data (None when the ConfigMap is gone), for the release decision."""
    from kubernetes.client import CoreV1Api

    with kube_client(kubeconfig, ROLLOUT_USER_AGENT) as client:
        cm = read(CoreV1Api(client).read_namespaced_config_map, ENI_CONFIG_NAME, namespace)
    return None if cm is None else dict(cm.get("data") or {})


# --------------------------------------------------------------------------- the restart


def rfc3339(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def restart_patch(now: datetime, trigger_mark: str) -> dict:
    """The patch body: restartedAt like kubectl, plus the trigger that makes a rerun resumable."""
    return {
        "spec": {
            "template": {
                "metadata": {"annotations": {RESTARTED_AT: rfc3339(now), TRIGGER_ANNOTATION: trigger_mark}}
            }
        }
    }


@dataclass(frozen=True)
class RestartOutcome:
    restarted: bool
    restarted_at: Optional[str]
    observed_generation: Optional[int]
    not_updated_nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Budget:
    """How many Terway pods a restart may take down at once (decide/rollout_budget.py)."""

    share_percent: int = DEFAULT_MAX_UNAVAILABLE_SHARE
    confirmed: bool = False

    @classmethod
    def of(cls, props: Mapping[str, Any]) -> "Budget":
        share = props.get("maxUnavailableShare")
        return cls(int(share) if share is not None else DEFAULT_MAX_UNAVAILABLE_SHARE,
                   bool(props.get("confirmMaxUnavailable")))


def restart_and_wait(
    kubeconfig: str,
    namespace: str,
    name: str,
    trigger_mark: str,
    timeout_seconds: float,
    now: Callable[[], datetime] = utc_now,
    *,
    wanted: bool = True,
    reason: str = "",
    budget: Budget = Budget(),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RestartOutcome:
    """Restart unless the live template already carries this trigger, then wait; all by one deadline.

    `wanted` False: no restart is due (`reason` says why); only a restart already applied for this
    trigger (by a run that was interrupted) is waited for.
    """
    report = reporter(namespace, name)
    deadline = Deadline.after(timeout_seconds, clock)
    with kube_client(kubeconfig, ROLLOUT_USER_AGENT) as client:
        ds = read_daemon_set(client, namespace, name, deadline.request_timeout(READ_TIMEOUT))
        applied = template_annotations(ds).get(TRIGGER_ANNOTATION) == trigger_mark
        if not wanted and not applied:
            report(f"no restart: {reason}")
            return RestartOutcome(False, template_annotations(ds).get(RESTARTED_AT), RolloutStatus.of(ds).observed_generation)
        if update_strategy(ds) != "RollingUpdate":
            raise RolloutError(
                f"DaemonSet {namespace}/{name} uses updateStrategy {update_strategy(ds)}: a rolling "
                f"restart would not replace its pods; switch it to RollingUpdate"
            )
        if not applied:
            status = RolloutStatus.of(ds)
            refused = budget_problem(status.max_unavailable, status.desired, budget.share_percent, budget.confirmed)
            if refused:
                raise RolloutError(f"DaemonSet {namespace}/{name}: {refused}. Nothing was restarted")
            ds = patch_restart(client, namespace, name, restart_patch(now(), trigger_mark),
                               deadline.request_timeout(READ_TIMEOUT))
            report(f"rolling restart requested ({RESTARTED_AT}={template_annotations(ds).get(RESTARTED_AT)})"
                   + (f": {reason}" if reason else ""))
        else:
            report("restart for this trigger already applied; waiting for the rollout only")
        status = wait_for_rollout(
            lambda request_timeout: look(client, namespace, name, request_timeout, now),
            namespace=namespace, name=name, timeout_seconds=timeout_seconds, report=report,
            clock=clock, sleep=sleep, deadline=deadline, request_timeout=READ_TIMEOUT,
        )
        report(status.outcome())
    return RestartOutcome(not applied, template_annotations(ds).get(RESTARTED_AT), status.observed_generation,
                          status.not_updated_nodes())
