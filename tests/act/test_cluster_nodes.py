"""Reading nodes for the capacity figures: failures become a reason to show, never a crash or a leak."""
from __future__ import annotations

import pytest

from terway_stack.act.cluster_nodes import NodesUnreadable, read_nodes

TOKEN = "tok-3f9c1a77e2b54d0d9a6b"
UNREACHABLE = f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:9"}}}}]
users: [{{name: u, user: {{token: {TOKEN}}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""


@pytest.mark.parametrize(
    "kubeconfig, reason",
    [
        (UNREACHABLE, "cannot reach the Kubernetes API server"),
        (f"apiVersion: v1\nusers: [{{token: {TOKEN}\n", "kubeconfig is not valid YAML"),
        ("apiVersion: v1\nkind: Config\n", "kubeconfig was rejected"),
    ],
)
def test_an_unreadable_cluster_is_a_reason_without_the_kubeconfig(kubeconfig, reason):
    with pytest.raises(NodesUnreadable) as caught:
        read_nodes(kubeconfig)
    assert reason in str(caught.value)
    assert TOKEN not in str(caught.value)
