"""KUBECONFIG naming several files, merged as kubectl merges them (client-go's loading rules).

- The files are read in order; a name (cluster, user, context) defined in several files keeps its
  first definition.
- `current-context` comes from the first file that sets it.
- A relative file path inside an entry (certificate-authority, client-certificate, client-key,
  tokenFile) is relative to the file that holds the entry.
- Empty entries in the list are skipped; a file named twice is read once.

Pure: the caller reads and parses the files.
"""
from __future__ import annotations

import os
import posixpath
from typing import Any, Mapping, Sequence

NAMED_LISTS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))
PATH_FIELDS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


def kubeconfig_paths(value: str, separator: str = os.pathsep) -> list[str]:
    """The files of a KUBECONFIG value, in order, without empties or repeats."""
    return list(dict.fromkeys(part for part in value.split(separator) if part))


def _resolved(entry: Mapping[str, Any], inner: str, base_dir: str) -> dict[str, Any]:
    body = entry.get(inner)
    if not isinstance(body, Mapping):
        return dict(entry)
    fixed = dict(body)
    for key in PATH_FIELDS.get(inner, ()):
        value = fixed.get(key)
        if isinstance(value, str) and value and not posixpath.isabs(value):
            fixed[key] = posixpath.join(base_dir, value)
    return {**entry, inner: fixed}


def merge_kubeconfigs(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One kubeconfig from (path, parsed document) pairs, in KUBECONFIG order."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    named: dict[str, dict[str, Any]] = {key: {} for key, _ in NAMED_LISTS}
    for path, document in documents:
        base_dir = posixpath.dirname(path)
        if not merged.get("current-context") and document.get("current-context"):
            merged["current-context"] = document["current-context"]
        for key, inner in NAMED_LISTS:
            entries = document.get(key)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                    named[key].setdefault(entry["name"], _resolved(entry, inner, base_dir))
        preferences = document.get("preferences")
        if isinstance(preferences, Mapping) and "preferences" not in merged:
            merged["preferences"] = dict(preferences)
    for key, _ in NAMED_LISTS:
        merged[key] = list(named[key].values())
    return merged
