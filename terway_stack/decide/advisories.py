"""Advice on the network-policy mode for the cluster's size: printed as Pulumi warnings and in the plan."""
from __future__ import annotations

from .facts import DIRECT_MODE_NODE_LIMIT
from .settings import StackSettings


def network_policy_advisories(settings: StackSettings) -> list[str]:
    """One message per thing the user should know about `terway:networkPolicy`; empty if all is well."""
    mode = settings.network_policy
    nodes = settings.cluster.node_count
    if mode == "disabled":
        return [
            "terway:networkPolicy is disabled: Terway sets disable_network_policy \"true\" and NetworkPolicies "
            "will stop being enforced (Terway flushes every cali-* iptables chain); every pod can reach every pod"
        ]
    if mode == "typha" and nodes < DIRECT_MODE_NODE_LIMIT:
        return [
            f"terway:networkPolicy is typha on {nodes} nodes: Typha works but is not needed below "
            f"{DIRECT_MODE_NODE_LIMIT} nodes; Felix can watch the API server directly (mode direct) "
            "without overloading it"
        ]
    if mode == "direct" and nodes > DIRECT_MODE_NODE_LIMIT:
        return [
            f"terway:networkPolicy is direct on {nodes} nodes: above {DIRECT_MODE_NODE_LIMIT} nodes every Felix "
            "watching the API server directly overloads it; use typha (or disabled if no NetworkPolicy is needed)"
        ]
    return []
