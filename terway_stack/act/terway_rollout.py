"""Rolling restart of a Terway DaemonSet as a Pulumi dynamic resource (the `kubectl rollout restart` way).

Terway reads kube-system/eni-config only when it starts, so a change of the keys the stack manages
takes effect only after its pods restart. The runbook deletes every Terway pod at once; this
resource instead patches the pod template annotation `kubectl.kubernetes.io/restartedAt`, exactly
like `kubectl rollout restart daemonset/<name>`, so the DaemonSet controller replaces pods within
the DaemonSet's own maxUnavailable. It never deletes a pod itself. Then it waits for the rollout
(generation observed, every pod updated and available), printing progress lines.

Two modes, one resource each:

- ``restart_on="change"`` depends on the eni-config writers. Create restarts; an update restarts only
  when ``trigger`` (a hash of the effective managed values) changed. A second ``pulumi up`` with the
  same inputs restarts nothing. In preview an unknown trigger shows as an update and does nothing.
  Delete does nothing: removing this resource changes no configuration.
- ``restart_on="release"`` restarts on DELETE only. Create/update record state. The program places it
  BEFORE the policy-keys writer that owns ``felix_relay_service``/``disable_network_policy`` (the
  writer depends on it) and AFTER the Typha Deployment (it depends on Typha). Pulumi destroys in
  reverse dependency order, so on destroy: (1) the writer is deleted, releasing ``felix_relay_service``;
  (2) this resource rolls Terway, so every Felix restarts without the relay key and talks to the API
  server directly; (3) only then is Typha deleted. Felix never points at a Typha that is gone.

Resuming: the restart also writes ``terway-stack.io/restart-trigger`` on the pod template. If the live
template already carries the trigger being applied (a previous run patched it and then timed out,
or failed before recording state), the resource only waits, it does not restart again.

Progress goes to the provider process's stderr. The engine streams a dynamic provider's stderr to
the user as info lines while the step runs (non-dynamic plugins have it hidden); ``pulumi.log`` in
a dynamic provider has no engine connection and falls back to the same stderr.

Credentials: the kubeconfig is an input wrapped in ``Output.secret`` and declared an additional
secret output, so state holds it encrypted. The provider object holds no state (it is pickled BY
REFERENCE to this module path with dill, so this path must stay stable); API clients are built inside
each method from the kubeconfig text and closed afterwards (act/kube.py). The kubeconfig never appears
in a message.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Optional

import pulumi
import pulumi.dynamic as dyn

from ..decide.facts import (
    ROLLOUT_FIELD_MANAGER,
    ROLLOUT_KIND,
    ROLLOUT_METHOD,
    ROLLOUT_USER_AGENT,
    TERWAY_NAMESPACE,
)
from ..decide.live_objects import max_unavailable, template_annotations, update_strategy
from .dynamic import KubeconfigResource, changed_inputs, is_unknown, plain, require_choice
from .kube import KubeStatusError, kube_client, read, send

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
TRIGGER_ANNOTATION = "terway-stack.io/restart-trigger"
RELEASE_PREFIX = "release:"
MODES = ("change", "release")
# Inputs whose change means a different object to restart: replace, never update in place.
REPLACE_KEYS = ("daemonSet", "namespace", "restartOn")
INPUT_KEYS = ("kind", "restartMethod", "daemonSet", "namespace", "trigger", "restartOn", "timeoutSeconds", "kubeconfig")
OUTPUT_KEYS = ("restartedAt", "restarts", "observedGeneration")


class RolloutError(Exception):
    """A restart that cannot start or did not finish. Messages never contain the kubeconfig."""


class DaemonSetMissing(RolloutError):
    def __init__(self, namespace: str, name: str):
        super().__init__(
            f"DaemonSet {namespace}/{name} not found: check terway:terway.daemonSets "
            f"(kubectl -n {namespace} get daemonsets)"
        )


# --------------------------------------------------------------------------- Kubernetes access


def read_daemon_set(client: Any, namespace: str, name: str) -> dict:
    from kubernetes.client import AppsV1Api

    obj = read(AppsV1Api(client).read_namespaced_daemon_set, name, namespace)
    if obj is None:
        raise DaemonSetMissing(namespace, name)
    return obj


def patch_restart(client: Any, namespace: str, name: str, body: dict) -> dict:
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
        )
    except KubeStatusError as err:
        if err.status == 404:
            raise DaemonSetMissing(namespace, name) from None
        raise


# --------------------------------------------------------------------------- pure rollout logic


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


def scaled(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString (3 or "10%") resolved against total, as Kubernetes does for DaemonSets."""
    if value is None:
        return 1 if total else 0
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        exact = total * int(text[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


@dataclass(frozen=True)
class RolloutStatus:
    generation: int
    observed_generation: int
    desired: int
    updated: int
    available: int
    unavailable: int
    ready: int
    max_unavailable: Any

    @classmethod
    def of(cls, ds: Mapping[str, Any]) -> "RolloutStatus":
        status = ds.get("status") or {}
        return cls(
            generation=int((ds.get("metadata") or {}).get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
            desired=int(status.get("desiredNumberScheduled") or 0),
            updated=int(status.get("updatedNumberScheduled") or 0),
            available=int(status.get("numberAvailable") or 0),
            unavailable=int(status.get("numberUnavailable") or 0),
            ready=int(status.get("numberReady") or 0),
            max_unavailable=max_unavailable(ds),
        )

    def complete(self) -> bool:
        """kubectl rollout status for DaemonSets, plus no pod left unavailable."""
        return (
            self.generation <= self.observed_generation
            and self.updated == self.desired
            and self.available == self.desired
            and self.unavailable == 0
        )

    def allowed_unavailable(self) -> int:
        """maxUnavailable in pods; DaemonSets round a percentage up (at least 1 unless surging)."""
        return scaled(self.max_unavailable, self.desired, round_up=True)

    def describe(self) -> str:
        # Before the controller observes the new template its counts describe the old one.
        stale = "new template not yet observed; " if self.observed_generation < self.generation else ""
        return stale + (
            f"{self.updated}/{self.desired} updated, {self.available}/{self.desired} available, "
            f"{self.unavailable} unavailable, {self.ready} ready "
            f"(generation {self.generation}, observed {self.observed_generation}, "
            f"maxUnavailable {self.max_unavailable} = {self.allowed_unavailable()})"
        )


def timeout_message(namespace: str, name: str, status: RolloutStatus, timeout_seconds: int) -> str:
    return (
        f"DaemonSet {namespace}/{name} did not finish its rolling restart within {timeout_seconds}s: "
        f"{status.describe()}. The restart itself was applied; run `pulumi up` again to keep waiting "
        f"(it will not restart again), and check pods with "
        f"`kubectl -n {namespace} rollout status daemonset/{name}`."
    )


def backoff(initial: float = 0.5, factor: float = 1.6, cap: float = 5.0) -> Iterator[float]:
    delay = initial
    while True:
        yield delay
        delay = min(cap, delay * factor)


def wait_for_rollout(
    read: Callable[[], Mapping[str, Any]],
    *,
    namespace: str,
    name: str,
    timeout_seconds: float,
    report: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutStatus:
    """Poll the DaemonSet with backoff until the rollout completes; RolloutError with status on timeout."""
    start = clock()
    deadline = start + timeout_seconds
    last_line = None
    delays = backoff()
    while True:
        status = RolloutStatus.of(read())
        line = status.describe()
        if line != last_line:  # one line per visible change, not per poll
            report(f"{line} after {clock() - start:.0f}s")
            last_line = line
        if status.complete():
            return status
        remaining = deadline - clock()
        if remaining <= 0:
            raise RolloutError(timeout_message(namespace, name, status, int(timeout_seconds)))
        sleep(min(next(delays), remaining))


def reporter(namespace: str, name: str) -> Callable[[str], None]:
    def report(line: str) -> None:
        print(f"terway-rollout {namespace}/{name}: {line}", file=sys.stderr, flush=True)

    return report


@dataclass(frozen=True)
class RestartOutcome:
    restarted: bool
    restarted_at: Optional[str]
    observed_generation: int


def restart_and_wait(
    kubeconfig: str,
    namespace: str,
    name: str,
    trigger_mark: str,
    timeout_seconds: float,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> RestartOutcome:
    """Patch restartedAt unless the live template already carries this trigger, then wait."""
    report = reporter(namespace, name)
    with kube_client(kubeconfig, ROLLOUT_USER_AGENT) as client:
        ds = read_daemon_set(client, namespace, name)
        if update_strategy(ds) != "RollingUpdate":
            raise RolloutError(
                f"DaemonSet {namespace}/{name} uses updateStrategy {update_strategy(ds)}: a rolling "
                f"restart would not replace its pods; switch it to RollingUpdate"
            )
        restarted = template_annotations(ds).get(TRIGGER_ANNOTATION) != trigger_mark
        if restarted:
            ds = patch_restart(client, namespace, name, restart_patch(now(), trigger_mark))
            report(f"rolling restart requested ({RESTARTED_AT}={template_annotations(ds).get(RESTARTED_AT)})")
        else:
            report("restart for this trigger already applied; waiting for the rollout only")
        status = wait_for_rollout(
            lambda: read_daemon_set(client, namespace, name),
            namespace=namespace,
            name=name,
            timeout_seconds=timeout_seconds,
            report=report,
        )
        report("rollout complete")
        live = read_daemon_set(client, namespace, name)
    return RestartOutcome(restarted, template_annotations(live).get(RESTARTED_AT), status.observed_generation)


def observe(kubeconfig: str, namespace: str, name: str) -> tuple[Optional[str], Optional[int]]:
    """Live restartedAt and observedGeneration; (None, None) when the DaemonSet is gone."""
    from kubernetes.client import AppsV1Api

    with kube_client(kubeconfig, ROLLOUT_USER_AGENT) as client:
        ds = read(AppsV1Api(client).read_namespaced_daemon_set, name, namespace)
    if ds is None:
        return None, None
    return template_annotations(ds).get(RESTARTED_AT), RolloutStatus.of(ds).observed_generation


# --------------------------------------------------------------------------- the dynamic provider


def inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props.get(k) for k in INPUT_KEYS}


def trigger_mark(props: Mapping[str, Any]) -> str:
    """What the annotation holds: the trigger, prefixed in release mode so both modes never collide."""
    prefix = RELEASE_PREFIX if props.get("restartOn") == "release" else ""
    return f"{prefix}{props['trigger']}"


def diff_props(olds: Mapping[str, Any], news: Mapping[str, Any]) -> dyn.DiffResult:
    """Changed inputs (an unknown counts as changed); a different DaemonSet or mode is a replacement."""
    changed = changed_inputs(olds, news, INPUT_KEYS)
    replaces = [k for k in REPLACE_KEYS if k in changed]
    stables = [k for k in INPUT_KEYS if k not in changed]
    return dyn.DiffResult(
        changes=bool(changed), replaces=replaces, stables=stables, delete_before_replace=False
    )


def check_props(news: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    failures = []
    if news.get("restartOn") not in MODES and not is_unknown(news.get("restartOn")):
        failures.append(dyn.CheckFailure("restartOn", f"must be one of {', '.join(MODES)}"))
    timeout = news.get("timeoutSeconds")
    if not is_unknown(timeout) and (not isinstance(timeout, (int, float)) or timeout <= 0):
        failures.append(dyn.CheckFailure("timeoutSeconds", "must be a positive number of seconds"))
    for key in ("daemonSet", "namespace"):
        value = news.get(key)
        if not is_unknown(value) and (not isinstance(value, str) or not value):
            failures.append(dyn.CheckFailure(key, "must be a non-empty string"))
    return failures


class TerwayRolloutProvider(dyn.ResourceProvider):
    """Stateless: everything it needs arrives in props, clients are made per call."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, check_props(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        return diff_props(olds, news)

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        outs = inputs_of(props)
        ns, name = props["namespace"], props["daemonSet"]
        if props["restartOn"] == "change":
            outs.update(self._restart(props, restarts=0))
        else:  # release: only prove the DaemonSet is there, so destroy will not be the first to find out
            restarted_at, generation = observe(plain(props["kubeconfig"]), ns, name)
            if generation is None:
                raise DaemonSetMissing(ns, name)
            outs.update(restartedAt=restarted_at, observedGeneration=generation, restarts=0)
        return dyn.CreateResult(id_=f"{ns}/{name}:{props['restartOn']}", outs=outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        outs = inputs_of(news)
        carried = {k: olds.get(k) for k in OUTPUT_KEYS}
        carried["restarts"] = int(carried.get("restarts") or 0)
        if news["restartOn"] == "change" and news["trigger"] != olds.get("trigger"):
            outs.update(self._restart(news, restarts=carried["restarts"]))
        else:  # timeout, kubeconfig or a release-mode trigger changed: record only
            outs.update(carried)
        return dyn.UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("restartOn") != "release":
            return
        try:
            self._restart(props, restarts=int(props.get("restarts") or 0))
        except DaemonSetMissing as err:
            # Nothing left to restart, so nothing keeps reading the released keys.
            reporter(props["namespace"], props["daemonSet"])(f"skipped on delete: {err}")

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        outs = {**inputs_of(props), "restarts": int(props.get("restarts") or 0)}
        restarted_at, generation = observe(plain(props["kubeconfig"]), props["namespace"], props["daemonSet"])
        outs.update(restartedAt=restarted_at, observedGeneration=generation)
        return dyn.ReadResult(id_=id_, outs=outs)

    @staticmethod
    def _restart(props: Mapping[str, Any], restarts: int) -> dict[str, Any]:
        outcome = restart_and_wait(
            plain(props["kubeconfig"]),
            props["namespace"],
            props["daemonSet"],
            trigger_mark(props),
            float(props["timeoutSeconds"]),
        )
        return {
            "restartedAt": outcome.restarted_at,
            "observedGeneration": outcome.observed_generation,
            "restarts": restarts + (1 if outcome.restarted else 0),
        }


class TerwayRollout(KubeconfigResource, module="terway_stack", name="TerwayRollout"):
    """Rolling restart of one Terway DaemonSet; see the module docstring for the two modes."""

    restartedAt: pulumi.Output[Optional[str]]
    restarts: pulumi.Output[int]
    observedGeneration: pulumi.Output[Optional[int]]

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        daemon_set: str,
        trigger: pulumi.Input[str],
        restart_on: str,
        timeout_seconds: int,
        namespace: str = TERWAY_NAMESPACE,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        require_choice(restart_on, MODES, "restart_on")
        if not isinstance(timeout_seconds, int) or timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be a positive integer, got {timeout_seconds!r}")
        props = {
            "kind": ROLLOUT_KIND,
            "restartMethod": ROLLOUT_METHOD,
            "daemonSet": daemon_set,
            "namespace": namespace,
            "trigger": trigger,
            "restartOn": restart_on,
            "timeoutSeconds": timeout_seconds,
        }
        super().__init__(TerwayRolloutProvider(), name, props, kubeconfig, opts, output_keys=OUTPUT_KEYS)
