"""Read the cluster's nodes (labels only) at preview, for the pod-IP capacity figures.

Uses the official client like the restart provider does, through the same kubeconfig handling, so an
error never echoes the kubeconfig. Pages through the list so that thousands of nodes stay cheap.
"""
from __future__ import annotations

from typing import Any

from ..decide.facts import PREFLIGHT_USER_AGENT
from .kube import KubeError, kube_client, read

PAGE = 500
TIMEOUT_SECONDS = 20


class NodesUnreadable(Exception):
    """The nodes could not be listed; the message is safe to show (no kubeconfig content)."""


def read_nodes(kubeconfig: str) -> dict[str, Any]:
    """A NodeList document (only `items[].metadata` is kept), as `kubectl get nodes -o json` gives."""
    from kubernetes.client import CoreV1Api

    items: list[dict[str, Any]] = []
    try:
        with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
            core = CoreV1Api(client)
            token = None
            while True:
                page = read(
                    core.list_node, limit=PAGE, _continue=token, _request_timeout=TIMEOUT_SECONDS
                ) or {}
                items.extend({"metadata": item.get("metadata") or {}} for item in page.get("items") or [])
                token = (page.get("metadata") or {}).get("continue")
                if not token:
                    break
    except KubeError as err:
        raise NodesUnreadable(str(err)) from None
    except Exception as err:  # anything else: the type only, values may hold secrets
        raise NodesUnreadable(f"listing nodes failed ({type(err).__name__})") from None
    return {"kind": "NodeList", "items": items}
