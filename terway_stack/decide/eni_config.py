"""The project's share of kube-system/eni-config: what it writes, how it merges, when Terway must restart.

Everything here is plain data in, plain data out, so the same functions serve `pulumi up`, the
offline plan and the policy pack.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from . import strict_json
from .problems import InputError, Problem, key_path

ENI_CONFIG_NAMESPACE = "kube-system"
ENI_CONFIG_NAME = "eni-config"
ENI_CONF_KEY = "eni_conf"
VSWITCHES_KEY = "vswitches"
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
    return _eni_conf_document(data, configmap).value


def _eni_conf_document(data: Mapping[str, Any], configmap: str = _CONFIGMAP) -> strict_json.Node:
    text = (data or {}).get(ENI_CONF_KEY)
    if text is None:
        raise _problem(ENI_CONF_KEY, message="missing: this is not a Terway eni-config", configmap=configmap)
    if not isinstance(text, str):
        raise _problem(ENI_CONF_KEY, message="must be a string holding a JSON object", configmap=configmap)
    try:
        document = strict_json.parse(text)
    except strict_json.JsonTextError as err:
        where = ENI_CONF_KEY + ("" if err.path[:1] in ("", "[") else ".") + err.path
        raise _problem(where, message=f"is not valid JSON for Terway: {err.reason}", configmap=configmap) from None
    if document.kind != "object":
        raise _problem(ENI_CONF_KEY, message="must be a JSON object", configmap=configmap)
    for member in document.members:
        if member.key != VSWITCHES_KEY and _go_field_fold(member.key) == VSWITCHES_KEY:
            raise _problem(
                ENI_CONF_KEY,
                strict_json.describe_key(member.key),
                message="older Terway (Go's case-insensitive field match) reads this key as vswitches and newer"
                " Terway ignores it; rename it to vswitches or remove it",
                configmap=configmap,
            )
    vswitches = document.value.get(VSWITCHES_KEY)
    if vswitches is not None and not _is_zone_map(vswitches):
        raise _problem(
            ENI_CONF_KEY,
            VSWITCHES_KEY,
            message="must map each zone to a list of vSwitch ids, e.g. {\"cn-shanghai-f\": [\"vsw-...\"]}",
            configmap=configmap,
        )
    return document


def _go_field_fold(key: str) -> Optional[str]:
    """The key as encoding/json matches struct fields (Unicode simple folding), for ASCII targets.

    Only U+017F (long s) and U+212A (Kelvin sign) fold onto ASCII letters; None when the key cannot
    fold onto an ASCII name at all.
    """
    ascii_key = key.replace("\u017f", "s").replace("\u212a", "k")
    return ascii_key.lower() if ascii_key.isascii() else None


def _is_zone_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in value.values()
    )


def missing_vswitches(conf: Mapping[str, Any], wanted: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """zone -> ids in `wanted` that `conf.vswitches[zone]` lacks, in wanted order."""
    present = conf.get(VSWITCHES_KEY) or {}
    gaps = {}
    for zone in sorted(wanted):
        absent = [i for i in dict.fromkeys(wanted[zone]) if i not in present.get(zone, [])]
        if absent:
            gaps[zone] = absent
    return gaps


def merge_eni_conf(text: Optional[str], wanted: Mapping[str, Sequence[str]]) -> str:
    """Add each wanted vSwitch id to `vswitches[zone]` of an eni_conf JSON string, editing only that key.

    Existing ids keep their order and come first; nothing is duplicated. Every byte outside the value
    of `vswitches` stays as it was (when the key is absent it is inserted as the last member), and
    inserted text copies the document's own separators. When nothing is missing the input string is
    returned unchanged, so the merge is idempotent and a reformatting by someone else never counts as
    a change of ours. Raises InputError, naming the key, for a value Terway could not read.
    """
    document = _eni_conf_document({ENI_CONF_KEY: text})
    gaps = missing_vswitches(document.value, wanted)
    if not gaps:
        return text
    style = _Style.of(text, document)
    member = document.member(VSWITCHES_KEY)
    if member is None:
        edits = [_insert_member(document, style, _quoted(VSWITCHES_KEY) + style.colon + style.inline(gaps))]
    elif member.value.kind != "object":  # null: Terway reads it as absent
        edits = [(member.value.start, member.value.end, style.inline(gaps))]
    else:
        edits = _vswitches_edits(member.value, gaps, style)
    merged = text
    for start, end, insert in sorted(edits, reverse=True):
        merged = merged[:start] + insert + merged[end:]
    _check_written(merged, wanted)
    return merged


def _vswitches_edits(vswitches: strict_json.Node, gaps: Mapping[str, list[str]], style: "_Style"):
    edits, new_zones = [], {}
    for zone, ids in gaps.items():
        listed = vswitches.member(zone)
        if listed is None:
            new_zones[zone] = ids
        else:
            edits.append(_append_items(listed.value, style, [_quoted(i) for i in ids]))
    if new_zones:
        entries = [_quoted(zone) + style.colon + style.inline(ids) for zone, ids in new_zones.items()]
        edits.append(_append_items(vswitches, style, entries))
    return edits


def _append_items(container: strict_json.Node, style: "_Style", entries: list[str]) -> tuple[int, int, str]:
    """An edit appending rendered entries (members or elements) to an object or array, in its style."""
    children = container.children()
    if not children:
        # Inside vswitches only, so the whitespace of an empty container may go.
        return container.start + 1, container.end - 1, ("," + style.gap).join(entries)
    gap = style.gap_in(container)
    return children[-1].end, children[-1].end, "".join(gap + entry for entry in entries)


def _insert_member(document: strict_json.Node, style: "_Style", entry: str) -> tuple[int, int, str]:
    """An edit adding a top-level member last, leaving every existing byte in place."""
    if not document.members:
        return document.start + 1, document.start + 1, entry
    end = document.members[-1].value.end
    return end, end, style.gap_in(document) + entry


def _quoted(text: str) -> str:
    return strict_json.dumps_inline(text)


@dataclass(frozen=True)
class _Style:
    """The separators a document already uses, so that inserted text looks like its neighbours."""

    text: str
    gap: str  # whitespace after a comma on one line: " " or ""
    colon: str  # ":" with its surrounding whitespace, e.g. ": "

    @classmethod
    def of(cls, text: str, document: strict_json.Node) -> "_Style":
        gaps, colons = Counter(), Counter()
        for node in _containers(document):
            for before, after in zip(node.children(), node.child_starts()[1:]):
                between = text[before.end:after]
                if "\n" not in between:
                    gaps[between.split(",", 1)[1]] += 1
            for member in node.members:
                colons[text[member.key_end:member.value.start]] += 1
        spaced = " " if any(c in text for c in strict_json.WHITESPACE) else ""
        gap = gaps.most_common(1)[0][0] if gaps else spaced
        colon = colons.most_common(1)[0][0] if colons else ":" + spaced
        return cls(text, gap, colon if "\n" not in colon else ":" + spaced)

    def inline(self, value: Any) -> str:
        return strict_json.dumps_inline(value, self.gap, self.colon)

    def gap_in(self, container: strict_json.Node) -> str:
        """The separator before a new last child: the one between the last two, or after the opener."""
        starts = container.child_starts()
        if len(starts) >= 2:
            return self.text[container.children()[-2].end:starts[-1]]
        leading = self.text[container.start + 1:starts[0]]
        return "," + (leading if "\n" in leading else self.gap)


def _containers(node: strict_json.Node):
    stack = [node]
    while stack:
        current = stack.pop()
        if current.kind in ("object", "array"):
            yield current
            stack.extend(current.children())


def _check_written(merged: str, wanted: Mapping[str, Sequence[str]]) -> None:
    # A merge that Terway could not read, or that lost an id, is a bug: never write it.
    conf = parse_eni_conf({ENI_CONF_KEY: merged})
    if missing_vswitches(conf, wanted):
        raise AssertionError("merged eni_conf still lacks wanted vSwitch ids")


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
            values[ENI_CONF_KEY] = parse_eni_conf({ENI_CONF_KEY: self.eni_conf})
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
        # The merge parses and checks eni_conf itself (strict JSON, shape), naming the key on any problem.
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
    return reasons + relay_blocking_reasons(live_data)


def relay_blocking_reasons(live_data: Mapping[str, Any]) -> list[str]:
    """The datapaths where Felix does not run at all: mode typha is refused there (decide/preflight.py)."""
    reasons = []
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
