"""A PR's change to each stack: the offline plan at the PR's base against the plan at its head.

Input: the plans' JSON documents (`python -m terway_stack plan --format json`), None where the stack
file does not exist on that side. Output: per resource create / update / replace / delete / no-op, with
the input keys that changed. Which keys force a replacement are provider facts, listed below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from ..act.terway_rollout import REPLACE_KEYS as ROLLOUT_REPLACE_KEYS
from .paths import changed_paths

CREATE, UPDATE, REPLACE, DELETE, NO_OP = "create", "update", "replace", "delete", "no-op"
OPS = (CREATE, UPDATE, REPLACE, DELETE, NO_OP)

# Inputs whose change makes the engine replace the resource. alicloud: `willReplaceOnChanges` in the
# schema of pulumi-resource-alicloud 3.105.0. kubernetes: a different name or namespace is another
# object. Our dynamic providers: the `replaces` their diff returns (act/).
REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    "alicloud:vpc/switch:Switch": ("availabilityZone", "cidrBlock", "isDefault", "vpcId", "zoneId"),
    "alicloud:vpc/snatEntry:SnatEntry": ("snatTableId", "sourceCidr", "sourceVswitchId"),
    "pulumi-python:dynamic/terway_stack:TerwayRollout": tuple(ROLLOUT_REPLACE_KEYS),
    "pulumi-python:dynamic/terway_stack:EniConfWriter": ("namespace", "configMap"),
    "pulumi-python:dynamic/terway_stack:PolicyKeysWriter": ("namespace", "configMap"),
}
KUBERNETES_REPLACE_PATHS = ("metadata.name", "metadata.namespace", "apiVersion", "kind")


@dataclass(frozen=True)
class ResourceDiff:
    type: str
    name: str
    op: str
    keys: tuple[str, ...] = ()


@dataclass
class StackDiff:
    stack: str
    resources: list[ResourceDiff] = field(default_factory=list)
    base_missing: bool = False  # a new stack file in this PR
    head_missing: bool = False  # the PR deletes the stack file
    error: str = ""  # a side could not be planned

    def counts(self) -> dict[str, int]:
        return {op: sum(1 for r in self.resources if r.op == op) for op in OPS}

    @property
    def changed(self) -> list[ResourceDiff]:
        return [r for r in self.resources if r.op != NO_OP]

    def changed_keys(self) -> list[str]:
        """Every `<resource>.<key>` that differs, for the stack's one-line summary."""
        return [f"{r.name}.{k}" for r in self.changed for k in r.keys]


def _forces_replacement(type_: str, keys: Sequence[str]) -> bool:
    if type_.startswith("kubernetes:"):
        return any(k == p or k.startswith(p + ".") for k in keys for p in KUBERNETES_REPLACE_PATHS)
    tops = {k.split(".", 1)[0] for k in keys}
    return bool(tops & set(REPLACE_ON_CHANGE.get(type_, ())))


def _resources(plan: Optional[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(r["type"], r["name"]): r.get("inputs") or {} for r in (plan or {}).get("resources") or []}


def diff_plans(stack: str, base: Optional[Mapping[str, Any]], head: Optional[Mapping[str, Any]]) -> StackDiff:
    before, after = _resources(base), _resources(head)
    result = StackDiff(stack, base_missing=base is None, head_missing=head is None)
    for key in sorted(set(before) | set(after)):
        type_, name = key
        if key not in before:
            result.resources.append(ResourceDiff(type_, name, CREATE))
        elif key not in after:
            result.resources.append(ResourceDiff(type_, name, DELETE))
        else:
            keys = tuple(changed_paths(before[key], after[key]))
            op = NO_OP if not keys else REPLACE if _forces_replacement(type_, keys) else UPDATE
            result.resources.append(ResourceDiff(type_, name, op, keys))
    return result
