"""Capacity arithmetic: Typha replicas and vSwitch address counts."""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Optional

TYPHA_MAX_REPLICAS = 20  # Calico: more Typhas than this only adds API-server watches
TYPHA_NODES_PER_REPLICA = 200  # ACK runbook
TYPHA_MIN_REPLICAS = 3  # ACK runbook: survive a zone outage and a rollout at once
VSWITCH_RESERVED_ADDRESSES = 4  # Alibaba Cloud keeps the first and the last three


def typha_replicas(node_count: int) -> int:
    """Replicas for `node_count` Linux nodes.

    Typha binds host port 5473, so at most one runs per node; a rollout needs a node without one,
    hence always fewer replicas than nodes.
    """
    if node_count < 1:
        raise ValueError("node_count must be >= 1")
    replicas = min(TYPHA_MAX_REPLICAS, max(TYPHA_MIN_REPLICAS, math.ceil(node_count / TYPHA_NODES_PER_REPLICA)))
    if replicas >= node_count:
        replicas = max(1, node_count - 1)
    return replicas


def typha_replica_ceiling(node_count: int) -> int:
    """The most replicas an override may ask for: 20, and still one node free for a rollout."""
    return max(1, min(TYPHA_MAX_REPLICAS, node_count - 1))


def usable_addresses(cidr: str) -> int:
    """Addresses a vSwitch can hand out to ENIs."""
    return ipaddress.IPv4Network(cidr).num_addresses - VSWITCH_RESERVED_ADDRESSES


# The configured and the live node count "disagree" when they differ by more than this share.
NODE_COUNT_TOLERANCE = 0.10


@dataclass(frozen=True)
class TyphaSizing:
    """Typha replicas from the live cluster, with terway:cluster.nodeCount as a floor.

    Why a floor and the runbook's formula: nodeCount is the size the cluster is planned for (what an
    autoscaler may grow it to); the live count is what it is at this `up`, and it only goes stale
    upwards between runs, so Typha is sized for the larger of the two. The runbook's one replica per 200
    nodes (at least 3, at most 20) is ACK's own guidance; tigera-operator's nodes/200 + 2 adds two
    spares, which maxUnavailable 1 and the minimum of 3 already give at the sizes ACK runs. The ceiling
    uses the live count: Typha holds host port 5473, so a rollout needs a live node without one.
    """

    configured_nodes: int
    live_nodes: Optional[int]  # None: not read (offline plan without --nodes)
    override: Optional[int] = None

    @property
    def sized_for(self) -> int:
        return max(self.configured_nodes, self.live_nodes or 0)

    @property
    def replicas(self) -> int:
        wanted = self.override or typha_replicas(self.sized_for)
        if self.live_nodes is not None and self.live_nodes >= 1 and wanted >= self.live_nodes:
            wanted = max(1, self.live_nodes - 1)
        return wanted

    @property
    def live_cap(self) -> Optional[int]:
        """The live Linux node count when it, not nodeCount or the override, set the replicas (a rollout
        needs a node without Typha); None otherwise."""
        wanted = self.override or typha_replicas(self.sized_for)
        return self.live_nodes if self.replicas < wanted else None

    def summary(self) -> str:
        live = "not read" if self.live_nodes is None else f"{self.live_nodes} live Linux nodes"
        how = f"terway:typha.replicas {self.override}" if self.override else f"sized for {self.sized_for} nodes"
        return f"Typha sizing: terway:cluster.nodeCount {self.configured_nodes}, {live}: {self.replicas} replicas ({how})"

    def disagreement(self) -> Optional[str]:
        live, configured = self.live_nodes, self.configured_nodes
        if live is None or abs(live - configured) <= NODE_COUNT_TOLERANCE * configured:
            return None
        return (
            f"terway:cluster.nodeCount is {configured} but the cluster has {live} Linux nodes: Typha is sized for "
            f"{self.sized_for} ({self.replicas} replicas). Set nodeCount to the size the cluster is planned for"
        )

    def override_problem(self) -> Optional[str]:
        live = self.live_nodes
        if self.override is None or live is None or self.override < live or live <= 1:
            return None
        return (
            f"{self.override} leaves no free node among the cluster's {live} live Linux nodes: Typha holds host port "
            "5473, so a rollout would stall"
        )
