"""The network-policy keys of eni-config: what each mode makes of them, read the way Terway reads them.

`felix_relay_service` points Felix at Typha; `disable_network_policy` switches policy off. One writer
holds both (act/eni_config_writer.py); this module decides their values from the live ones, and why the
relay would change nothing on a cluster whose policy engine is not Felix. Plain data in, plain data out.
"""
from __future__ import annotations

from . import strict_json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from .facts import (
    CNI_CONFIG_KEYS,
    DISABLE_POLICY_KEY,
    EXCLUSIVE_ENI_DAEMON_SET,
    NETWORK_POLICY_MODES,
    RELAY_KEY,
    TYPHA_SERVICE_NAME,
)


def relay_after(mode: str, live: Optional[str]) -> Optional[str]:
    """felix_relay_service after a run (None: absent).

    Mode typha points Felix at our Typha. Any other mode removes a relay naming our Typha, whoever set
    it (the runbook's `kubectl edit` included), and leaves a relay naming another service alone: that
    one is not ours to remove.
    """
    _check_mode(mode)
    if mode == "typha":
        return TYPHA_SERVICE_NAME
    return None if live == TYPHA_SERVICE_NAME else live


def disable_policy_after(mode: str, live: Optional[str]) -> Optional[str]:
    """disable_network_policy after a run (None: absent).

    Mode disabled turns policy off. Modes typha and direct need policy on: an absent key or a value
    that already means "on" is left exactly as it is (absent stays absent); a value that turns policy
    off becomes "false" (the preflight makes the run fail unless the config confirms that).
    """
    _check_mode(mode)
    if mode == "disabled":
        return "true"
    return live if policy_enabled(live) else "false"


def policy_keys(mode: str, live_data: Optional[Mapping[str, Any]] = None) -> dict[str, str]:
    """The policy keys as they will be after a run over `live_data`; an absent key is left out."""
    live_data = live_data or {}
    after = {
        RELAY_KEY: relay_after(mode, _text(live_data.get(RELAY_KEY))),
        DISABLE_POLICY_KEY: disable_policy_after(mode, _text(live_data.get(DISABLE_POLICY_KEY))),
    }
    return {key: value for key, value in after.items() if value is not None}


def _text(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def _check_mode(mode: str) -> None:
    if mode not in NETWORK_POLICY_MODES:
        raise ValueError(f"unknown network policy mode {mode!r}")


@dataclass(frozen=True)
class PolicyKeysWrite:
    """What the policy-keys writer sends for one live ConfigMap.

    `apply`: the keys it holds by server-side apply (the whole set each time: a key left out is
    released). `remove_relay`: a JSON patch that removes felix_relay_service only while it still names
    our Typha, because apply cannot remove a key another manager co-owns. `after`: the result.
    """

    apply: dict[str, str]
    remove_relay: bool
    after: dict[str, str]


def policy_keys_write(mode: str, live_data: Mapping[str, Any], held: Sequence[str] = ()) -> PolicyKeysWrite:
    """Decide the write from the live data and the keys the writer held before (`held`).

    A key is held once the stack has had to set it, and stays held until destroy, so that the value
    stays co-owned by the stack (another manager releasing it cannot remove it).
    """
    after = policy_keys(mode, live_data)
    live_disable = _text((live_data or {}).get(DISABLE_POLICY_KEY))
    holds = set()
    if mode == "typha":
        holds.add(RELAY_KEY)
    if DISABLE_POLICY_KEY in after and (
        mode == "disabled" or after[DISABLE_POLICY_KEY] != live_disable or DISABLE_POLICY_KEY in held
    ):
        holds.add(DISABLE_POLICY_KEY)
    remove_relay = RELAY_KEY not in after and _text((live_data or {}).get(RELAY_KEY)) == TYPHA_SERVICE_NAME
    return PolicyKeysWrite({k: after[k] for k in sorted(holds)}, remove_relay, after)


def restore_disable_policy(prior: Optional[str], held_value: Optional[str], live: Optional[str]) -> tuple[bool, Optional[str]]:
    """On destroy: (restore?, value) for disable_network_policy.

    Restore the value from before the stack first wrote the key (None: remove it) only while the live
    value is still the one the stack wrote; a later edit by someone else is theirs and stays.
    """
    if held_value is None or live != held_value or live == prior:
        return False, live
    return True, prior


def policy_enabled(value: Optional[str]) -> bool:
    """How Terway reads disable_network_policy: only exactly "false", "0", "" or absent leave policy on.

    Terway compares the text exactly: "false\n" or "false\x1f" turns policy OFF, so it is read as off
    here too (the value checked is the value Terway uses).
    """
    return value is None or value in ("false", "0", "")


def relay_ineffective_reasons(daemon_sets: Sequence[str], live_data: Mapping[str, Any]) -> list[str]:
    """Why felix_relay_service would change nothing on this cluster (Felix is not its policy engine)."""
    reasons = []
    if EXCLUSIVE_ENI_DAEMON_SET in daemon_sets:
        reasons.append(f"DaemonSet {EXCLUSIVE_ENI_DAEMON_SET} is exclusive-ENI mode, which has no NetworkPolicy (no Felix)")
    return reasons + relay_blocking_reasons(live_data)


def relay_blocking_reasons(live_data: Mapping[str, Any]) -> list[str]:
    """The datapaths where Felix does not run at all: mode typha is refused there (decide/preflight.py)."""
    reasons = []
    for key in cni_config_keys(live_data):
        virtual_type = _cni_virtual_type((live_data or {}).get(key))
        if virtual_type in ("ipvlan", "datapathv2"):
            reasons.append(f"{key} sets eniip_virtual_type {virtual_type}: policy is enforced by Cilium, not Felix")
        # Terway's CNI setup (cmd/terway-cli/cni.go) compares network_policy_provider exactly with "ebpf".
        if _cni_terway_value((live_data or {}).get(key), "network_policy_provider") == "ebpf":
            reasons.append(f"{key} sets network_policy_provider ebpf: policy is enforced by Cilium, Felix does not run")
    return reasons


def cni_config_keys(live_data: Mapping[str, Any]) -> tuple[str, ...]:
    """The CNI config key Terway installs: `10-terway.conflist` when present, else `10-terway.conf`.

    terway-cli (cmd/terway-cli/cni.go) reads both and uses the conflist whenever it exists.
    """
    conf, conflist = CNI_CONFIG_KEYS
    return (conflist,) if (live_data or {}).get(conflist) is not None else (conf,)


def _cni_virtual_type(text: Optional[str]) -> Optional[str]:
    value = _cni_terway_value(text, "eniip_virtual_type")
    return str(value).lower() if value else None


def _cni_terway_value(text: Optional[str], key: str) -> Any:
    """`key` of the terway plugin in a 10-terway.conf / .conflist text; None if absent or unreadable."""
    if not text:
        return None
    try:
        document = strict_json.parse(text).value  # bounded: a deep or huge text is refused, never a RecursionError
    except strict_json.JsonTextError:
        return None
    plugins = document.get("plugins", [document]) if isinstance(document, dict) else []
    for plugin in plugins if isinstance(plugins, list) else []:
        if isinstance(plugin, dict) and plugin.get("type") == "terway" and plugin.get(key):
            return plugin[key]
    return None
