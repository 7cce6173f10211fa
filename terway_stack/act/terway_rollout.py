"""Rolling restart of a Terway DaemonSet as a Pulumi dynamic resource (the `kubectl rollout restart` way).

Terway reads kube-system/eni-config only when it starts, so a change of the keys the stack manages
takes effect only after its pods restart. The runbook deletes every Terway pod at once; this
resource instead patches the pod template annotation `kubectl.kubernetes.io/restartedAt`, exactly
like `kubectl rollout restart daemonset/<name>`, so the DaemonSet controller replaces pods within
the DaemonSet's own maxUnavailable. It never deletes a pod itself. Then it waits for the rollout
(generation observed, every pod updated and available), printing progress lines.

Two modes, one resource each:

- ``restart_on="change"`` depends on the eni-config writers. Create restarts only when a writer
  changed a value Terway reads at start in that run (``writersChanged``): a cluster already in the
  wanted state is not restarted. An update restarts only when ``trigger`` (a hash of the effective
  managed values) changed. A second ``pulumi up`` with the same inputs restarts nothing. In preview
  an unknown trigger shows as an update and does nothing. Delete does nothing. The rules are in
  decide/restarts.py; the restart itself, its budget and its wait in act/rollout_restart.py.
- ``restart_on="release"`` restarts on DELETE only. Create/update record state. The program places it
  BEFORE the policy-keys writer that owns ``felix_relay_service``/``disable_network_policy`` (the
  writer depends on it) and AFTER the Typha Deployment (it depends on Typha). Pulumi destroys in
  reverse dependency order, so on destroy: (1) the writer is deleted, releasing ``felix_relay_service``;
  (2) this resource rolls Terway, so every Felix restarts without the relay key and talks to the API
  server directly; (3) only then is Typha deleted. Felix never points at a Typha that is gone. Its
  ``trigger`` is the baseline of the policy values the stack left; (2) happens only when the live
  values differ from it (mode direct releases nothing Felix reads: no restart).

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

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn

from ..decide import restarts as restart_rules
from ..decide.facts import ROLLOUT_KIND, ROLLOUT_METHOD, TERWAY_NAMESPACE
from ..decide.rollout_budget import DEFAULT_MAX_UNAVAILABLE_SHARE
from .dynamic import KubeconfigResource, RedactingProvider, changed_inputs, is_unknown, plain, require_choice
# Names, not the module: tests replace restart_and_wait and read_eni_config_data on this module.
from .rollout_restart import Budget, DaemonSetMissing, observe, read_eni_config_data, reporter, restart_and_wait

RELEASE_PREFIX = "release:"
MODES = ("change", "release")
# Inputs whose change means a different object to restart: replace, never update in place.
REPLACE_KEYS = ("daemonSet", "namespace", "restartOn")
INPUT_KEYS = (
    "kind", "restartMethod", "daemonSet", "namespace", "trigger", "restartOn", "timeoutSeconds", "kubeconfig",
    "writersChanged", "maxUnavailableShare", "confirmMaxUnavailable",
)
OUTPUT_KEYS = ("restartedAt", "restarts", "observedGeneration", "notUpdatedNodes")


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


class TerwayRolloutProvider(RedactingProvider):
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


class TerwayRollout(KubeconfigResource, module="terway_stack", name="TerwayRollout"):
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
        namespace: str = TERWAY_NAMESPACE,
        writers_changed: pulumi.Input[Sequence[Optional[bool]]] = (),
        max_unavailable_share: int = DEFAULT_MAX_UNAVAILABLE_SHARE,
        confirm_max_unavailable: bool = False,
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
            "writersChanged": writers_changed,
            "maxUnavailableShare": max_unavailable_share,
            "confirmMaxUnavailable": confirm_max_unavailable,
        }
        super().__init__(TerwayRolloutProvider(), name, props, kubeconfig, opts, output_keys=OUTPUT_KEYS)
