"""Issue 19, time: the offline plan's deadline ends the process even when the stall is inside the
event loop (the old SIGALRM exception was caught there: a traceback, and the plan ran on).

Each case runs the real CLI in a subprocess whose program stalls after declaring everything. The
subprocess timeout is only a guard against a hang of the test itself, far above the deadline.

The deadlines are a few seconds, and the backstop's grace is cut to 1 s: a case costs its deadline in
wall time, and the stall that holds the interpreter lock burns a core until the alarm. That is safe
because the script runs one whole plan first (imports and first-use loading done), after which the
stalled plan reaches its stall in about 0.05 s, a small part of its deadline even on a busy machine;
each case asserts that the stall was reached. Both cases start together (one fixture), so their waits
overlap.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# One worker runs both cases (`make test`: --dist loadgroup), so their shared fixture starts each once.
pytestmark = pytest.mark.xdist_group("plan-deadline")

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, re, sys, time
import pulumi
import terway_stack.program as program
import terway_stack.plan.cli as cli

ARGS = ["plan", "--stack", "prod", "--project-dir", {repo!r}]
cli.PLAN_TIMEOUT_SECONDS = {seconds}  # the same deadline for code that has no TERWAY_STACK_PLAN_TIMEOUT
cli.DEADLINE_GRACE_SECONDS = {grace}  # when the kernel's alarm follows the deadline

# One whole plan first, under a long deadline and with its output thrown away: what a plan loads on
# first use is loaded then, so the stalled plan below reaches its stall in a small part of its deadline
# however busy the machine is.
saved = os.dup(1), os.dup(2)
quiet = os.open(os.devnull, os.O_WRONLY)
os.dup2(quiet, 1), os.dup2(quiet, 2)
os.environ["TERWAY_STACK_PLAN_TIMEOUT"] = "120"
warm = cli.main(ARGS)
sys.stdout.flush(), sys.stderr.flush()
os.dup2(saved[0], 1), os.dup2(saved[1], 2)
if warm != 0:
    sys.exit(f"the warm-up plan exited {{warm}}")
os.environ["TERWAY_STACK_PLAN_TIMEOUT"] = "{seconds}"

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
sys.exit(cli.main(ARGS))
"""


def start_stalled(stall: str, seconds: int, grace: int = 1) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the script sets TERWAY_STACK_PLAN_TIMEOUT itself
    script = SCRIPT.format(seconds=seconds, grace=grace, stall=stall, repo=str(REPO))
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen, seconds: int) -> subprocess.CompletedProcess:
    try:
        stdout, stderr = process.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


# A stall that catches whatever is raised into it, as any `except Exception` on the way does (the
# capacity figures' cloud look-up has one): an exception-based deadline is swallowed there.
SWALLOWING_STALL = """while True:
        try:
            time.sleep(3600)
        except Exception:
            pass"""


# A catastrophic regex runs in C without releasing the lock: no Python thread can run, so the
# kernel's alarm ends the process.
LOCK_HOLDING_STALL = 're.fullmatch(r"(a+)+b", "a" * 64)'
SWALLOWING_SECONDS, LOCK_HOLDING_SECONDS = 3, 2


@pytest.fixture(scope="module")
def stalled_runs():
    """Both stalled runs, started at once; each test waits for its own."""
    started = {"swallowing": start_stalled(SWALLOWING_STALL, SWALLOWING_SECONDS),
               "lock-holding": start_stalled(LOCK_HOLDING_STALL, LOCK_HOLDING_SECONDS)}
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_a_stall_inside_the_event_loop_ends_the_process_with_one_line_and_exit_3(stalled_runs):
    done = finished(stalled_runs["swallowing"], SWALLOWING_SECONDS)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3, done.stderr
    assert "stalling inside the event loop" in lines[0], done.stderr  # the stall was reached
    assert lines[1:] == [f"error: internal error (the plan did not finish within {SWALLOWING_SECONDS} s); "
                         "please report it with the input"]


def test_a_stall_holding_the_interpreter_lock_still_ends_the_process(stalled_runs):
    done = finished(stalled_runs["lock-holding"], LOCK_HOLDING_SECONDS)
    assert "stalling inside the event loop" in done.stderr, done.stderr  # the stall was reached
    assert done.returncode in (3, -signal.SIGALRM), (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
