"""One connection to the ACK cluster, shared by every Kubernetes resource and the restart provider."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ..decide.problems import InputError, Problem

KUBECONFIG_KEY = "kubernetes:kubeconfig"
CONTEXT_KEY = "kubernetes:context"


@dataclass(frozen=True)
class ClusterConnection:
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]  # always secret: it carries tokens or client keys


def _kubeconfig_text(config: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """Same precedence as the Kubernetes provider: config key (text or path), then KUBECONFIG, then ~/.kube/config."""
    value = config.get(KUBECONFIG_KEY)
    if value:
        path = Path(os.path.expanduser(value))
        return path.read_text() if "\n" not in value and path.is_file() else value
    for candidate in (environ.get("KUBECONFIG", "").split(os.pathsep)[0], "~/.kube/config"):
        path = Path(os.path.expanduser(candidate)) if candidate else None
        if path and path.is_file():
            return path.read_text()
    raise InputError(
        [Problem(KUBECONFIG_KEY, "no kubeconfig: set it (pulumi config set --secret kubernetes:kubeconfig ...) or KUBECONFIG")]
    )


def _pin_context(kubeconfig: str, context: Optional[str]) -> str:
    """Make `context` the current one, so every client of this text talks to the same cluster."""
    if not context:
        return kubeconfig
    document = yaml.safe_load(kubeconfig)
    names = [c.get("name") for c in document.get("contexts") or []]
    if context not in names:
        raise InputError([Problem(CONTEXT_KEY, f"context {context!r} is not in the kubeconfig (has {', '.join(names)})")])
    document["current-context"] = context
    return yaml.safe_dump(document, sort_keys=False)


def connect(config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> ClusterConnection:
    kubeconfig = pulumi.Output.secret(_pin_context(_kubeconfig_text(config, environ), config.get(CONTEXT_KEY)))
    provider = k8s.Provider(
        "cluster",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        # Adopt objects a team applied by hand from the runbook (same names) instead of failing.
        upsert_existing_objects=True,
    )
    return ClusterConnection(provider=provider, kubeconfig=kubeconfig)
