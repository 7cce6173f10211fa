"""Capacity arithmetic: Typha replicas and vSwitch address counts."""
from __future__ import annotations

import ipaddress
import math

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
