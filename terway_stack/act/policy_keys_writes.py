"""The policy keys' writes: bring felix_relay_service and disable_network_policy to a mode, and back.

What the values become is decided in decide/policy_keys.py (`policy_keys_write`, `restore_disable_policy`);
this module makes those writes against the live ConfigMap with the guarded writes of
configmap_writes.py, remembering what the stack holds and what it restores on delete (`PolicyState`).
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from ..decide.facts import DISABLE_POLICY_KEY, LEGACY_POLICY_MANAGER, POLICY_KEYS, POLICY_MANAGER, RELAY_KEY, TYPHA_SERVICE_NAME
from ..decide.policy_keys import policy_keys_write, restore_disable_policy
from ..decide.restarts import writer_changed
from .configmap_writes import (
    Attempt,
    EniConfigWriteError,
    apply_keys,
    data_path,
    json_patch,
    live_data,
    owned_keys,
    report,
    write_with_retries,
)
from .dynamic import is_unknown


@dataclass(frozen=True)
class PolicyState:
    """What the policy writer holds, and what it restores on delete."""

    after: dict[str, str]
    held: list[str]
    prior_recorded: bool
    prior_disable: Optional[str]
    changed: Optional[bool] = None  # whether this run changed what Terway reads from the keys

    def outputs(self) -> dict[str, Any]:
        return {
            "data": dict(self.after),
            "held": list(self.held),
            "priorRecorded": self.prior_recorded,
            "priorDisableNetworkPolicy": self.prior_disable,
            "effectiveChange": self.changed,
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
        self.first_read: Optional[dict[str, str]] = None  # the policy keys before any write of this run
        self.prior_recorded, self.prior = previous.prior_recorded, previous.prior_disable
        self.held = list(previous.held)

    def step(self, client: Any, attempt: Attempt) -> PolicyState:
        live = live_data(attempt.cm)
        if self.first_read is None:
            self.first_read = _policy_view(live)
        self._refuse_unchecked_changes(live)
        # Keys the earlier ConfigMapPatch version holds are taken over at once (see LEGACY_POLICY_MANAGER).
        legacy = owned_keys(attempt.cm, LEGACY_POLICY_MANAGER) & set(POLICY_KEYS)
        held = sorted(set(self.held) | legacy)
        plan = policy_keys_write(self.mode, live, held)
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
    """Bring the policy keys to what `mode` needs over the live values; see decide/policy_keys.py policy_keys_write."""
    run = _PolicyKeysRun(namespace, name, mode, previous, observed, manager)
    state = write_with_retries(kubeconfig, namespace, name, run.step, "the network-policy keys",
                               after_read=after_read, sleep=sleep)
    return dataclasses.replace(state, changed=writer_changed(run.first_read or {}, state.after, POLICY_KEYS))


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
        restore, value = restore_disable_policy(previous.prior_disable, held, current)
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


def policy_state(props: Mapping[str, Any]) -> PolicyState:
    data = props.get("data") if isinstance(props.get("data"), Mapping) else {}
    return PolicyState(
        after={k: v for k, v in dict(data).items() if v is not None},
        held=[str(k) for k in props.get("held") or []],
        prior_recorded=bool(props.get("priorRecorded")),
        prior_disable=props.get("priorDisableNetworkPolicy"),
    )
