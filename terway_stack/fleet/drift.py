"""What a preview found, from the engine's step events (as plain dicts), as `StepChange`s.

`fleet drift` runs a refresh-preview: state is first refreshed from the cluster, then the program's
goal is compared with it. Any step other than `same` is drift (or an unapplied change). The keys name
where the live side differs from the goal: the engine's `diffs`/`detailedDiff`, refined inside
mappings and inside JSON strings (eni-config's `eni_conf`) by comparing the refreshed old state with
the new goal.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from .model import StepChange
from .paths import changed_paths

# Steps that change nothing in the cluster or in the goal.
QUIET_OPS = frozenset({"same", "read", "refresh", "discard", "discard-replaced"})
# Inputs that never name a drift: the pickled dynamic provider, and what the program read this run.
NOT_KEYS = frozenset({"__provider", "observed"})
# The engine reports a replacement as several steps; one line is enough.
FOLDED_OPS = {"create-replacement": "replace", "delete-replaced": None, "read-replacement": None}


def resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _props(state: Optional[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    return ((state or {}).get(kind) or {}) if isinstance(state, Mapping) else {}


def step_keys(step: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys a step changes, as precise as the old state and the new goal allow."""
    old, new = step.get("old"), step.get("new")
    old_values = {**_props(old, "inputs"), **_props(old, "outputs")}
    new_values = _props(new, "inputs")
    top = list((step.get("detailedDiff") or {}).keys()) or list(step.get("diffs") or [])
    if not top and old is not None:  # the provider named no keys: compare the goal's inputs
        top = [k for k in new_values if k not in NOT_KEYS and old_values.get(k) != new_values.get(k)]
    keys: list[str] = []
    for key in top:
        root = key.split(".", 1)[0].split("[", 1)[0]
        refined = changed_paths(old_values.get(root), new_values.get(root), prefix=root) if root in new_values else []
        keys.extend(refined or [key])
    return tuple(dict.fromkeys(keys))


def step_changes(steps: Iterable[Mapping[str, Any]]) -> list[StepChange]:
    """Steps other than `same`, one per resource, in engine order."""
    changes: list[StepChange] = []
    seen: set[str] = set()
    for step in steps:
        op = step.get("op") or ""
        if op in QUIET_OPS:
            continue
        op = FOLDED_OPS.get(op, op)
        urn = step.get("urn") or ""
        if op is None or urn in seen:
            continue
        seen.add(urn)
        changes.append(StepChange(op, step.get("type") or "", resource_name(urn), step_keys(step)))
    return changes
