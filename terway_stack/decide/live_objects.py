"""Readers of live Kubernetes objects, as plain dicts the way the API server returns them.

Every layer that looks at a DaemonSet, a ConfigMap's field managers or an image reference reads it
through these, so a missing field means the same everywhere (the API server's default, or None).
No Pulumi import, no I/O: the act layer fetches the objects, the decide layer and the plan read them.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


# --------------------------------------------------------------------------- images and versions


def image_tag(image: Optional[str]) -> Optional[str]:
    """The tag of an image reference (registry/ns/typha:v3.20.2@sha256:... -> v3.20.2); None when untagged."""
    reference = (image or "").split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def parse_version(text: Optional[str]) -> Optional[tuple[int, int]]:
    """(major, minor) of a release tag such as v3.20.2 or 1.16.0; None when it does not start like one."""
    match = _VERSION.match(text or "")
    return (int(match[1]), int(match[2])) if match else None


# --------------------------------------------------------------------------- DaemonSets


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj or {}).get("spec") or {}


def update_strategy(ds: Mapping[str, Any]) -> str:
    """spec.updateStrategy.type; the API server's default is RollingUpdate."""
    return (_spec(ds).get("updateStrategy") or {}).get("type") or "RollingUpdate"


def max_unavailable(ds: Mapping[str, Any]) -> Any:
    """spec.updateStrategy.rollingUpdate.maxUnavailable as written (3 or "10%"); the API server's default is 1."""
    rolling = (_spec(ds).get("updateStrategy") or {}).get("rollingUpdate") or {}
    return rolling.get("maxUnavailable", 1)


def template_annotations(ds: Mapping[str, Any]) -> dict:
    """The pod template's annotations (where `kubectl rollout restart` writes restartedAt)."""
    template = _spec(ds).get("template") or {}
    return dict((template.get("metadata") or {}).get("annotations") or {})


def containers(ds: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The pod template's containers (init containers excluded)."""
    spec = (_spec(ds).get("template") or {}).get("spec") or {}
    return [c for c in spec.get("containers") or [] if isinstance(c, Mapping)]


def container(ds: Mapping[str, Any], name: str) -> Optional[Mapping[str, Any]]:
    return next((c for c in containers(ds) if c.get("name") == name), None)


# --------------------------------------------------------------------------- ConfigMaps


def data_key_owners(configmap: Optional[Mapping[str, Any]]) -> list[tuple[str, str, frozenset[str]]]:
    """(manager, operation, data keys it owns) per metadata.managedFields entry that owns any data key.

    A missing manager or operation is "" (the API server always sets them; a saved file may not).
    """
    owners = []
    for entry in ((configmap or {}).get("metadata") or {}).get("managedFields") or []:
        fields = ((entry or {}).get("fieldsV1") or {}).get("f:data") or {}
        keys = frozenset(k[2:] for k in fields if k.startswith("f:"))
        if keys:
            owners.append((entry.get("manager") or "", entry.get("operation") or "", keys))
    return owners
