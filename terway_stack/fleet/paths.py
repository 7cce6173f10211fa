"""Where two JSON-like values differ, as dotted key paths (`data.eni_conf.vswitches.cn-shanghai-f`).

A string holding a JSON object or array (eni-config's `eni_conf`) is compared inside, so a drift or a
PR names the key within it. Only paths are produced, never values: values may be secrets.
"""
from __future__ import annotations

import json
from typing import Any

MAX_PATHS = 20


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def changed_paths(old: Any, new: Any, prefix: str = "", limit: int = MAX_PATHS) -> list[str]:
    """Leaf paths whose values differ; a whole subtree added or removed is one path."""
    found: list[str] = []
    _walk(_decoded(old), _decoded(new), prefix, found, limit)
    return found


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _walk(old: Any, new: Any, prefix: str, found: list[str], limit: int) -> None:
    if len(found) >= limit or old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _walk(_decoded(old.get(key)), _decoded(new.get(key)), _join(prefix, key), found, limit)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            _walk(_decoded(a), _decoded(b), _join(prefix, index), found, limit)
        return
    found.append(prefix or "(whole value)")
