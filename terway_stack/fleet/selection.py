"""Which stacks a fleet run touches, and in which wave.

A stack's wave comes from its config key or stack tag `fleet:wave` (the key is configurable):
`canary` runs first, then whole numbers in ascending order. Stacks without a wave value follow in
batches of `batch_size`. When no selected stack has a wave value, the first `canary` stacks (by
name) are the canary wave.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

CANARY = "canary"
DEFAULT_WAVE_KEY = "fleet:wave"


class SelectionError(ValueError):
    """Bad selection input: one line naming the stack and key."""


@dataclass(frozen=True)
class Wave:
    index: int  # 0-based position in the run
    label: str  # "canary", "wave 1", "batch 2"
    stacks: tuple[str, ...]


def select_stacks(names: Sequence[str], patterns: Sequence[str] = ()) -> list[str]:
    """Stacks whose name matches any glob (`prod-*`); every stack when no pattern is given."""
    names = sorted(set(names))
    if not patterns:
        return names
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def filter_by_wave(waves: Mapping[str, Optional[str]], wanted: Sequence[str]) -> list[str]:
    """Stacks whose wave value is one of `wanted` (`--wave canary`)."""
    wanted = {w.strip() for w in wanted}
    return sorted(name for name, value in waves.items() if value is not None and value.strip() in wanted)


def _order(stack: str, value: str, key: str) -> int:
    text = value.strip()
    if text == CANARY:
        return -1
    if text.isascii() and text.isdigit():
        return int(text)
    raise SelectionError(f"stack {stack}: {key} is {value!r}: use {CANARY!r} or a whole number (0, 1, 2, ...)")


def _batches(stacks: Sequence[str], size: Optional[int]) -> list[tuple[str, ...]]:
    if not stacks:
        return []
    size = size or len(stacks)
    return [tuple(stacks[i : i + size]) for i in range(0, len(stacks), size)]


def plan_waves(
    wave_values: Mapping[str, Optional[str]],
    *,
    canary: int = 1,
    batch_size: Optional[int] = None,
    key: str = DEFAULT_WAVE_KEY,
) -> list[Wave]:
    """Waves in run order. `wave_values` maps each selected stack to its wave value (None: not set)."""
    if canary < 0 or (batch_size is not None and batch_size < 1):
        raise SelectionError("--canary must be >= 0 and --batch-size >= 1")
    stacks = sorted(wave_values)
    tagged = {s: _order(s, v, key) for s, v in wave_values.items() if v is not None and v.strip()}
    untagged = [s for s in stacks if s not in tagged]
    groups: list[tuple[str, tuple[str, ...]]] = []
    if tagged:
        for order in sorted(set(tagged.values())):
            label = CANARY if order == -1 else f"wave {order}"
            groups.append((label, tuple(s for s in stacks if tagged.get(s) == order)))
    elif canary and untagged:
        groups.append((CANARY, tuple(untagged[:canary])))
        untagged = untagged[canary:]
    for number, batch in enumerate(_batches(untagged, batch_size), start=1):
        groups.append((f"batch {number}", batch))
    return [Wave(i, label, members) for i, (label, members) in enumerate(groups)]
