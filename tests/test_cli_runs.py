"""The forked CLI runner the plan tests use (tests/cli_runs.py) answers as a fresh interpreter does."""
from __future__ import annotations

import pytest

from tests.cli_runs import run_module


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--stack", "prod", "--format", "json"),  # a whole plan on stdout, exit 0
        ("plan", "--stack", "prod", "--format", "nonsense"),  # argparse's usage error, exit 2
    ],
)
def test_a_forked_run_prints_and_exits_as_a_fresh_interpreter(args):
    forked, fresh = run_module("terway_stack", *args), run_module("terway_stack", *args, fresh=True)
    assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.stdout or forked.stderr

