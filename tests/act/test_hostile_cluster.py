"""Issue 19's cluster-side classes (timeouts, permissions), generated: see tests/act/hostile_cluster.py."""
from __future__ import annotations

from tests.act import hostile_cluster


def test_a_frozen_or_refusing_api_server_gives_clear_lines_no_hang_no_write():
    table = hostile_cluster.counts(per_class=6, seed=1919)
    assert all(row[kind] == 0 for row in table.values() for kind in hostile_cluster.KINDS), table
