"""The offline plan's stand-in for reading the cluster: --nodes, --node-crs, --configmaps, --pod-networkings.

Each file is what kubectl saves (`-o json` or `-o yaml` of a list); each is optional. Without --nodes
the capacity figures say they could not be computed; without --node-crs whether a node can still
attach an ENI is unknown; --configmaps supplies the per-node configs (`terway-config`) of kube-system.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..act.cluster_nodes import NodesUnreadable
from ..decide.facts import NODE_CONFIG_LABEL
from ..decide import strict_json
from ..decide.problems import InputError, Problem

KUBECTL = {
    "nodes": "kubectl get nodes -o json",
    "node_crs": "kubectl get nodes.network.alibabacloud.com -o json",
    "configmaps": "kubectl get configmaps -n kube-system -o json",
    "pod_networkings": "kubectl get podnetworkings -o json",
}


def read_document(path: Path, yaml_allowed: bool = True) -> Any:
    """Any input file, through the one strict reader (decide.strict_json.read_document); a problem names
    the file and the path inside it, and exits 2."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = f"is not UTF-8 text ({err.reason})" if isinstance(err, UnicodeDecodeError) else f"cannot be read ({err.strerror})"
        raise InputError([Problem(str(path), reason)]) from None
    try:
        return strict_json.read_document(text, yaml_allowed)
    except strict_json.JsonTextError as err:
        raise InputError([Problem(f"{path}: {err.path}" if err.path else str(path), err.reason)]) from None


def check_nodes(path: Path, items: list) -> None:
    """items[].metadata.{name, labels, annotations} as the API server returns them; the capacity figures
    read nothing else."""
    problems = []
    for index, item in enumerate(items):
        where = f"{path}: items[{index}]"
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(metadata, (dict, type(None))):
            problems.append(Problem(where, "must be a Node: a mapping with a metadata mapping"))
            continue
        for key, what in (("labels", "label"), ("annotations", "annotation")):
            mapping = (metadata or {}).get(key)
            if mapping is not None and not (isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())):
                problems.append(Problem(f"{where}.metadata.{key}", f"must map {what} names to strings"))
        name = (metadata or {}).get("name")
        if name is not None and not isinstance(name, str):
            problems.append(Problem(f"{where}.metadata.name", "must be a string"))
        if len(problems) >= 10:
            break
    if problems:
        raise InputError(problems)


def _items(path: Optional[Path], what: str) -> Optional[list]:
    if path is None:
        return None
    document = read_document(path)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise InputError([Problem(f"{path}: items", f"missing: expected the output of `{KUBECTL[what]}`")])
    if what == "nodes":
        check_nodes(path, document["items"])
        return document["items"]
    for index, item in enumerate(document["items"]):
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
            raise InputError([Problem(f"{path}: items[{index}].metadata", "missing: every item needs its metadata")])
    return document["items"]


class ClusterFiles:
    """The files, read once: a reader with act.cluster_nodes.read_cluster's shape, and the per-node configs."""

    def __init__(
        self,
        nodes: Optional[Path],
        node_crs: Optional[Path] = None,
        configmaps: Optional[Path] = None,
        pod_networkings: Optional[Path] = None,
    ):
        self.node_items = _items(nodes, "nodes")
        self.configmaps = None if configmaps is None else {
            str(cm["metadata"].get("name")): cm.get("data") or {} for cm in _items(configmaps, "configmaps") or []
        }
        self.snapshot = {
            "nodes": {"kind": "NodeList", "items": self.node_items or []},
            "nodeCrs": _items(node_crs, "node_crs"),
            "nodeConfigs": self.configmaps or {},
            "podNetworkings": _items(pod_networkings, "pod_networkings"),
        }

    def reader(self, _kubeconfig: str) -> dict[str, Any]:
        if self.node_items is None:
            raise NodesUnreadable(f"offline plan without --nodes ({KUBECTL['nodes']})")
        return self.snapshot

    def node_configs(self) -> Optional[dict[str, dict[str, Any]]]:
        """Per-node configs for the preflight: those the nodes select (label terway-config); without
        --nodes every ConfigMap of --configmaps that holds an eni_conf, eni-config itself aside."""
        if self.configmaps is None:
            return None
        if self.node_items is None:
            return {n: d for n, d in self.configmaps.items() if n != "eni-config" and "eni_conf" in d}
        wanted = {(((i.get("metadata") or {}).get("labels") or {}).get(NODE_CONFIG_LABEL)) for i in self.node_items} - {None, ""}
        return {n: d for n, d in self.configmaps.items() if n in wanted}
