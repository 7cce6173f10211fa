"""The fleet's health reads, against the stub API server (tests/act/stub_apiserver.py): by REST path,
a missing object reads as None."""
from __future__ import annotations

from terway_stack.fleet.cluster_reads import read_health_objects

from ..act.stub_apiserver import StubApiServer

TYPHA = "/apis/apps/v1/namespaces/kube-system/deployments/calico-typha"
ENIIP = "/apis/apps/v1/namespaces/kube-system/daemonsets/terway-eniip"


def test_the_health_reads_return_the_objects_and_none_for_a_missing_one():
    objects = {TYPHA: {"kind": "Deployment", "metadata": {"name": "calico-typha"}},
               ENIIP: {"kind": "DaemonSet", "metadata": {"name": "terway-eniip"}}}
    with StubApiServer(objects) as api:
        typha, found = read_health_objects(api.kubeconfig(), "calico-typha", ["terway-eniip", "terway-eni"])
    assert typha == objects[TYPHA]
    assert found == {"terway-eniip": objects[ENIIP], "terway-eni": None}
    assert ("GET", TYPHA) in api.requests
