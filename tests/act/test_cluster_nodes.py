"""Reading nodes for the capacity figures: failures become a reason to show, never a crash or a leak."""
from __future__ import annotations

import pytest

from terway_stack.act.cluster_nodes import NodesUnreadable, read_nodes

from .kubeconfigs import SECRET_TOKEN, UNREACHABLE_KUBECONFIG



@pytest.mark.parametrize(
    "kubeconfig, reason",
    [
        (UNREACHABLE_KUBECONFIG, "cannot reach the Kubernetes API server"),
        (f"apiVersion: v1\nusers: [{{token: {SECRET_TOKEN}\n", "kubeconfig is not valid YAML"),
        ("apiVersion: v1\nkind: Config\n", "kubeconfig was rejected"),
    ],
)
def test_an_unreadable_cluster_is_a_reason_without_the_kubeconfig(kubeconfig, reason):
    with pytest.raises(NodesUnreadable) as caught:
        read_nodes(kubeconfig)
    assert reason in str(caught.value)
    assert SECRET_TOKEN not in str(caught.value)
