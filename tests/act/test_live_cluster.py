"""The program's reads of the live cluster over one client (act/live_cluster.py): one node list for the
Typha sizing and the capacity snapshot, and the failures of the separate readers they replace."""
from __future__ import annotations

import pytest

from terway_stack.act.cluster_nodes import NodesUnreadable, read_nodes
from terway_stack.act.kube import NODES
from terway_stack.act.live_cluster import LiveClusterReads, TyphaObjects
from terway_stack.decide.typha_live import TyphaLive

from .kubeconfigs import SECRET_TOKEN, UNREACHABLE_KUBECONFIG
from .stub_apiserver import StubApiServer

TYPHA = TyphaObjects("kube-system", "calico-typha", "bgppeers.crd.projectcalico.org")
NODE_LIST = {
    "kind": "NodeList", "metadata": {},
    "items": [{"metadata": {"name": "n1", "labels": {"terway-config": "big-nodes"}}, "status": {"capacity": {}}}],
}
OBJECTS = {
    NODES: NODE_LIST,
    "/api/v1/namespaces/kube-system/configmaps/eni-config": {"data": {"felix_relay_service": "calico-typha"}},
    "/api/v1/namespaces/kube-system/configmaps/big-nodes": {"data": {"eni_conf": "{}"}},
    "/apis/apps/v1/namespaces/kube-system/deployments/calico-typha": {"kind": "Deployment"},
}


def test_one_node_list_serves_the_typha_sizing_and_the_snapshot():
    with StubApiServer(OBJECTS) as api:
        reads = LiveClusterReads(api.kubeconfig(), TYPHA)
        assert reads.nodes() == {"kind": "NodeList", "items": [{"metadata": NODE_LIST["items"][0]["metadata"]}]}
        assert reads.typha_live() == TyphaLive(
            missing=("Service", "PodDisruptionBudget"), relay="calico-typha", bgppeer_crd_managers=(), bgppeer_crd_exists=False,
        )
        snapshot = reads.snapshot.result(timeout=60)
        requests = list(api.requests)
    assert snapshot == {"nodes": reads.nodes(), "nodeCrs": None, "podNetworkings": None, "nodeConfigs": {"big-nodes": {"eni_conf": "{}"}}}
    assert requests.count(("GET", NODES)) == 1
    assert {method for method, _path in requests} == {"GET"}


def test_below_1_21_the_pdb_is_read_where_the_stack_declares_it_and_stamps_are_read_back():
    pdb_v1beta1 = "/apis/policy/v1beta1/namespaces/kube-system/poddisruptionbudgets/calico-typha"
    stamped = {"kind": "Service", "metadata": {"annotations": {"terway-stack/recreated-at": "2026-12-04T20:00:00Z"}}}
    objects = {**OBJECTS, pdb_v1beta1: {"kind": "PodDisruptionBudget"},
               "/api/v1/namespaces/kube-system/services/calico-typha": stamped}
    with StubApiServer(objects) as api:
        live = LiveClusterReads(api.kubeconfig(), TYPHA._replace(pdb_api_version="policy/v1beta1")).typha_live()
    # Read at policy/v1 (a 404 there), a present PDB would count as missing and be replaced every run.
    assert live.missing == ()
    assert live.recreated_at == {"Service": "2026-12-04T20:00:00Z"}


def test_without_typha_its_objects_are_not_read():
    with StubApiServer(OBJECTS) as api:
        reads = LiveClusterReads(api.kubeconfig(), None)
        reads.snapshot.result(timeout=60)
        assert reads.typha_live() == TyphaLive()
        assert not [path for _method, path in api.requests if "calico-typha" in path or "eni-config" in path]


@pytest.mark.parametrize(
    "kubeconfig, reason",
    [
        (UNREACHABLE_KUBECONFIG, "cannot reach the Kubernetes API server"),
        (f"apiVersion: v1\nusers: [{{token: {SECRET_TOKEN}\n", "kubeconfig is not valid YAML"),
        ("apiVersion: v1\nkind: Config\n", "kubeconfig was rejected"),
    ],
)
def test_an_unreadable_cluster_fails_each_read_as_its_own_reader_did(kubeconfig, reason):
    reads = LiveClusterReads(kubeconfig, TYPHA)
    with pytest.raises(NodesUnreadable) as nodes:
        reads.nodes()
    with pytest.raises(NodesUnreadable) as snapshot:
        reads.snapshot.result(timeout=60)
    with pytest.raises(NodesUnreadable) as alone:
        read_nodes(kubeconfig)
    assert reason in str(nodes.value) and str(nodes.value) == str(snapshot.value) == str(alone.value)
    assert SECRET_TOKEN not in str(nodes.value)
    assert reads.typha_live() == TyphaLive()  # unread: the preflight gate stops the run


def test_the_offline_plan_reader_stands_in_for_the_node_list_and_the_snapshot():
    offline = {"nodes": NODE_LIST, "nodeCrs": None, "nodeConfigs": {}, "podNetworkings": None}
    reads = LiveClusterReads("apiVersion: v1\nkind: Config\n", TYPHA, node_reader=lambda _kubeconfig: offline)
    # The node list is the snapshot's NodeList (Typha's sizing counts its items), the snapshot the whole.
    assert reads.nodes() is NODE_LIST and reads.snapshot.result(timeout=60) is offline
    assert reads.typha_live() == TyphaLive()  # no cluster named: nothing read


def test_an_offline_reader_without_nodes_leaves_them_unread():
    def no_nodes(_kubeconfig):
        raise NodesUnreadable("offline plan without --nodes")

    reads = LiveClusterReads("apiVersion: v1\nkind: Config\n", None, node_reader=no_nodes)
    with pytest.raises(NodesUnreadable, match="without --nodes"):
        reads.nodes()
