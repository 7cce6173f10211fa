"""When Terway restarts: only when what it reads at start, from the keys the stack manages, changed.

Terway's containers read eni-config when they start (the policy container's relay and policy switch
only then), so a restart is what makes a change effective, and a restart without a change only
costs: pods on every node lose their network setup for a while, and every Felix re-lists. The
rules, one function each:

- `writer_changed`: a writer changed the effective value of its keys (`effective`), comparing its
  first read of the run with what it left. Writing the same value, co-owning a key set by hand, or
  reformatting `eni_conf` are no change.
- `restart_on_change`: the restart that follows the writers. On its first run it restarts only when
  a writer changed something in that run: a cluster already in the wanted state (the runbook done
  by hand) gets no restart. Later it restarts when the effective values differ from those of its
  previous run (its trigger), whoever changed them.
- `restart_on_release`: the restart at destroy, after the policy keys were released. It restarts
  only when the effective policy values live now differ from those the stack left (its baseline):
  mode `direct` releases nothing Felix reads, so destroy rolls nothing.

Plain data in and out, no Pulumi import: the dynamic providers in act/ call these.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from .eni_conf_codec import parse_eni_conf
from .facts import DISABLE_POLICY_KEY, ENI_CONF_KEY, POLICY_KEYS, RELAY_KEY
from .policy_keys import policy_enabled
from .problems import InputError


def effective(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The values of `keys` of eni-config data as Terway reads them.

    felix_relay_service: the service name, None when absent or empty (Felix reads an empty env as
    unset). disable_network_policy: whether policy is on (Terway compares it exactly). eni_conf: the
    parsed document, so whitespace, key order and number spelling do not count; a value Terway could
    not read is compared as its text.
    """
    data = data or {}
    values: dict[str, Any] = {}
    for key in keys:
        raw = data.get(key)
        if key == RELAY_KEY:
            values[key] = raw or None
        elif key == DISABLE_POLICY_KEY:
            values["network_policy_enabled"] = policy_enabled(None if raw is None else str(raw))
        elif key == ENI_CONF_KEY:
            values[key] = _parsed_or_text(raw)
        else:
            values[key] = raw
    return values


def _parsed_or_text(raw: Any) -> Any:
    if raw is None:
        return None
    try:
        return {"document": parse_eni_conf({ENI_CONF_KEY: raw})}
    except InputError:
        return {"text": raw}


def writer_changed(before: Mapping[str, Any], after: Mapping[str, Any], keys: Iterable[str]) -> bool:
    """A writer's run changed what Terway reads from `keys`."""
    keys = tuple(keys)
    return effective(before, keys) != effective(after, keys)


def policy_baseline(data: Mapping[str, Any]) -> str:
    """A digest of the effective policy keys: what the release restart compares at destroy."""
    canonical = json.dumps(effective(data, POLICY_KEYS), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class RestartDecision:
    restart: bool
    reason: str


def restart_on_change(previous_trigger: Optional[str], trigger: str, writers_changed: Iterable[Optional[bool]]) -> RestartDecision:
    """The restart after the eni-config writers; `previous_trigger` is None on the resource's first run."""
    if previous_trigger is None:
        if any(changed is True for changed in writers_changed):
            return RestartDecision(True, "the stack changed eni-config values Terway reads at start")
        return RestartDecision(False, "eni-config already held the wanted values: nothing for Terway to re-read")
    if previous_trigger != trigger:
        return RestartDecision(True, "the effective eni-config values differ from those of the last restart")
    return RestartDecision(False, "the effective eni-config values are those of the last restart")


def restart_on_release(baseline: Optional[str], live_data: Optional[Mapping[str, Any]]) -> RestartDecision:
    """The restart at destroy. Without a baseline (a stack from before baselines) it restarts, as before.

    A missing eni-config reads as empty, as Terway's optional configMapKeyRef does: if the stack left
    a relay, pods still hold it and must restart before Typha goes.
    """
    live_data = live_data or {}
    if not baseline:
        return RestartDecision(True, "no record of the values the stack left: restarting to be safe")
    if policy_baseline(live_data) != baseline:
        return RestartDecision(True, "the release changed felix_relay_service or disable_network_policy")
    return RestartDecision(False, "the release left every value Terway reads as it was")
