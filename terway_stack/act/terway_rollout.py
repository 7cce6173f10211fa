"""Rolling restart of a Terway DaemonSet as a Pulumi dynamic resource (the `kubectl rollout restart` way).

Terway reads kube-system/eni-config only when it starts, so a change of the keys the stack manages
takes effect only after its pods restart. The runbook deletes every Terway pod at once; this
resource instead patches the pod template annotation `kubectl.kubernetes.io/restartedAt`, exactly
like `kubectl rollout restart daemonset/<name>`, so the DaemonSet controller replaces pods within
the DaemonSet's own maxUnavailable. It never deletes a pod itself. Then it waits for the rollout
(generation observed, every pod updated and available), printing progress lines.

Two modes, one resource each:

- ``restart_on="change"`` depends on the eni-config patch. Create restarts; an update restarts only
  when ``trigger`` (a hash of the effective managed values) changed. A second ``pulumi up`` with the
  same inputs restarts nothing. In preview an unknown trigger shows as an update and does nothing.
  Delete does nothing: removing this resource changes no configuration.
- ``restart_on="release"`` restarts on DELETE only. Create/update record state. The program places it
  BEFORE the eni-config patch that owns ``felix_relay_service``/``disable_network_policy`` (the patch
  depends on it) and AFTER the Typha Deployment (it depends on Typha). Pulumi destroys in reverse
  dependency order, so on destroy: (1) the patch is deleted, releasing ``felix_relay_service``;
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
each method from the kubeconfig text and closed afterwards. The kubeconfig never appears in a message.
"""
from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn
from pulumi.runtime import rpc
from urllib3.exceptions import TimeoutError as UrllibTimeout
from urllib3.util.retry import Retry

from ..decide import restarts as restart_rules
from ..decide.eni_config import ENI_CONFIG_NAME
from ..decide.rollout_budget import DEFAULT_MAX_UNAVAILABLE_SHARE, budget_problem
from ..decide.rollout_progress import current_revision, node_progress
from .rollout_wait import (  # noqa: F401 (RolloutStatus and wait_for_rollout are part of this module's API)
    ApiUnavailable,
    Deadline,
    RolloutError,
    RolloutStatus,
    utc_now,
    wait_for_rollout,
)

KIND = "terway-rollout-restart"
RESTART_METHOD = "rollout-restart"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
TRIGGER_ANNOTATION = "terway-stack.io/restart-trigger"
RELEASE_PREFIX = "release:"
FIELD_MANAGER = "terway-stack-rollout"
# Sent on every request so the audit log can tell our calls from the controllers'.
USER_AGENT = "terway-stack-rollout/1"
MODES = ("change", "release")
# Inputs whose change means a different object to restart: replace, never update in place.
REPLACE_KEYS = ("daemonSet", "namespace", "restartOn")
INPUT_KEYS = (
    "kind", "restartMethod", "daemonSet", "namespace", "trigger", "restartOn", "timeoutSeconds", "kubeconfig",
    "writersChanged", "maxUnavailableShare", "confirmMaxUnavailable",
)
OUTPUT_KEYS = ("restartedAt", "restarts", "observedGeneration", "notUpdatedNodes")
# One request never waits longer than this (and never past the rollout's deadline); connecting, 10 s.
REQUEST_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)


class DaemonSetMissing(RolloutError):
    def __init__(self, namespace: str, name: str):
        super().__init__(
            f"DaemonSet {namespace}/{name} not found: check terway:terway.daemonSets "
            f"(kubectl -n {namespace} get daemonsets)"
        )


# --------------------------------------------------------------------------- unknowns and secrets


def is_unknown(value: Any) -> bool:
    """pulumi.dynamic hands unknown preview values to check/diff as this sentinel string."""
    return value == rpc.UNKNOWN


def plain(value: Any) -> Any:
    """A value with an RPC secret wrapper removed (the engine normally strips them already)."""
    return rpc.unwrap_rpc_secret(value)


# --------------------------------------------------------------------------- Kubernetes access


@contextmanager
def kube_client(kubeconfig: str) -> Iterator[Any]:
    """An ApiClient for the kubeconfig text, closed on exit. Errors never echo the text."""
    import yaml
    from kubernetes import config as kconfig

    if not isinstance(kubeconfig, str) or not kubeconfig.strip():
        raise RolloutError("kubeconfig is empty")
    try:
        document = yaml.safe_load(kubeconfig)
    except yaml.YAMLError:
        # YAML errors quote the offending line, which may hold a token: say only that it failed.
        raise RolloutError("kubeconfig is not valid YAML") from None
    if not isinstance(document, dict):
        raise RolloutError("kubeconfig is not a YAML mapping")
    try:
        client = kconfig.new_client_from_config_dict(document)
    except Exception as err:  # ConfigException and friends; type name only, values stay out
        raise RolloutError(f"kubeconfig was rejected by the Kubernetes client ({type(err).__name__})") from None
    client.user_agent = USER_AGENT
    with_default_timeouts(client)
    try:
        yield client
    finally:
        client.close()


