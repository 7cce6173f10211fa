"""The stack's writes to kube-system/eni-config, as two Pulumi dynamic resources.

Why not pulumi-kubernetes' ConfigMapPatch: it cannot make a write conditional on the value it was
computed from (a console edit made between the read and the write was silently overwritten), it
cannot remove a key another field manager co-owns (server-side apply removes a released field only
when nobody else owns it: a runbook's `kubectl edit` of felix_relay_service survived destroy), and
it cannot remember a value to restore. See docs/eni-config.md.

Every write here:
- is computed from a GET made just before it, and carries that GET's `metadata.resourceVersion`,
  so the API server refuses it (409 Conflict) if the ConfigMap changed in between;
- on a conflict, reads again, recomputes against the value current then (the eni_conf merge
  included) and tries again, at most MAX_ATTEMPTS times; then it fails saying what was written
  (normally nothing) and to run again;
- sets keys by server-side apply (fixed field manager, force), so the stack co-owns them;
- removes keys by JSON patch with a `test` op on the value the stack put there, so a key goes
  whoever else co-owns it, and a value someone else set is never removed.

Resources:
- EniConfWriter (`eni_conf`): merges the wanted pod vSwitch ids into the live value at write time.
  Retained on destroy (pods hold IPs of those vSwitches); delete writes nothing.
- PolicyKeysWriter (`felix_relay_service`, `disable_network_policy`): see
  decide.eni_config.policy_keys_write. It remembers `disable_network_policy` from before it first
  wrote it (absent included) and restores it on delete; on delete from mode typha it removes the
  relay key.

Inputs carry the values planned from the program-time read, so `pulumi preview` shows the change
and a drift shows as a diff; outputs carry what is really in the ConfigMap after the write, which is
what the Terway restart trigger is computed from.

Providers hold no state and are pickled by reference to this module path: keep it stable. Clients
are made inside each method (act/kube.py) and closed after.
"""
from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn

from ..decide import eni_config as decide
from ..decide.facts import (
    DISABLE_POLICY_KEY,
    ENI_CONF_KEY,
    ENI_CONF_MANAGER,
    ENI_CONF_ROLE,
    ENI_CONFIG_NAME,
    ENI_CONFIG_NAMESPACE,
    ENI_CONFIG_WRITER_KIND,
    ENI_CONFIG_WRITER_USER_AGENT,
    LEGACY_POLICY_MANAGER,
    NETWORK_POLICY_MODES,
    POLICY_KEYS,
    POLICY_KEYS_ROLE,
    POLICY_MANAGER,
    RELAY_KEY,
    TYPHA_SERVICE_NAME,
)
from ..decide.live_objects import data_key_owners
from ..decide.problems import InputError
from .dynamic import KubeconfigResource, changed_inputs, is_unknown, plain
from .kube import KubeStatusError, kube_client, read, send

# Each conflict means another writer changed eni-config within the few milliseconds between our
# read and our write. Five in a row means something rewrites it continuously; more retries would not
# win against that, and the person running `pulumi up` should look.
MAX_ATTEMPTS = 5
COMMON_KEYS = ("kind", "role", "namespace", "configMap", "fieldManager", "data", "kubeconfig", "observed")
ENI_CONF_KEYS = (*COMMON_KEYS, "wantedVSwitches")
POLICY_INPUT_KEYS = (*COMMON_KEYS, "networkPolicyMode")
# Outputs only the policy writer has: what it holds and what it will restore.
POLICY_STATE_KEYS = ("held", "priorRecorded", "priorDisableNetworkPolicy")


class EniConfigWriteError(Exception):
    """A write to eni-config that could not be made. Messages never contain the kubeconfig."""


class ConfigMapMissing(EniConfigWriteError):
    def __init__(self, namespace: str, name: str):
        super().__init__(f"ConfigMap {namespace}/{name} not found: this cluster has no Terway eni-config")


class Conflict(Exception):
    """The API server refused a write because the ConfigMap changed since it was read."""


