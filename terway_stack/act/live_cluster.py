"""The program's read-only look-ups of the live cluster in one run: one client, on one worker thread.

The program reads the cluster before it declares Typha (the live node count sizes it; the live Typha
objects, relay key and BGPPeer CRD decide what it declares) and for the capacity and PodNetworking
read-outs (act/cluster_nodes.read_cluster's snapshot). Made by separate readers, that was three
clients (a client and a TLS handshake each) and the node list read twice. Here one worker thread,
started as soon as the program has the kubeconfig, opens one client and reads in the order the program
needs the answers: the nodes, Typha's objects, then the rest of the snapshot. The program's main
thread goes on declaring meanwhile and waits only where it needs a value.

Results and errors are those of the separate readers: NodesUnreadable with their messages for the
nodes and the snapshot, an empty TyphaLive when Typha's objects cannot be read, anything else raised
where the value is asked for. Every request keeps its own timeout (act/kube.py). The offline plan's
reader (its files) stands in for the node list and the snapshot, as before.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from contextlib import ExitStack
from typing import Any, Callable, Mapping, NamedTuple, Optional

from ..decide.capacity import node_list
from ..decide.facts import PREFLIGHT_USER_AGENT
from ..decide.typha_live import TyphaLive
from .cluster_nodes import NodesUnreadable, list_nodes, nodes_unreadable_on_error, read_terway_objects
from .kube import KubeError, kube_client
from .typha_live import read_typha_live, typha_live

NODES_FAILED = "listing nodes failed"  # read_nodes' words for a failure that is not a KubeError
TERWAY_OBJECTS_FAILED = "reading Terway's Node CRs failed"  # read_cluster's


class TyphaObjects(NamedTuple):
    namespace: str
    service: str
    crd: str
    pdb_api_version: str = "policy/v1"  # the PodDisruptionBudget is read where the stack declares it


class LiveClusterReads:
    """The reads, started on construction; each value is waited for where it is asked for."""

    def __init__(
        self,
        kubeconfig: str,
        typha: Optional[TyphaObjects],
        node_reader: Optional[Callable[[str], Mapping[str, Any]]] = None,
    ):
        self._nodes: Future = Future()
        self._typha: Future = Future()
        # read_cluster's document, or NodesUnreadable: awaited by the capacity read-out.
        self.snapshot: Future = Future()
        if typha is None:
            self._typha.set_result(TyphaLive())
        target = self._read_offline if node_reader is not None else self._read_live
        args = (kubeconfig, typha, node_reader) if node_reader is not None else (kubeconfig, typha)
        # A daemon thread: a run that stops on bad input does not wait for a slow API server to exit.
        threading.Thread(target=target, args=args, name="live-cluster-reads", daemon=True).start()

    def nodes(self) -> Mapping[str, Any]:
        """The NodeList (the offline plan: what its reader gives); NodesUnreadable when not read."""
        return self._nodes.result()

    def typha_live(self) -> TyphaLive:
        return self._typha.result()

    def _read_live(self, kubeconfig: str, typha: Optional[TyphaObjects]) -> None:
        with ExitStack() as open_client:
            try:
                client = open_client.enter_context(kube_client(kubeconfig, PREFLIGHT_USER_AGENT))
            except Exception as err:  # the kubeconfig is unusable: every read fails as its reader did
                self._fail_all(err, typha)
                return
            _settle(self._nodes, lambda: _nodes_or_unreadable(NODES_FAILED, list_nodes, client))
            if typha is not None:
                _settle(self._typha, lambda: _typha_or_empty(lambda: typha_live(client, *typha)))
            _settle(self.snapshot, lambda: self._snapshot(client))

    def _snapshot(self, client: Any) -> dict[str, Any]:
        nodes = self._nodes.result()  # its NodesUnreadable is the snapshot's too
        return {"nodes": nodes, **_nodes_or_unreadable(TERWAY_OBJECTS_FAILED, read_terway_objects, client, nodes)}

    def _fail_all(self, err: Exception, typha: Optional[TyphaObjects]) -> None:
        unreadable = NodesUnreadable(str(err) if isinstance(err, KubeError) else f"{NODES_FAILED} ({type(err).__name__})")
        self._nodes.set_exception(unreadable)
        self.snapshot.set_exception(unreadable)
        if typha is not None:
            if isinstance(err, KubeError):
                self._typha.set_result(TyphaLive())
            else:
                self._typha.set_exception(err)

    def _read_offline(self, kubeconfig: str, typha: Optional[TyphaObjects], node_reader: Callable) -> None:
        # The plan's reader gives the snapshot; Typha's sizing counts the NodeList inside it.
        _settle(self._nodes, lambda: node_list(node_reader(kubeconfig)))
        _settle(self.snapshot, lambda: node_reader(kubeconfig))
        if typha is not None:
            _settle(self._typha, lambda: read_typha_live(kubeconfig, *typha))


def _settle(future: Future, read: Callable[[], Any]) -> None:
    try:
        future.set_result(read())
    except BaseException as err:  # handed to whoever asks for the value, raised there
        future.set_exception(err)


def _nodes_or_unreadable(what_failed: str, read: Callable[..., Any], *args: Any) -> Any:
    with nodes_unreadable_on_error(what_failed):
        return read(*args)


def _typha_or_empty(read: Callable[[], TyphaLive]) -> TyphaLive:
    try:
        return read()
    except KubeError:
        return TyphaLive()