class RetryNoTimeouts(Retry):
    """urllib3's Retry, except that a connect or read timeout is raised at once, never repeated."""

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        if isinstance(kwargs.get("error"), UrllibTimeout):
            raise kwargs["error"]
        return super().increment(*args, **kwargs)


def with_default_timeouts(client: Any) -> Any:
    """Every request of this client gets a connect and a read timeout, unless it sets its own.

    The generated API methods hand urllib3 `timeout=None` (no timeout at all: a frozen API server
    would hold the call for ever) unless a call gives `_request_timeout`; this fills it in. urllib3
    would also repeat a timed-out request 3 more times, each with the full timeout, past any deadline:
    a timeout is never retried here (callers retry where it is safe: the rollout's wait, until its
    deadline), a dropped keep-alive connection still is.
    """
    rest = client.rest_client
    rest.pool_manager.connection_pool_kw["retries"] = RetryNoTimeouts(2)  # pools are made on first use, from these
    send = rest.request

    def request(*args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
        timeout = _request_timeout or (CONNECT_TIMEOUT_SECONDS, REQUEST_TIMEOUT_SECONDS)
        return send(*args, _request_timeout=timeout, **kwargs)

    rest.request = request
    return client


def _api_error(err: Exception, what: str) -> RolloutError:
    status = getattr(err, "status", None)
    reason = getattr(err, "reason", None) or type(err).__name__
    kind = ApiUnavailable if status in TRANSIENT_STATUSES else RolloutError
    return kind(f"{what}: {status or ''} {reason}".replace("  ", " ").strip())


def _unreachable(err: Exception) -> RolloutError:
    # urllib3 names the server and the failure (e.g. connection refused, read timed out); never headers or bodies.
    return ApiUnavailable(f"cannot reach the Kubernetes API server: {getattr(err, 'reason', None) or type(err).__name__}")


def read_json(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Optional[dict]:
    """Call a generated API method and return the JSON body as a dict; None on 404."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        response = call(*args, _preload_content=False, **kwargs)
    except ApiException as err:
        if err.status == 404:
            return None
        raise _api_error(err, f"{getattr(call, '__name__', 'request')} failed") from None
    except (HTTPError, OSError) as err:
        raise _unreachable(err) from None
    return json.loads(response.data)


def read_daemon_set(client: Any, namespace: str, name: str, timeout: float = REQUEST_TIMEOUT_SECONDS) -> dict:
    from kubernetes.client import AppsV1Api

    obj = read_json(AppsV1Api(client).read_namespaced_daemon_set, name, namespace, _request_timeout=timeout)
    if obj is None:
        raise DaemonSetMissing(namespace, name)
    return obj


def _selector(ds: Mapping[str, Any]) -> str:
    labels = (((ds.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def look(client: Any, namespace: str, name: str, timeout: float, now: Callable[[], datetime] = utc_now) -> RolloutStatus:
    """One look at the rollout: the DaemonSet, and its pods node by node when the counts fall short.

    Lists are served from the API server's cache (resourceVersion 0): a poll of a large cluster costs
    the server little.
    """
    from kubernetes.client import AppsV1Api, CoreV1Api

    ds = read_daemon_set(client, namespace, name, timeout)
    status = RolloutStatus.of(ds)
    if status.counts_complete() or not status.observed():
        return status
    cached = {"resource_version": "0", "_request_timeout": timeout}
    selector = _selector(ds)
    core, apps = CoreV1Api(client), AppsV1Api(client)
    pods = read_json(core.list_namespaced_pod, namespace, label_selector=selector, **cached) or {}
    nodes = read_json(core.list_node, **cached) or {}
    revisions = read_json(apps.list_namespaced_controller_revision, namespace, label_selector=selector, **cached) or {}
    revision = current_revision(ds, revisions.get("items") or [])
    progress = node_progress(ds, pods.get("items") or [], nodes.get("items") or [], revision, now())
    return RolloutStatus.of(ds, progress)


def patch_restart(client: Any, namespace: str, name: str, body: dict, timeout: float = REQUEST_TIMEOUT_SECONDS) -> dict:
    """One strategic-merge patch of the pod template annotations, as kubectl rollout restart sends."""
    from kubernetes.client import AppsV1Api
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        response = AppsV1Api(client).patch_namespaced_daemon_set(
            name,
            namespace,
            body,
            field_manager=FIELD_MANAGER,
            _content_type="application/strategic-merge-patch+json",
            _preload_content=False,
            _request_timeout=timeout,
        )
    except ApiException as err:
        if err.status == 404:
            raise DaemonSetMissing(namespace, name) from None
        raise _api_error(err, f"patching DaemonSet {namespace}/{name} failed") from None
    except (HTTPError, OSError) as err:
        raise _unreachable(err) from None
    return json.loads(response.data)


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


def template_annotations(ds: Mapping[str, Any]) -> dict:
    return dict((((ds.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {})


def update_strategy(ds: Mapping[str, Any]) -> str:
    return ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate"


def reporter(namespace: str, name: str) -> Callable[[str], None]:
    def report(line: str) -> None:
        print(f"terway-rollout {namespace}/{name}: {line}", file=sys.stderr, flush=True)

    return report


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
    timeout = lambda: deadline.request_timeout(REQUEST_TIMEOUT_SECONDS)  # noqa: E731
    with kube_client(kubeconfig) as client:
        ds = read_daemon_set(client, namespace, name, timeout())
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
            ds = patch_restart(client, namespace, name, restart_patch(now(), trigger_mark), timeout())
            report(f"rolling restart requested ({RESTARTED_AT}={template_annotations(ds).get(RESTARTED_AT)})"
                   + (f": {reason}" if reason else ""))
        else:
            report("restart for this trigger already applied; waiting for the rollout only")
        status = wait_for_rollout(
            lambda request_timeout: look(client, namespace, name, request_timeout, now),
            namespace=namespace,
            name=name,
            timeout_seconds=timeout_seconds,
            report=report,
            clock=clock,
            sleep=sleep,
            deadline=deadline,
            request_timeout=REQUEST_TIMEOUT_SECONDS,
        )
        report(status.outcome())
    return RestartOutcome(not applied, template_annotations(ds).get(RESTARTED_AT), status.observed_generation,
                          status.not_updated_nodes())


def observe(kubeconfig: str, namespace: str, name: str) -> tuple[Optional[str], Optional[int]]:
    """Live restartedAt and observedGeneration; (None, None) when the DaemonSet is gone."""
    from kubernetes.client import AppsV1Api

    with kube_client(kubeconfig) as client:
        ds = read_json(AppsV1Api(client).read_namespaced_daemon_set, name, namespace,
                       _request_timeout=REQUEST_TIMEOUT_SECONDS)
    if ds is None:
        return None, None
    return template_annotations(ds).get(RESTARTED_AT), RolloutStatus.of(ds).observed_generation


def read_eni_config_data(kubeconfig: str, namespace: str) -> Optional[dict]:
    """The live eni-config data (None when the ConfigMap is gone), for the release decision."""
    from kubernetes.client import CoreV1Api

    with kube_client(kubeconfig) as client:
        cm = read_json(CoreV1Api(client).read_namespaced_config_map, ENI_CONFIG_NAME, namespace,
                       _request_timeout=REQUEST_TIMEOUT_SECONDS)
    return None if cm is None else dict(cm.get("data") or {})


# --------------------------------------------------------------------------- the dynamic provider


def inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props.get(k) for k in INPUT_KEYS}


def trigger_mark(props: Mapping[str, Any]) -> str:
    """What the annotation holds: the trigger, prefixed in release mode so both modes never collide."""
    prefix = RELEASE_PREFIX if props.get("restartOn") == "release" else ""
    return f"{prefix}{props['trigger']}"


def diff_props(olds: Mapping[str, Any], news: Mapping[str, Any]) -> dyn.DiffResult:
    """Changed inputs (an unknown counts as changed); a different DaemonSet or mode is a replacement."""
    changed = [k for k in INPUT_KEYS if is_unknown(news.get(k)) or plain(news.get(k)) != plain(olds.get(k))]
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
            decision = restart_rules.restart_on_change(None, props["trigger"], _writers_changed(props))
            outs.update(self._restart(props, restarts=0, decision=decision))
        else:  # release: only prove the DaemonSet is there, so destroy will not be the first to find out
            restarted_at, generation = observe(plain(props["kubeconfig"]), ns, name)
            if generation is None:
                raise DaemonSetMissing(ns, name)
            outs.update(restartedAt=restarted_at, observedGeneration=generation, restarts=0, notUpdatedNodes=[])
        return dyn.CreateResult(id_=f"{ns}/{name}:{props['restartOn']}", outs=outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        outs = inputs_of(news)
        carried = {k: olds.get(k) for k in OUTPUT_KEYS}
        carried["restarts"] = int(carried.get("restarts") or 0)
        decision = restart_rules.restart_on_change(olds.get("trigger"), news["trigger"], _writers_changed(news))
        if news["restartOn"] == "change" and decision.restart:
            outs.update(self._restart(news, restarts=carried["restarts"], decision=decision))
        else:  # timeout, kubeconfig, budget or a release-mode baseline changed: record only
            outs.update(carried)
        return dyn.UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("restartOn") != "release":
            return
        report = reporter(props["namespace"], props["daemonSet"])
        live = read_eni_config_data(plain(props["kubeconfig"]), props["namespace"])
        decision = restart_rules.restart_on_release(props.get("trigger"), live)
        if not decision.restart:
            report(f"no restart on delete: {decision.reason}")
            return
        mark = RELEASE_PREFIX + restart_rules.policy_baseline(live or {})
        try:
            self._restart(props, restarts=int(props.get("restarts") or 0), decision=decision, mark=mark)
        except DaemonSetMissing as err:
            # Nothing left to restart, so nothing keeps reading the released keys.
            report(f"skipped on delete: {err}")

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        outs = {**inputs_of(props), "restarts": int(props.get("restarts") or 0),
                "notUpdatedNodes": list(props.get("notUpdatedNodes") or [])}
        restarted_at, generation = observe(plain(props["kubeconfig"]), props["namespace"], props["daemonSet"])
        outs.update(restartedAt=restarted_at, observedGeneration=generation)
        return dyn.ReadResult(id_=id_, outs=outs)

    @staticmethod
    def _restart(props: Mapping[str, Any], restarts: int, decision: restart_rules.RestartDecision,
                 mark: Optional[str] = None) -> dict[str, Any]:
        outcome = restart_and_wait(
            plain(props["kubeconfig"]),
            props["namespace"],
            props["daemonSet"],
            mark or trigger_mark(props),
            float(props["timeoutSeconds"]),
            wanted=decision.restart,
            reason=decision.reason,
            budget=Budget.of(props),
        )
        return {
            "restartedAt": outcome.restarted_at,
            "observedGeneration": outcome.observed_generation,
            "restarts": restarts + (1 if outcome.restarted else 0),
            "notUpdatedNodes": list(outcome.not_updated_nodes),
        }


def _writers_changed(props: Mapping[str, Any]) -> Sequence[Optional[bool]]:
    """Whether each eni-config writer changed a value Terway reads; None for a writer that does not say."""
    changed = plain(props.get("writersChanged"))
    return [c if isinstance(c, bool) else None for c in changed] if isinstance(changed, (list, tuple)) else []


def with_secret_kubeconfig(opts: Optional[pulumi.ResourceOptions]) -> pulumi.ResourceOptions:
    """`opts` plus: the kubeconfig input stays secret in the resource's outputs, hence in state."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"]))


class TerwayRollout(dyn.Resource, module="terway_stack", name="TerwayRollout"):
    """Rolling restart of one Terway DaemonSet; see the module docstring for the two modes."""

    restartedAt: pulumi.Output[Optional[str]]
    restarts: pulumi.Output[int]
    observedGeneration: pulumi.Output[Optional[int]]
    notUpdatedNodes: pulumi.Output[Optional[list]]

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        daemon_set: str,
        trigger: pulumi.Input[str],
        restart_on: str,
        timeout_seconds: int,
        namespace: str = "kube-system",
        writers_changed: pulumi.Input[Sequence[Optional[bool]]] = (),
        max_unavailable_share: int = DEFAULT_MAX_UNAVAILABLE_SHARE,
        confirm_max_unavailable: bool = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        if restart_on not in MODES:
            raise ValueError(f"restart_on must be one of {MODES}, got {restart_on!r}")
        if not isinstance(timeout_seconds, int) or timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be a positive integer, got {timeout_seconds!r}")
        props = {
            "kind": KIND,
            "restartMethod": RESTART_METHOD,
            "daemonSet": daemon_set,
            "namespace": namespace,
            "trigger": trigger,
            "restartOn": restart_on,
            "timeoutSeconds": timeout_seconds,
            "kubeconfig": pulumi.Output.secret(kubeconfig),
            "writersChanged": writers_changed,
            "maxUnavailableShare": max_unavailable_share,
            "confirmMaxUnavailable": confirm_max_unavailable,
            **{k: None for k in OUTPUT_KEYS},
        }
        super().__init__(TerwayRolloutProvider(), name, props, with_secret_kubeconfig(opts))