def report(line: str) -> None:
    # The engine streams a dynamic provider's stderr to the user as info lines.
    print(f"eni-config-writer: {line}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- Kubernetes access


def client_for(kubeconfig: str):
    """A client whose requests the audit log shows as the eni-config writer's."""
    return kube_client(kubeconfig, ENI_CONFIG_WRITER_USER_AGENT)


def read_configmap(client: Any, namespace: str, name: str) -> dict:
    from kubernetes.client import CoreV1Api

    obj = read(CoreV1Api(client).read_namespaced_config_map, name, namespace)
    if obj is None:
        raise ConfigMapMissing(namespace, name)
    return obj


def _patch(client: Any, namespace: str, name: str, body: Any, content_type: str, manager: str, force: bool) -> dict:
    from kubernetes.client import CoreV1Api

    try:
        return send(
            CoreV1Api(client).patch_namespaced_config_map, name, namespace, body,
            what=f"writing {namespace}/{name}", field_manager=manager, force=force or None, _content_type=content_type,
        )
    except KubeStatusError as err:
        # 409: the resourceVersion precondition failed. 422 from a JSON patch: a `test` op failed,
        # i.e. the value changed since the read. Both mean: read again.
        if err.status in (409, 422):
            raise Conflict() from None
        raise


def apply_keys(client: Any, cm: Mapping[str, Any], data: Mapping[str, str], manager: str) -> dict:
    """Server-side apply of exactly `data`, refused if the ConfigMap is no longer at cm's resourceVersion."""
    meta = cm["metadata"]
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "resourceVersion": meta["resourceVersion"]},
    }
    if data:
        body["data"] = dict(data)
    return _patch(client, meta["namespace"], meta["name"], body, "application/apply-patch+yaml", manager, force=True)


def json_patch(client: Any, cm: Mapping[str, Any], ops: Sequence[Mapping[str, Any]], manager: str) -> dict:
    """A JSON patch whose first op tests cm's resourceVersion (the same precondition as apply)."""
    meta = cm["metadata"]
    guarded = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]}, *ops]
    return _patch(client, meta["namespace"], meta["name"], guarded, "application/json-patch+json", manager, force=False)


def data_path(key: str) -> str:
    return "/data/" + key.replace("~", "~0").replace("/", "~1")


def owned_keys(cm: Mapping[str, Any], manager: str) -> set[str]:
    """data keys the manager owns by server-side apply (metadata.managedFields)."""
    return {
        key for owner, operation, keys in data_key_owners(cm) if owner == manager and operation == "Apply" for key in keys
    }


def live_data(cm: Mapping[str, Any]) -> dict[str, str]:
    return dict(cm.get("data") or {})


# --------------------------------------------------------------------------- the retry loop


@dataclass
class Attempt:
    """One read-compute-write pass; `wrote` is set once any request of the pass succeeded."""

    cm: dict
    wrote: bool = False


def write_with_retries(
    kubeconfig: str,
    namespace: str,
    name: str,
    step: Callable[[Any, Attempt], Any],
    what: str,
    *,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    after_read: Optional[Callable[[dict], None]] = None,
) -> Any:
    """Run `step(client, attempt)` on a fresh read until it completes without a conflict.

    `after_read` is called with each read before `step` (tests use it to change the ConfigMap
    between our read and our write deterministically).
    """
    wrote_before = False
    with client_for(kubeconfig) as client:
        for number in range(1, attempts + 1):
            attempt = Attempt(read_configmap(client, namespace, name))
            if after_read is not None:
                after_read(attempt.cm)
            try:
                return step(client, attempt)
            except Conflict:
                wrote_before = wrote_before or attempt.wrote
                report(f"{namespace}/{name} changed while writing {what} (attempt {number}/{attempts}); reading it again")
                if number < attempts:
                    sleep(0.1 * number + random.uniform(0, 0.1))
    done = (
        "part of it was written; the rest was not" if wrote_before else "nothing was written"
    )
    raise EniConfigWriteError(
        f"{namespace}/{name} changed {attempts} times between the stack's read and its write of {what}; "
        f"{done}. Something else is writing it right now: check who (kubectl -n {namespace} get cm {name} "
        f"--show-managed-fields -o yaml), then run `pulumi up` again"
    )


# --------------------------------------------------------------------------- eni_conf


