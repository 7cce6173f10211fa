"""The eni_conf text codec: read eni_conf as Terway's Go decoder does, and merge pod vSwitch ids into it.

eni_conf is a JSON document stored as one string in kube-system/eni-config. Reading it goes through
the strict scanner (strict_json.py) and a shape check, naming the key on any problem. The merge edits
only the value of `vswitches` and keeps every other byte, in the document's own style, so a key the
stack does not own is never touched. Per-node ConfigMaps (label terway-config) are read the same way.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from . import strict_json
from .facts import ENI_CONF_KEY, ENI_CONFIG, ENI_CONFIG_NAMESPACE, NODE_CONFIG_LABEL, VSWITCHES_KEY
from .problems import InputError, Problem, key_path


def _problem(*loc: str, message: str, configmap: str = ENI_CONFIG) -> InputError:
    return InputError([Problem(key_path(loc, namespace=configmap), message)])


def parse_eni_conf(data: Mapping[str, Any], configmap: str = ENI_CONFIG) -> dict[str, Any]:
    """Parse and shape-check `eni_conf` of a ConfigMap's data; raise InputError naming the key."""
    return _eni_conf_document(data, configmap).value


def _eni_conf_document(data: Mapping[str, Any], configmap: str = ENI_CONFIG) -> strict_json.Node:
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
        overrides = conf.get(VSWITCHES_KEY) or {}
        relevant = {zone: ids for zone, ids in wanted.items() if zone in overrides}
        for zone, absent in missing_vswitches(conf, relevant).items():
            problems.append(
                Problem(
                    key_path([ENI_CONF_KEY, VSWITCHES_KEY, zone], namespace=configmap),
                    f"per-node config overrides zone {zone} without {', '.join(absent)}; add "
                    f"{'it' if len(absent) == 1 else 'them'} there too, or nodes labelled "
                    f"{NODE_CONFIG_LABEL}={name} will never use the new vSwitch",
                )
            )
    return problems
