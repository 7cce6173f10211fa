"""The offline plan's stand-in for reading the cluster: --nodes, --node-crs, --configmaps, --pod-networkings.

Each file is what kubectl saves (`-o json` or `-o yaml` of a list); each is optional. Without --nodes
the capacity figures say they could not be computed; without --node-crs whether a node can still
attach an ENI is unknown; --configmaps supplies the per-node configs (`terway-config`) of kube-system.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from ..act.cluster_nodes import NodesUnreadable
from ..decide.problems import InputError, Problem

KUBECTL = {
    "nodes": "kubectl get nodes -o json",
    "node_crs": "kubectl get nodes.network.alibabacloud.com -o json",
    "configmaps": "kubectl get configmaps -n kube-system -o json",
    "pod_networkings": "kubectl get podnetworkings -o json",
}


def read_document(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file not found")]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        reason = type(err).__name__ if isinstance(err, yaml.YAMLError) else str(err)
        raise InputError([Problem(str(path), f"is not readable YAML or JSON ({reason})")]) from None


def _items(path: Optional[Path], what: str) -> Optional[list]:
    if path is None:
        return None
    document = read_document(path)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise InputError([Problem(f"{path}: items", f"missing: expected the output of `{KUBECTL[what]}`")])
    for index, item in enumerate(document["items"]):
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
            raise InputError([Problem(f"{path}: items.{index}.metadata", "missing: every item needs its metadata")])
    return document["items"]


def cluster_reader(
    nodes: Optional[Path],
    node_crs: Optional[Path] = None,
    configmaps: Optional[Path] = None,
    pod_networkings: Optional[Path] = None,
) -> Callable[[str], dict[str, Any]]:
    """A reader with act.cluster_nodes.read_cluster's shape, answering from the files."""
    node_items = _items(nodes, "nodes")
    snapshot = {
        "nodes": {"kind": "NodeList", "items": node_items or []},
        "nodeCrs": _items(node_crs, "node_crs"),
        "nodeConfigs": {
            str(cm["metadata"].get("name")): cm.get("data") or {} for cm in _items(configmaps, "configmaps") or []
        },
        "podNetworkings": _items(pod_networkings, "pod_networkings"),
    }

    def reader(_kubeconfig: str) -> dict[str, Any]:
        if node_items is None:
            raise NodesUnreadable(f"offline plan without --nodes ({KUBECTL['nodes']})")
        return snapshot

    return reader
