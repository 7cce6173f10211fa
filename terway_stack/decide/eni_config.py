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
MANAGED_KEYS = (ENI_CONF_KEY, *POLICY_KEYS)
_CONFIGMAP = f"{ENI_CONFIG_NAMESPACE}/{ENI_CONFIG_NAME}"


def _problem(*loc: str, message: str, configmap: str = _CONFIGMAP) -> InputError:
    return InputError([Problem(key_path(loc, namespace=configmap), message)])


def policy_keys(mode: str) -> dict[str, str]:
    """Top-level keys the stack owns for a network-policy mode; absent keys are released."""
    if mode == "typha":
        return {RELAY_KEY: TYPHA_SERVICE_NAME, DISABLE_POLICY_KEY: "false"}
    if mode == "disabled":
        return {DISABLE_POLICY_KEY: "true"}
    if mode == "direct":
        return {DISABLE_POLICY_KEY: "false"}
    raise ValueError(f"unknown network policy mode {mode!r}")


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
    return EniConfigChange(policy=policy_keys(mode), eni_conf=eni_conf)


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
        # Terway's CNI setup (cmd/terway-cli/cni.go) compares network_policy_provider exactly with "ebpf".
        if _cni_terway_value((live_data or {}).get(key), "network_policy_provider") == "ebpf":
            reasons.append(f"{key} sets network_policy_provider ebpf: policy is enforced by Cilium, Felix does not run")
    return reasons


def _cni_virtual_type(text: Optional[str]) -> Optional[str]:
    value = _cni_terway_value(text, "eniip_virtual_type")
    return str(value).lower() if value else None


def _cni_terway_value(text: Optional[str], key: str) -> Any:
    """`key` of the terway plugin in a 10-terway.conf / .conflist text; None if absent or unreadable."""
    if not text:
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    plugins = document.get("plugins", [document]) if isinstance(document, dict) else []
    for plugin in plugins if isinstance(plugins, list) else []:
        if isinstance(plugin, dict) and plugin.get("type") == "terway" and plugin.get(key):
            return plugin[key]
    return None
