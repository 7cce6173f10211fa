"""The project's share of kube-system/eni-config: what it writes, how it merges, when Terway must restart.

Everything here is plain data in, plain data out, so the same functions serve `pulumi up`, the
offline plan and the policy pack.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from .problems import InputError, Problem, key_path

ENI_CONFIG_NAMESPACE = "kube-system"
ENI_CONFIG_NAME = "eni-config"
ENI_CONF_KEY = "eni_conf"
RELAY_KEY = "felix_relay_service"
DISABLE_POLICY_KEY = "disable_network_policy"
TYPHA_SERVICE_NAME = "calico-typha"
# Node label naming a per-node ConfigMap whose eni_conf is merge-patched over the base.
NODE_CONFIG_LABEL = "terway-config"

POLICY_KEYS = (RELAY_KEY, DISABLE_POLICY_KEY)
NETWORK_POLICY_MODES = ("typha", "disabled", "direct")
MANAGED_KEYS = (ENI_CONF_KEY, *POLICY_KEYS)
_CONFIGMAP = f"{ENI_CONFIG_NAMESPACE}/{ENI_CONFIG_NAME}"


def _problem(*loc: str, message: str, configmap: str = _CONFIGMAP) -> InputError:
    return InputError([Problem(key_path(loc, namespace=configmap), message)])


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
    """How Terway reads disable_network_policy: only "false", "0", "" or absent leave policy on."""
    return value is None or value.strip() in ("false", "0", "")


def parse_eni_conf(data: Mapping[str, Any], configmap: str = _CONFIGMAP) -> dict[str, Any]:
    """Parse and shape-check `eni_conf` of a ConfigMap's data; raise InputError naming the key."""
    text = (data or {}).get(ENI_CONF_KEY)
    if text is None:
        raise _problem(ENI_CONF_KEY, message="missing: this is not a Terway eni-config", configmap=configmap)
    if not isinstance(text, str):
        raise _problem(ENI_CONF_KEY, message="must be a string holding a JSON object", configmap=configmap)
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as err:
        raise _problem(ENI_CONF_KEY, message=f"is not valid JSON ({err})", configmap=configmap) from None
    if not isinstance(conf, dict):
        raise _problem(ENI_CONF_KEY, message="must be a JSON object", configmap=configmap)
    vswitches = conf.get("vswitches")
    if vswitches is not None and not _is_zone_map(vswitches):
        raise _problem(
            ENI_CONF_KEY,
            "vswitches",
            message="must map each zone to a list of vSwitch ids, e.g. {\"cn-shanghai-f\": [\"vsw-...\"]}",
            configmap=configmap,
        )
    return conf


def _is_zone_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in value.values()
    )


def missing_vswitches(conf: Mapping[str, Any], wanted: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """zone -> ids in `wanted` that `conf.vswitches[zone]` lacks, in wanted order."""
    present = conf.get("vswitches") or {}
    gaps = {}
    for zone in sorted(wanted):
        absent = [i for i in dict.fromkeys(wanted[zone]) if i not in present.get(zone, [])]
        if absent:
            gaps[zone] = absent
    return gaps


def merge_eni_conf(text: Optional[str], wanted: Mapping[str, Sequence[str]]) -> str:
    """Add each wanted vSwitch id to `vswitches[zone]` of an eni_conf JSON string.

    Existing ids keep their order and come first; nothing is duplicated; every other key keeps its
    value, type and position. When nothing is missing the input string is returned unchanged, so the
    merge is idempotent and a reformatting by someone else never counts as a change of ours.
    """
    conf = parse_eni_conf({ENI_CONF_KEY: text})
    gaps = missing_vswitches(conf, wanted)
    if not gaps:
        return text
    vswitches = conf.get("vswitches")
    if vswitches is None:
        vswitches = conf["vswitches"] = {}
    for zone, ids in gaps.items():
        vswitches[zone] = [*vswitches.get(zone, []), *ids]
    return json.dumps(conf, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class EniConfigChange:
    """What the stack writes into eni-config for one run, and what it reads back as effective."""

    policy: dict[str, str]
    eni_conf: Optional[str]  # None when the stack does not manage pod vSwitches

    def effective(self) -> dict[str, Any]:
        """The managed values as Terway interprets them, independent of JSON formatting."""
        values: dict[str, Any] = {
            RELAY_KEY: self.policy.get(RELAY_KEY),
            "network_policy_enabled": policy_enabled(self.policy.get(DISABLE_POLICY_KEY)),
        }
        if self.eni_conf is not None:
            values[ENI_CONF_KEY] = json.loads(self.eni_conf)
        return values

    def trigger(self) -> str:
        """A digest that changes exactly when what Terway reads from the managed keys changes."""
        canonical = json.dumps(self.effective(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def plan_eni_config(
    live_data: Mapping[str, Any], mode: str, wanted_vswitches: Optional[Mapping[str, Sequence[str]]]
) -> EniConfigChange:
    """Decide the stack's eni-config keys from the live ConfigMap data. Raises InputError if malformed."""
    eni_conf = None
    if wanted_vswitches is not None:
        # The merge parses and shape-checks eni_conf itself, naming the key on any problem.
        eni_conf = merge_eni_conf(live_data.get(ENI_CONF_KEY), wanted_vswitches)
    return EniConfigChange(policy=policy_keys(mode, live_data), eni_conf=eni_conf)


def per_node_config_gaps(
    node_configs: Mapping[str, Mapping[str, Any]], wanted: Mapping[str, Sequence[str]]
) -> list[Problem]:
    """Per-node ConfigMaps (label terway-config) that set vswitches for a zone but miss a wanted id.

    RFC 7396 merge-patch replaces the base's zone list whole, so such nodes would never see the new
    vSwitch.
    """
    problems = []
    for name in sorted(node_configs):
        configmap = f"{ENI_CONFIG_NAMESPACE}/{name}"
        data = node_configs[name] or {}
        if ENI_CONF_KEY not in data:
            continue
        conf = parse_eni_conf(data, configmap=configmap)
        overrides = conf.get("vswitches") or {}
        relevant = {zone: ids for zone, ids in wanted.items() if zone in overrides}
        for zone, absent in missing_vswitches(conf, relevant).items():
            problems.append(
                Problem(
                    key_path([ENI_CONF_KEY, "vswitches", zone], namespace=configmap),
                    f"per-node config overrides zone {zone} without {', '.join(absent)}; add "
                    f"{'it' if len(absent) == 1 else 'them'} there too, or nodes labelled "
                    f"{NODE_CONFIG_LABEL}={name} will never use the new vSwitch",
                )
            )
    return problems


def relay_ineffective_reasons(daemon_sets: Sequence[str], live_data: Mapping[str, Any]) -> list[str]:
    """Why felix_relay_service would change nothing on this cluster (Felix is not its policy engine)."""
    reasons = []
    if "terway-eni" in daemon_sets:
        reasons.append("DaemonSet terway-eni is exclusive-ENI mode, which has no NetworkPolicy (no Felix)")
    for key in ("10-terway.conf", "10-terway.conflist"):
        virtual_type = _cni_virtual_type((live_data or {}).get(key))
        if virtual_type in ("ipvlan", "datapathv2"):
            reasons.append(f"{key} sets eniip_virtual_type {virtual_type}: policy is enforced by Cilium, not Felix")
    return reasons


def _cni_virtual_type(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    plugins = document.get("plugins", [document]) if isinstance(document, dict) else []
    for plugin in plugins:
        if isinstance(plugin, dict) and plugin.get("type") == "terway" and plugin.get("eniip_virtual_type"):
            return str(plugin["eniip_virtual_type"]).lower()
    return None
