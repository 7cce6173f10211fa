"""(d) `fleet up` against the sum of single `pulumi up`s: N stacks on N kwok clusters (N = 3 to 5).

Each measurement starts from the same place (every stack destroyed, the clusters in their ACK seed
state) and does the same work: every stack goes from empty to converged.

- single: `pulumi up --yes` of each stack, one after another; the figure is the sum.
- fleet, parallel 1: `python -m terway_stack fleet up --canary 0 --parallel 1` (one wave, one stack at a
  time): the same parallelism as the single ups, so the ratio is the fleet's own cost (the converged
  check, the follow-up preview and the health reads of each stack).
- fleet, parallel N: the same wave with N stacks at a time.
"""
from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from e2e.controlplane import ControlPlane
from e2e.pulumi_project import PulumiCli, adopted_stack_config, copy_project, init_stack

NODES = 3
ADOPTED = {"cn-shanghai-f": "vsw-benchf", "cn-shanghai-g": "vsw-benchg"}


def _fleet_up(cli: PulumiCli, parallel: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "terway_stack", "fleet", "up", "--canary", "0", "--parallel", str(parallel)],
        cwd=cli.workdir, env=cli.env, capture_output=True, text=True, timeout=3600,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"fleet up exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds


def _destroy_all(cli: PulumiCli, stacks: list[str]) -> None:
    for stack in stacks:
        cli("destroy", "--yes", "--skip-preview", "--stack", stack, timeout=1800)


def fleet_ratio(count: int) -> None:
    if not 3 <= count <= 5:
        raise SystemExit("--fleet must be 3 to 5 stacks")
    stacks = [f"bench-{i}" for i in range(count)]
    with contextlib.ExitStack() as exits, tempfile.TemporaryDirectory() as tmp:
        planes = [exits.enter_context(ControlPlane(nodes=NODES, timeout=300)) for _ in stacks]
        project = Path(tmp) / "project"
        project.mkdir()
        copy_project(project)
        cli = PulumiCli(project, Path(tmp) / "home")
        for stack, cp in zip(stacks, planes):
            init_stack(cli, stack, adopted_stack_config(stack, NODES, "typha", ADOPTED), cp.kubeconfig_inline())
        cli("preview", "--stack", stacks[0])  # warm-up: plugins into the OS cache
        singles = []
        for stack in stacks:
            start = time.perf_counter()
            cli("up", "--yes", "--stack", stack, timeout=1800)
            singles.append(time.perf_counter() - start)
        _destroy_all(cli, stacks)
        sequential = _fleet_up(cli, 1)
        _destroy_all(cli, stacks)
        parallel = _fleet_up(cli, count)
    total = sum(singles)
    print(f"(d) fleet of {count} stacks ({NODES} kwok nodes each), empty to converged:")
    print(f"    single ups {[round(s, 1) for s in singles]} s, sum {total:.1f}s")
    print(f"    fleet up --parallel 1: {sequential:.1f}s, ratio fleet/sum of singles {sequential / total:.2f} (same parallelism)")
    print(f"    fleet up --parallel {count}: {parallel:.1f}s, ratio fleet/sum of singles {parallel / total:.2f}")
