"""Thin layer: read what the health gates judge from a stack's cluster (Typha, Terway DaemonSets)."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from ..act.kube import kube_client, read
from ..decide.facts import TERWAY_NAMESPACE, TYPHA_NAMESPACE

USER_AGENT = "terway-stack-fleet"  # the audit log tells the fleet's reads apart by it

__all__ = ["read_health_objects"]


def read_health_objects(
    kubeconfig: str, typha_name: Optional[str], daemon_sets: Sequence[str]
) -> tuple[Optional[Mapping[str, Any]], dict[str, Optional[Mapping[str, Any]]]]:
    """(Typha Deployment or None, {DaemonSet name: object or None}), as JSON dicts."""
    from kubernetes.client import AppsV1Api

    with kube_client(kubeconfig, USER_AGENT) as client:
        apps = AppsV1Api(client)
        typha = read(apps.read_namespaced_deployment, typha_name, TYPHA_NAMESPACE) if typha_name else None
        found = {name: read(apps.read_namespaced_daemon_set, name, TERWAY_NAMESPACE) for name in daemon_sets}
    return typha, found
