"""The PodNetworking writer as a dynamic provider: stable import path, complete diff, retained on delete.

Its writes (resourceVersion test, retry, an edit kept) run against the real API server in
e2e/tests/test_terway_modes.py.
"""
from __future__ import annotations

import pytest

from terway_stack.act import pod_networking_writer as pnw
from terway_stack.act.cluster_nodes import NodesUnreadable, read_cluster
from terway_stack.act.kube import KubeError
from tests.engine_pickling import engine_pickle, in_fresh_interpreter

from .kubeconfigs import SECRET_TOKEN, UNREACHABLE_KUBECONFIG

PROPS = {"kind": pnw.KIND, "wantedVSwitches": {"cn-shanghai-f": ["vsw-1"]}, "zoneOfIds": {}, "kubeconfig": "k"}


def test_the_provider_is_pickled_by_reference_to_its_module():
    text, _raw = engine_pickle(pnw.PodNetworkingWriterProvider())
    assert in_fresh_interpreter(text, "type(p).__module__") == "terway_stack.act.pod_networking_writer"


def test_diff_names_what_changed_and_delete_writes_nothing():
    provider = pnw.PodNetworkingWriterProvider()
    same = provider.diff("id", {**PROPS, "added": {}}, dict(PROPS))
    assert same.changes is False
    moved = provider.diff("id", dict(PROPS), {**PROPS, "wantedVSwitches": {"cn-shanghai-f": ["vsw-2"]}})
    assert moved.changes is True and "wantedVSwitches" not in moved.stables
    assert provider.delete("id", {**PROPS, "kubeconfig": UNREACHABLE_KUBECONFIG}) is None  # no cluster call


def test_check_refuses_a_malformed_wanted_map():
    failures = pnw.PodNetworkingWriterProvider().check({}, {**PROPS, "wantedVSwitches": ["vsw-1"]}).failures
    assert [f.property for f in failures] == ["wantedVSwitches"]


def test_an_unreachable_cluster_fails_the_write_without_the_kubeconfig():
    with pytest.raises(KubeError) as caught:
        pnw.add_vswitch_ids(UNREACHABLE_KUBECONFIG, {"cn-shanghai-f": ["vsw-1"]}, {}, sleep=lambda _s: None)
    assert "cannot reach the Kubernetes API server" in str(caught.value) and SECRET_TOKEN not in str(caught.value)
    with pytest.raises(NodesUnreadable) as unread:
        read_cluster(UNREACHABLE_KUBECONFIG)
    assert SECRET_TOKEN not in str(unread.value)
