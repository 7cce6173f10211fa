"""Read the cluster's nodes at preview, for the pod-IP capacity figures.

Besides the Nodes (labels and annotations: zone, instance type, exclusive-ENI label, the
`alibabacloud.com/instance-type-info` limits) it reads Terway's Node CRs (network.alibabacloud.com/v1beta1
nodes: nodeCap, the attached ENIs), the per-node ConfigMaps the nodes select with `terway-config`, and
the PodNetworkings. A CRD that is not installed reads as None (a cluster without centralized IPAM or
without trunking), never as an error.

Uses the act layer's one Kubernetes toolkit (act/kube.py), so an error never echoes the kubeconfig.
Pages through the list so that thousands of nodes stay cheap; each page has its own request timeout.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from ..decide.facts import KUBE_SYSTEM, NODE_CONFIG_LABEL, PREFLIGHT_USER_AGENT, TERWAY_CRD_GROUP, TERWAY_CRD_VERSION
from ..decide.pod_networking import PLURAL as POD_NETWORKINGS
from .kube import NODES, PAGE, KubeError, configmap_path, kube_client, list_items, read

TIMEOUT_SECONDS = 20


class NodesUnreadable(Exception):
    """The nodes could not be listed; the message is safe to show (no kubeconfig content)."""


def read_nodes(kubeconfig: str) -> dict[str, Any]:
    """A NodeList document (only `items[].metadata` is kept), as `kubectl get nodes -o json` gives."""
    with nodes_unreadable_on_error("listing nodes failed"):
        with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
            return list_nodes(client)


def read_cluster(kubeconfig: str) -> dict[str, Any]:
    """Everything the capacity and PodNetworking read-outs need, in one connection.

    {"nodes": NodeList, "nodeCrs": [Node CR] or None, "nodeConfigs": {name: data}, "podNetworkings": [..] or None}
    """
    nodes = read_nodes(kubeconfig)
    with nodes_unreadable_on_error("reading Terway's Node CRs failed"):
        with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
            return {"nodes": nodes, **read_terway_objects(client, nodes)}


@contextmanager
def nodes_unreadable_on_error(what_failed: str) -> Iterator[None]:
    """Any failure inside as NodesUnreadable, with a message that is safe to show: KubeError's own, or
    `what_failed` and the exception's type (other values may hold secrets)."""
    try:
        yield
    except KubeError as err:
        raise NodesUnreadable(str(err)) from None
    except Exception as err:
        raise NodesUnreadable(f"{what_failed} ({type(err).__name__})") from None


def list_nodes(client: Any) -> dict[str, Any]:
    """The NodeList of read_nodes, over an open client; KubeError when it cannot be listed."""
    listed = list_items(client, NODES, what="listing nodes", timeout=TIMEOUT_SECONDS)
    return {"kind": "NodeList", "items": [{"metadata": item.get("metadata") or {}} for item in listed]}


def read_terway_objects(client: Any, nodes: dict[str, Any]) -> dict[str, Any]:
    """The rest of read_cluster's snapshot (Node CRs, PodNetworkings, the per-node ConfigMaps `nodes` select),
    over an open client; KubeError when a read fails."""
    node_crs = _custom_list(client, "nodes")
    pod_networkings = _custom_list(client, POD_NETWORKINGS)
    configs = {}
    names = sorted({(i["metadata"].get("labels") or {}).get(NODE_CONFIG_LABEL) for i in nodes["items"]} - {None, ""})
    for name in names:
        cm = read(client, configmap_path(KUBE_SYSTEM, name), what=f"reading ConfigMap {KUBE_SYSTEM}/{name}",
                  timeout=TIMEOUT_SECONDS)
        if cm is not None:
            configs[name] = cm.get("data") or {}
    return {"nodeCrs": node_crs, "nodeConfigs": configs, "podNetworkings": pod_networkings}


def _custom_list(client: Any, plural: str) -> Any:
    """Items of a cluster-scoped Terway CRD, paged; None when the CRD is not installed (404)."""
    path = f"/apis/{TERWAY_CRD_GROUP}/{TERWAY_CRD_VERSION}/{plural}"
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = read(
            client, path, what=f"listing {plural}.{TERWAY_CRD_GROUP}",
            query={"limit": PAGE, "continue": token}, timeout=TIMEOUT_SECONDS,
        )
        if page is None:
            return None
        items.extend(_slim(plural, item) for item in page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def _slim(plural: str, item: dict[str, Any]) -> dict[str, Any]:
    """Only what the read-outs use: a Node CR's status lists every pod IP, which thousands of nodes make large."""
    if plural != "nodes":
        return item
    spec, status = item.get("spec") or {}, item.get("status") or {}
    nics = status.get("networkInterfaces")
    slim: dict[str, Any] = {
        "metadata": {"name": (item.get("metadata") or {}).get("name")},
        "spec": {"nodeCap": spec.get("nodeCap"), **({"eni": {"enableIPPrefix": (spec.get("eni") or {}).get("enableIPPrefix")}}
                                                     if isinstance(spec.get("eni"), dict) else {})},
    }
    if isinstance(nics, dict):
        slim["status"] = {"networkInterfaces": {
            key: {k: (nic or {}).get(k) for k in ("networkInterfaceType", "networkInterfaceTrafficMode")}
            for key, nic in nics.items()
        }}
    return slim