def write_eni_conf(
    kubeconfig: str,
    namespace: str,
    name: str,
    wanted: Mapping[str, Sequence[str]],
    *,
    manager: str = ENI_CONF_MANAGER,
    after_read: Optional[Callable[[dict], None]] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, bool]:
    """Merge `wanted` into the live eni_conf at write time. Returns (value now live, whether written)."""

    def step(client: Any, attempt: Attempt) -> tuple[str, bool]:
        live = live_data(attempt.cm).get(ENI_CONF_KEY)
        try:
            merged = decide.merge_eni_conf(live, wanted)
        except InputError as err:
            raise EniConfigWriteError(f"{err}; nothing was written") from None
        if merged == live and ENI_CONF_KEY in owned_keys(attempt.cm, manager):
            return live, False
        written = apply_keys(client, attempt.cm, {ENI_CONF_KEY: merged}, manager)
        attempt.wrote = True
        return live_data(written)[ENI_CONF_KEY], True

    return write_with_retries(kubeconfig, namespace, name, step, ENI_CONF_KEY, after_read=after_read, sleep=sleep)


# --------------------------------------------------------------------------- policy keys


@dataclass(frozen=True)
class PolicyState:
    """What the policy writer holds, and what it restores on delete."""

    after: dict[str, str]
    held: list[str]
    prior_recorded: bool
    prior_disable: Optional[str]

    def outputs(self) -> dict[str, Any]:
        return {
            "data": dict(self.after),
            "held": list(self.held),
            "priorRecorded": self.prior_recorded,
            "priorDisableNetworkPolicy": self.prior_disable,
        }


def _policy_view(data: Mapping[str, Any]) -> dict[str, str]:
    """The policy keys that are present (an absent key is left out, as in the engine's maps)."""
    return {key: data[key] for key in POLICY_KEYS if data.get(key) is not None}


def changed_since_read(live: Mapping[str, Any], observed: Optional[Mapping[str, Any]]) -> list[str]:
    """Policy keys whose live value differs from the one the run planned (and was checked) against."""
    if observed is None or is_unknown(observed):
        return []
    return [key for key in POLICY_KEYS if live.get(key) != observed.get(key)]


class _PolicyKeysRun:
    """One write of the policy keys, across retries.

    Kept between attempts, so that a retry after a request of ours went through is not mistaken for
    someone else's change: the values the keys may hold now (`expected`), the value from before the
    stack first wrote disable_network_policy (`prior`), and the keys our apply holds (`held`).
    """

    def __init__(self, namespace: str, name: str, mode: str, previous: PolicyState,
                 observed: Optional[Mapping[str, Any]], manager: str):
        self.namespace, self.name, self.mode, self.manager = namespace, name, mode, manager
        self.observed = None if observed is None or is_unknown(observed) else dict(observed)
        self.expected = self.observed
        self.prior_recorded, self.prior = previous.prior_recorded, previous.prior_disable
        self.held = list(previous.held)

    def step(self, client: Any, attempt: Attempt) -> PolicyState:
        live = live_data(attempt.cm)
        self._refuse_unchecked_changes(live)
        # Keys the earlier ConfigMapPatch version holds are taken over at once (see LEGACY_POLICY_MANAGER).
        legacy = owned_keys(attempt.cm, LEGACY_POLICY_MANAGER) & set(POLICY_KEYS)
        held = sorted(set(self.held) | legacy)
        plan = decide.policy_keys_write(self.mode, live, held)
        if DISABLE_POLICY_KEY in plan.apply and not self.prior_recorded:
            self.prior_recorded, self.prior = True, live.get(DISABLE_POLICY_KEY)
        cm = attempt.cm
        stale = any(live.get(k) != v for k, v in plan.apply.items())
        unowned = set(plan.apply) - owned_keys(cm, self.manager)
        if stale or unowned or set(held) - set(plan.apply):
            cm = apply_keys(client, cm, plan.apply, self.manager)
            self._wrote(attempt, cm)
            self.held = sorted(plan.apply)
        # The apply released our share of the relay; a co-owner (kubectl edit) still keeps it there.
        if plan.remove_relay and live_data(cm).get(RELAY_KEY) == TYPHA_SERVICE_NAME:
            cm = json_patch(client, cm, remove_relay_ops(), self.manager)
            self._wrote(attempt, cm)
        return PolicyState(_policy_view(live_data(cm)), sorted(plan.apply), self.prior_recorded, self.prior)

    def _wrote(self, attempt: Attempt, cm: Mapping[str, Any]) -> None:
        attempt.wrote, self.expected = True, _policy_view(live_data(cm))

    def _refuse_unchecked_changes(self, live: Mapping[str, Any]) -> None:
        # The run's checks (relay takeover, policy confirmation) were made against the values read at
        # the start; a value changed since then has not been checked.
        moved = changed_since_read(live, self.expected)
        if moved:
            written = "part of the change was written" if self.expected != self.observed else "nothing was written"
            raise EniConfigWriteError(
                f"{self.namespace}/{self.name}:{moved[0]} changed from {json.dumps((self.expected or {}).get(moved[0]))} "
                f"to {json.dumps(live.get(moved[0]))} since this run read it; {written}. Run `pulumi up` again "
                f"to plan against the new value"
            )


