"""Where a Terway rollout stands, node by node, from the DaemonSet's pods and their nodes.

The DaemonSet's status counts cannot finish a rollout while one node is NotReady: its pod can be
neither replaced (the kubelet does not answer) nor available, so `numberUnavailable` never reaches
0 and a wait on the counts only ends by timeout, and a rerun waits again. The rollout is instead
done when every node that is Ready runs an updated, available pod; NotReady nodes are named as not
updated (their pods update when the node comes back, by the DaemonSet controller alone).

Facts from Kubernetes (pkg/controller/daemon): pods of the current template carry the label
`controller-revision-hash` with the hash of the DaemonSet's newest ControllerRevision (the one with
the highest `revision` among those it owns); a pod is available when Ready for minReadySeconds.
Plain data in and out: the act layer lists the objects and injects the wall clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional

REVISION_LABEL = "controller-revision-hash"


@dataclass(frozen=True)
class NodeProgress:
    """Nodes of one DaemonSet's rollout: done, still to do, and NotReady ones left out."""

    done: tuple[str, ...]  # Ready nodes with an updated, available pod and no old pod
    pending: tuple[str, ...]  # Ready nodes not there yet
    not_ready: tuple[str, ...]  # NotReady (or vanished) nodes whose pod is not updated and available
    desired: int

    def complete(self) -> bool:
        """Every Ready node done, and no node of the DaemonSet without a pod at the moment."""
        return not self.pending and len(self.done) + len(self.not_ready) >= self.desired

    def describe(self) -> str:
        text = f"{len(self.done)} Ready nodes updated"
        if self.pending:
            text += f", {len(self.pending)} Ready nodes to go"
        if self.not_ready:
            text += f", not updated on NotReady node{'s' if len(self.not_ready) > 1 else ''} {_names(self.not_ready)}"
        return text


def _names(nodes: tuple[str, ...], most: int = 10) -> str:
    shown = ", ".join(nodes[:most])
    return shown + (f" and {len(nodes) - most} more" if len(nodes) > most else "")


def current_revision(daemon_set: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]]) -> Optional[str]:
    """The hash of the newest ControllerRevision the DaemonSet owns; None if there is none yet."""
    uid = (daemon_set.get("metadata") or {}).get("uid")
    newest: tuple[int, Optional[str]] = (-1, None)
    for revision in revisions:
        meta = revision.get("metadata") or {}
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
        if uid is not None and not any(o.get("uid") == uid for o in owners):
            continue
        number = int(revision.get("revision") or 0)
        if number > newest[0]:
            newest = (number, (meta.get("labels") or {}).get(REVISION_LABEL))
    return newest[1]


def owned_pods(daemon_set: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    uid = (daemon_set.get("metadata") or {}).get("uid")
    return [
        p for p in pods
        if any(o.get("controller") and o.get("uid") == uid for o in (p.get("metadata") or {}).get("ownerReferences") or [])
    ]


def node_ready(node: Optional[Mapping[str, Any]]) -> bool:
    for condition in ((node or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def _parse_time(text: Optional[str]) -> Optional[datetime]:
    try:
        return datetime.strptime(text or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return False
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            if min_ready_seconds <= 0:
                return True
            since = _parse_time(condition.get("lastTransitionTime"))
            return since is not None and (now - since).total_seconds() >= min_ready_seconds
    return False


def node_progress(
    daemon_set: Mapping[str, Any],
    pods: Iterable[Mapping[str, Any]],
    nodes: Iterable[Mapping[str, Any]],
    revision: Optional[str],
    now: datetime,
) -> NodeProgress:
    """Progress of the DaemonSet's rollout to `revision` over its pods, grouped by node."""
    spec, status = daemon_set.get("spec") or {}, daemon_set.get("status") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    by_name = {(n.get("metadata") or {}).get("name"): n for n in nodes}
    on_node: dict[str, list[Mapping[str, Any]]] = {}
    for pod in owned_pods(daemon_set, pods):
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            on_node.setdefault(node, []).append(pod)
    done, pending, not_ready = [], [], []
    for node, node_pods in sorted(on_node.items()):
        updated = [p for p in node_pods if revision is not None and _revision_of(p) == revision]
        old = [p for p in node_pods if p not in updated]
        finished = not old and any(pod_available(p, min_ready, now) for p in updated)
        if finished:
            done.append(node)
        elif node_ready(by_name.get(node)):
            pending.append(node)
        else:
            not_ready.append(node)
    return NodeProgress(tuple(done), tuple(pending), tuple(not_ready), int(status.get("desiredNumberScheduled") or 0))


def _revision_of(pod: Mapping[str, Any]) -> Optional[str]:
    return ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)
