"""Thin layer: read what the health gates judge from a stack's cluster (Typha, Terway DaemonSets)."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from ..act.terway_rollout import kube_client, read_json
from ..decide.typha_manifests import NAMESPACE

__all__ = ["read_health_objects"]


def read_health_objects(
    kubeconfig: str, typha_name: Optional[str], daemon_sets: Sequence[str]
) -> tuple[Optional[Mapping[str, Any]], dict[str, Optional[Mapping[str, Any]]]]:
    """(Typha Deployment or None, {DaemonSet name: object or None}), as JSON dicts."""
    from kubernetes.client import AppsV1Api

    with kube_client(kubeconfig) as client:
        apps = AppsV1Api(client)
        typha = read_json(apps.read_namespaced_deployment, typha_name, NAMESPACE) if typha_name else None
        found = {name: read_json(apps.read_namespaced_daemon_set, name, NAMESPACE) for name in daemon_sets}
    return typha, found
