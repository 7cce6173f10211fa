"""Pod-IP capacity, node half, under the real engine against kwok nodes (issue 12 §1).

The stack has `terway:cloudLookups: false` (no Alibaba Cloud here), so the figures that need the cloud
(ENI quotas, vSwitch free IPs) are unknown and say so; the node half (nodes by zone and instance type,
read with the kubernetes client at preview) and the warm demand are real. Run with `make e2e`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.controlplane import ADMIN_USER, ZONES  # noqa: E402
from e2e.pulumi_project import adopted_stack_config  # noqa: E402

NODES = 5  # round-robin over the zones: 3 in the first, 2 in the second
NS = "kube-system"
ADMIN = ADMIN_USER
STACK = "capacity"
ADOPTED = {ZONES[0]: "vsw-e2ecapf"}
STACK_CONFIG = adopted_stack_config("e2e-capacity", NODES, "direct", ADOPTED)  # the conftest's `pulumi` fixture inits STACK with it


def live_nodes_by_zone(cp) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for node in cp.core().list_node().items:
        labels = node.metadata.labels or {}
        zone = labels["topology.kubernetes.io/zone"]
        kind = labels["node.kubernetes.io/instance-type"]
        counts.setdefault(zone, {}).setdefault(kind, 0)
        counts[zone][kind] += 1
    return counts


def test_preview_shows_live_nodes_per_zone_and_writes_nothing(cp, pulumi):
    expected = live_nodes_by_zone(cp)
    assert sum(sum(k.values()) for k in expected.values()) == NODES and set(expected) == set(ZONES)
    since = cp.audit_offset()
    result = pulumi("preview")
    output = result.stdout + result.stderr
    for zone, kinds in expected.items():
        types = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        assert f"pod IPs in {zone}: {types};" in output, output[-3000:]
    assert "terway:cloudLookups is false" in output
    assert cp.write_summary(since, user=ADMIN) == {}  # reading nodes writes nothing


def test_up_exports_the_figures(cp, pulumi):
    pulumi("up", "--yes", "--skip-preview")
    figures = json.loads(pulumi("stack", "output", "podIpCapacity", "--json").stdout)
    expected = live_nodes_by_zone(cp)
    assert {zone: f["nodesByInstanceType"] for zone, f in figures.items() if f["nodes"]} == expected
    eni_conf = json.loads(cp.core().read_namespaced_config_map("eni-config", NS).data["eni_conf"])
    pool = eni_conf.get("min_pool_size", 0)
    for zone, f in figures.items():
        assert f["warmIps"] == f["nodes"] * pool
        assert f["maxPodsPerNode"] == {kind: None for kind in expected.get(zone, {})}  # no cloud: unknown
        assert any("terway:cloudLookups is false" in note for note in f["unknown"])
    assert ADOPTED[ZONES[0]] in figures[ZONES[0]]["vswitches"]