def write_policy_keys(
    kubeconfig: str,
    namespace: str,
    name: str,
    mode: str,
    previous: PolicyState,
    observed: Optional[Mapping[str, Any]] = None,
    *,
    manager: str = POLICY_MANAGER,
    after_read: Optional[Callable[[dict], None]] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PolicyState:
    """Bring the policy keys to what `mode` needs over the live values; see decide.policy_keys_write."""
    run = _PolicyKeysRun(namespace, name, mode, previous, observed, manager)
    return write_with_retries(kubeconfig, namespace, name, run.step, "the network-policy keys",
                              after_read=after_read, sleep=sleep)


def remove_relay_ops() -> list[dict]:
    path = data_path(RELAY_KEY)
    return [{"op": "test", "path": path, "value": TYPHA_SERVICE_NAME}, {"op": "remove", "path": path}]


def release_ops(mode: str, previous: PolicyState, live: Mapping[str, Any]) -> list[dict]:
    """JSON patch ops for delete: the relay goes (mode typha); disable_network_policy is restored."""
    ops: list[dict] = []
    if mode == "typha" and live.get(RELAY_KEY) == TYPHA_SERVICE_NAME:
        ops += remove_relay_ops()
    held = previous.after.get(DISABLE_POLICY_KEY) if DISABLE_POLICY_KEY in previous.held else None
    if previous.prior_recorded:
        current = live.get(DISABLE_POLICY_KEY)
        restore, value = decide.restore_disable_policy(previous.prior_disable, held, current)
        if restore:
            path = data_path(DISABLE_POLICY_KEY)
            ops.append({"op": "test", "path": path, "value": current})
            ops.append({"op": "remove", "path": path} if value is None else {"op": "replace", "path": path, "value": value})
        elif held is not None and current != held:
            report(f"{DISABLE_POLICY_KEY} is {json.dumps(current)}, not the {json.dumps(held)} the stack wrote: left as it is")
    return ops


def release_policy_keys(
    kubeconfig: str,
    namespace: str,
    name: str,
    mode: str,
    previous: PolicyState,
    *,
    manager: str = POLICY_MANAGER,
    after_read: Optional[Callable[[dict], None]] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Delete: remove our relay and restore disable_network_policy. Returns the policy keys after."""

    def step(client: Any, attempt: Attempt) -> dict[str, str]:
        ops = release_ops(mode, previous, live_data(attempt.cm))
        cm = json_patch(client, attempt.cm, ops, manager) if ops else attempt.cm
        attempt.wrote = bool(ops)
        return _policy_view(live_data(cm))

    return write_with_retries(kubeconfig, namespace, name, step, "the release of the network-policy keys", after_read=after_read, sleep=sleep)


def observe_keys(kubeconfig: str, namespace: str, name: str, keys: Sequence[str]) -> dict[str, str]:
    with client_for(kubeconfig) as client:
        data = live_data(read_configmap(client, namespace, name))
    return {k: data[k] for k in keys if k in data}


# --------------------------------------------------------------------------- providers


def differs_from_live(news: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """The plan (`data`) differs from the values this run read (`observed`): there is something to write."""
    observed, planned = news.get("observed"), news.get("data")
    if observed is None:
        return False
    if is_unknown(observed) or is_unknown(planned):
        return True
    observed, planned = dict(plain(observed) or {}), dict(plain(planned) or {})
    return any(is_unknown(planned.get(k)) or planned.get(k) != observed.get(k) for k in keys)


def _diff(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Sequence[str], managed: Sequence[str]) -> dyn.DiffResult:
    """A change when the plan differs from what was live after the last write (`data` of olds) or from
    what this run read (a drift either way), or an input changed; a converged stack shows none.
    `observed` alone is never a change: it is the read, checked at write time."""
    changed = changed_inputs(olds, news, [k for k in keys if k != "observed"])
    if "data" not in changed and differs_from_live(news, managed):
        changed.append("data")
    replaces = [k for k in ("namespace", "configMap") if k in changed]
    return dyn.DiffResult(changes=bool(changed), replaces=replaces, stables=[k for k in keys if k not in changed],
                          delete_before_replace=False)


def _target(props: Mapping[str, Any]) -> tuple[str, str, str]:
    return plain(props["kubeconfig"]), props["namespace"], props["configMap"]


def _common_failures(news: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    failures = []
    for key in ("namespace", "configMap", "fieldManager"):
        value = news.get(key)
        if not is_unknown(value) and (not isinstance(value, str) or not value):
            failures.append(dyn.CheckFailure(key, "must be a non-empty string"))
    data = news.get("data")
    if data is not None and not is_unknown(data) and not isinstance(data, Mapping):
        failures.append(dyn.CheckFailure("data", "must map eni-config keys to strings"))
    return failures


class EniConfWriterProvider(dyn.ResourceProvider):
    """eni_conf with the wanted pod vSwitch ids merged in at write time; retained on delete."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        failures = _common_failures(news)
        wanted = news.get("wantedVSwitches")
        if not is_unknown(wanted) and not isinstance(wanted, Mapping):
            failures.append(dyn.CheckFailure("wantedVSwitches", "must map each zone to a list of vSwitch ids"))
        return dyn.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        return _diff(olds, news, ENI_CONF_KEYS, [ENI_CONF_KEY])

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        namespace, name = props["namespace"], props["configMap"]
        return dyn.CreateResult(id_=f"{namespace}/{name}:{ENI_CONF_ROLE}", outs=self._write(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        return dyn.UpdateResult(outs=self._write(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # Retained: pods hold IPs of the listed vSwitches; removing them would strand those pods.
        return None

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        outs = {k: props.get(k) for k in ENI_CONF_KEYS}
        outs["data"] = observe_keys(*_target(props), [ENI_CONF_KEY])
        return dyn.ReadResult(id_=id_, outs=outs)

    @staticmethod
    def _write(props: Mapping[str, Any]) -> dict[str, Any]:
        wanted = {zone: list(ids) for zone, ids in dict(plain(props["wantedVSwitches"])).items()}
        value, written = write_eni_conf(*_target(props), wanted, manager=props["fieldManager"])
        report(("wrote" if written else "already up to date:") + f" {ENI_CONF_KEY} with {_describe(wanted)}")
        outs = {k: props.get(k) for k in ENI_CONF_KEYS}
        outs["data"] = {ENI_CONF_KEY: value}
        return outs


def _describe(wanted: Mapping[str, Sequence[str]]) -> str:
    return ", ".join(f"{zone}: {', '.join(ids)}" for zone, ids in sorted(wanted.items())) or "no vSwitches"


def policy_state(props: Mapping[str, Any]) -> PolicyState:
    data = props.get("data") if isinstance(props.get("data"), Mapping) else {}
    return PolicyState(
        after={k: v for k, v in dict(data).items() if v is not None},
        held=[str(k) for k in props.get("held") or []],
        prior_recorded=bool(props.get("priorRecorded")),
        prior_disable=props.get("priorDisableNetworkPolicy"),
    )


class PolicyKeysWriterProvider(dyn.ResourceProvider):
    """felix_relay_service and disable_network_policy for a network-policy mode; restored on delete."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        failures = _common_failures(news)
        mode = news.get("networkPolicyMode")
        if not is_unknown(mode) and mode not in NETWORK_POLICY_MODES:
            failures.append(dyn.CheckFailure("networkPolicyMode", f"must be one of {', '.join(NETWORK_POLICY_MODES)}"))
        return dyn.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        return _diff(olds, news, POLICY_INPUT_KEYS, POLICY_KEYS)

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        namespace, name = props["namespace"], props["configMap"]
        return dyn.CreateResult(id_=f"{namespace}/{name}:{POLICY_KEYS_ROLE}", outs=self._write(props, PolicyState({}, [], False, None)))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        return dyn.UpdateResult(outs=self._write(news, policy_state(olds)))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        try:
            after = release_policy_keys(*_target(props), props.get("networkPolicyMode"), policy_state(props),
                                        manager=props.get("fieldManager") or POLICY_MANAGER)
        except ConfigMapMissing as err:
            # Nothing left that Felix could read the keys from.
            report(f"skipped on delete: {err}")
            return
        report(f"released the network-policy keys; now {json.dumps(after, sort_keys=True)}")

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        outs = {k: props.get(k) for k in (*POLICY_INPUT_KEYS, *POLICY_STATE_KEYS)}
        outs["data"] = observe_keys(*_target(props), POLICY_KEYS)
        return dyn.ReadResult(id_=id_, outs=outs)

    @staticmethod
    def _write(props: Mapping[str, Any], previous: PolicyState) -> dict[str, Any]:
        observed = plain(props.get("observed"))
        state = write_policy_keys(*_target(props), props["networkPolicyMode"], previous, observed,
                                  manager=props["fieldManager"])
        report(f"network-policy keys now {json.dumps(state.after, sort_keys=True)}")
        return {**{k: props.get(k) for k in POLICY_INPUT_KEYS}, **state.outputs()}


# --------------------------------------------------------------------------- resources


def _common_props(role: str, data: Any, manager: str, namespace: str, name: str) -> dict:
    return {
        "kind": ENI_CONFIG_WRITER_KIND,
        "role": role,
        "namespace": namespace,
        "configMap": name,
        "fieldManager": manager,
        "data": data,
    }


class EniConfWriter(KubeconfigResource, module="terway_stack", name="EniConfWriter"):
    """Owns eni_conf of eni-config: the live value with the pod vSwitch ids merged in at write time."""

    data: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        wanted_vswitches: pulumi.Input[Mapping[str, Sequence[str]]],
        planned_eni_conf: pulumi.Input[str],
        observed_eni_conf: pulumi.Input[Optional[str]] = None,
        namespace: str = ENI_CONFIG_NAMESPACE,
        config_map: str = ENI_CONFIG_NAME,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        props = _common_props(
            ENI_CONF_ROLE, {ENI_CONF_KEY: planned_eni_conf}, ENI_CONF_MANAGER, namespace, config_map
        )
        props["wantedVSwitches"] = wanted_vswitches
        props["observed"] = pulumi.Output.from_input(observed_eni_conf).apply(
            lambda text: {ENI_CONF_KEY: text} if text is not None else {}
        )
        super().__init__(EniConfWriterProvider(), name, props, kubeconfig, opts)


class PolicyKeysWriter(KubeconfigResource, module="terway_stack", name="PolicyKeysWriter"):
    """Owns felix_relay_service / disable_network_policy of eni-config for a network-policy mode."""

    data: pulumi.Output[dict]
    held: pulumi.Output[list]
    priorRecorded: pulumi.Output[bool]
    priorDisableNetworkPolicy: pulumi.Output[Optional[str]]

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        mode: str,
        planned: pulumi.Input[Mapping[str, str]],
        observed: pulumi.Input[Mapping[str, Optional[str]]],
        namespace: str = ENI_CONFIG_NAMESPACE,
        config_map: str = ENI_CONFIG_NAME,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        if mode not in NETWORK_POLICY_MODES:
            raise ValueError(f"mode must be one of {NETWORK_POLICY_MODES}, got {mode!r}")
        props = _common_props(POLICY_KEYS_ROLE, planned, POLICY_MANAGER, namespace, config_map)
        props.update(networkPolicyMode=mode, observed=observed, **{k: None for k in POLICY_STATE_KEYS})
        super().__init__(PolicyKeysWriterProvider(), name, props, kubeconfig, opts)
