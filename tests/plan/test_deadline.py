"""Issue 19, time: the offline plan's deadline ends the process even when the stall is inside the
event loop (the old SIGALRM exception was caught there: a traceback, and the plan ran on).

Each case runs the real CLI in a subprocess whose program stalls after declaring everything. The
subprocess timeout is only a guard against a hang of the test itself, far above the deadline.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import re, sys, time
import pulumi
import terway_stack.program as program
import terway_stack.plan.cli as cli

cli.PLAN_TIMEOUT_SECONDS = {seconds}  # the same deadline for code that has no TERWAY_STACK_PLAN_TIMEOUT
real_build = program.build

def stall(_):
    sys.stderr.write("stalling inside the event loop\\n")
    sys.stderr.flush()
    {stall}

def stalled_build(*args, **kwargs):
    outputs = real_build(*args, **kwargs)
    pulumi.Output.from_input(1).apply(stall)
    return outputs

program.build = stalled_build
sys.exit(cli.main(["plan", "--stack", "prod", "--project-dir", {repo!r}]))
"""


def run_stalled(stall: str, seconds: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "TERWAY_STACK_PLAN_TIMEOUT": str(seconds), "PYTHONPATH": str(REPO)}
    script = SCRIPT.format(seconds=seconds, stall=stall, repo=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=seconds + 60
    )


# A stall that catches whatever is raised into it, as any `except Exception` on the way does (the
# capacity figures' cloud look-up has one): an exception-based deadline is swallowed there.
SWALLOWING_STALL = """while True:
        try:
            time.sleep(3600)
        except Exception:
            pass"""


def test_a_stall_inside_the_event_loop_ends_the_process_with_one_line_and_exit_3():
    done = run_stalled(SWALLOWING_STALL, seconds=15)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3, done.stderr
    assert "stalling inside the event loop" in lines[0], done.stderr  # the stall was reached
    assert lines[1:] == ["error: internal error (the plan did not finish within 15 s); please report it with the input"]


def test_a_stall_holding_the_interpreter_lock_still_ends_the_process():
    # A catastrophic regex runs in C without releasing the lock: no Python thread can run, so the
    # kernel's alarm ends the process.
    done = run_stalled('re.fullmatch(r"(a+)+b", "a" * 64)', seconds=8)
    assert done.returncode in (3, -signal.SIGALRM), (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
