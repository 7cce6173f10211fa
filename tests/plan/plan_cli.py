"""`python -m terway_stack plan` run as users run it: a process of the real entry point (tests/cli_runs.py)."""
from __future__ import annotations

import subprocess

from tests.cli_runs import ROOT, run_module

__all__ = ["ROOT", "plan"]


def plan(*args: str, fresh: bool = False) -> subprocess.CompletedProcess:
    return run_module("terway_stack", "plan", *args, fresh=fresh)
