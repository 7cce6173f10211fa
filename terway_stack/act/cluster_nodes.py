"""Read the cluster's nodes (labels only) at preview, for the pod-IP capacity figures.

Uses the act layer's one Kubernetes toolkit (act/kube.py), so an error never echoes the kubeconfig.
Pages through the list so that thousands of nodes stay cheap; each page has its own request timeout.
"""
from __future__ import annotations

from typing import Any

from ..decide.facts import PREFLIGHT_USER_AGENT
from .kube import KubeError, kube_client, list_items

PAGE = 500
TIMEOUT_SECONDS = 20


class NodesUnreadable(Exception):
    """The nodes could not be listed; the message is safe to show (no kubeconfig content)."""


def read_nodes(kubeconfig: str) -> dict[str, Any]:
    """A NodeList document (only `items[].metadata` is kept), as `kubectl get nodes -o json` gives."""
    from kubernetes.client import CoreV1Api

    try:
        with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
            listed = list_items(CoreV1Api(client).list_node, page_size=PAGE, _request_timeout=TIMEOUT_SECONDS)
            items = [{"metadata": item.get("metadata") or {}} for item in listed]
    except KubeError as err:
        raise NodesUnreadable(str(err)) from None
    except Exception as err:  # anything else: the type only, values may hold secrets
        raise NodesUnreadable(f"listing nodes failed ({type(err).__name__})") from None
    return {"kind": "NodeList", "items": items}
