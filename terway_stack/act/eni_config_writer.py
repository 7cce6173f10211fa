"""The stack's writes to kube-system/eni-config, as two Pulumi dynamic resources.

Why not pulumi-kubernetes' ConfigMapPatch: it cannot make a write conditional on the value it was
computed from (a console edit made between the read and the write was silently overwritten), it
cannot remove a key another field manager co-owns (server-side apply removes a released field only
when nobody else owns it: a runbook's `kubectl edit` of felix_relay_service survived destroy), and
it cannot remember a value to restore. See docs/eni-config.md.

Resources:
- EniConfWriter (`eni_conf`): merges the wanted pod vSwitch ids into the live value at write time.
  Retained on destroy (pods hold IPs of those vSwitches); delete writes nothing.
- PolicyKeysWriter (`felix_relay_service`, `disable_network_policy`): see
  decide/policy_keys.py policy_keys_write. It remembers `disable_network_policy` from before it first
  wrote it (absent included) and restores it on delete; on delete from mode typha it removes the
  relay key.

Inputs carry the values planned from the program-time read, so `pulumi preview` shows the change
and a drift shows as a diff; outputs carry what is really in the ConfigMap after the write, which is
what the Terway restart trigger is computed from.

How each write is guarded (resourceVersion precondition, bounded retries, apply to set, JSON patch with
`test` to remove) is in configmap_writes.py; the policy keys' writes and restore are in
policy_keys_writes.py.

Providers hold no state and are pickled by reference to this module path: keep it stable. Clients
are made inside each method (act/kube.py) and closed after.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn

from ..decide.eni_conf_codec import merge_eni_conf
from ..decide.facts import (
    ENI_CONF_KEY,
    ENI_CONF_MANAGER,
    ENI_CONF_ROLE,
    ENI_CONFIG_NAME,
    ENI_CONFIG_NAMESPACE,
    ENI_CONFIG_WRITER_KIND,
    NETWORK_POLICY_MODES,
    POLICY_KEYS,
    POLICY_KEYS_ROLE,
    POLICY_MANAGER,
)
from ..decide.problems import InputError
from ..decide.restarts import writer_changed
from .configmap_writes import (
    Attempt,
    ConfigMapMissing,
    EniConfigWriteError,
    apply_keys,
    live_data,
    observe_keys,
    owned_keys,
    report,
    write_with_retries,
)
from .dynamic import KubeconfigResource, RedactingProvider, changed_inputs, is_unknown, plain, require_choice
from .policy_keys_writes import PolicyState, policy_state, release_policy_keys, write_policy_keys

COMMON_KEYS = ("kind", "role", "namespace", "configMap", "fieldManager", "data", "kubeconfig", "observed")
# Output of both writers: whether their last write changed a value Terway reads (decide/restarts.py);
# the Terway restart that follows them restarts on its first run only when one of them did.
CHANGED_KEY = "effectiveChange"
ENI_CONF_KEYS = (*COMMON_KEYS, "wantedVSwitches")
POLICY_INPUT_KEYS = (*COMMON_KEYS, "networkPolicyMode")
# Outputs only the policy writer has: what it holds and what it will restore.
POLICY_STATE_KEYS = ("held", "priorRecorded", "priorDisableNetworkPolicy", CHANGED_KEY)


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
    first_read: Optional[list] = None,
) -> tuple[str, bool]:
    """Merge `wanted` into the live eni_conf at write time. Returns (value now live, whether written).

    `first_read`, when given, receives the value of the run's first read (before any write of ours).
    """

    def step(client: Any, attempt: Attempt) -> tuple[str, bool]:
        live = live_data(attempt.cm).get(ENI_CONF_KEY)
        if first_read is not None and not first_read:
            first_read.append(live)
        try:
            merged = merge_eni_conf(live, wanted)
        except InputError as err:
            raise EniConfigWriteError(f"{err}; nothing was written") from None
        if merged == live and ENI_CONF_KEY in owned_keys(attempt.cm, manager):
            return live, False
        written = apply_keys(client, attempt.cm, {ENI_CONF_KEY: merged}, manager)
        attempt.wrote = True
        return live_data(written)[ENI_CONF_KEY], True

    return write_with_retries(kubeconfig, namespace, name, step, ENI_CONF_KEY, after_read=after_read, sleep=sleep)


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


class EniConfWriterProvider(RedactingProvider):
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
        outs = {k: props.get(k) for k in (*ENI_CONF_KEYS, CHANGED_KEY)}
        outs["data"] = observe_keys(*_target(props), [ENI_CONF_KEY])
        return dyn.ReadResult(id_=id_, outs=outs)

    @staticmethod
    def _write(props: Mapping[str, Any]) -> dict[str, Any]:
        wanted = {zone: list(ids) for zone, ids in dict(plain(props["wantedVSwitches"])).items()}
        before: list = []
        value, written = write_eni_conf(*_target(props), wanted, manager=props["fieldManager"], first_read=before)
        report(("wrote" if written else "already up to date:") + f" {ENI_CONF_KEY} with {_describe(wanted)}")
        outs = {k: props.get(k) for k in ENI_CONF_KEYS}
        outs["data"] = {ENI_CONF_KEY: value}
        outs[CHANGED_KEY] = writer_changed({ENI_CONF_KEY: before[0] if before else None}, outs["data"], (ENI_CONF_KEY,))
        return outs


def _describe(wanted: Mapping[str, Sequence[str]]) -> str:
    return ", ".join(f"{zone}: {', '.join(ids)}" for zone, ids in sorted(wanted.items())) or "no vSwitches"


class PolicyKeysWriterProvider(RedactingProvider):
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
    effectiveChange: pulumi.Output[Optional[bool]]

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
        super().__init__(EniConfWriterProvider(), name, props, kubeconfig, opts, output_keys=(CHANGED_KEY,))


class PolicyKeysWriter(KubeconfigResource, module="terway_stack", name="PolicyKeysWriter"):
    """Owns felix_relay_service / disable_network_policy of eni-config for a network-policy mode."""

    data: pulumi.Output[dict]
    effectiveChange: pulumi.Output[Optional[bool]]
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
        require_choice(mode, NETWORK_POLICY_MODES, "mode")
        props = _common_props(POLICY_KEYS_ROLE, planned, POLICY_MANAGER, namespace, config_map)
        props.update(networkPolicyMode=mode, observed=observed)
        super().__init__(PolicyKeysWriterProvider(), name, props, kubeconfig, opts, output_keys=POLICY_STATE_KEYS)
