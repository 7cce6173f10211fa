"""The Automation API layer's command runner: each Pulumi CLI runs in its own session and gets exactly
one SIGINT on cancel. A shell script stands in for the CLI here: it answers `version` and, for any
other command, runs until SIGINT, then exits as Pulumi does after a graceful cancel. The real CLI is
interrupted in e2e/tests/test_fleet.py (test_5)."""
import os
import stat
import threading
import time

import pytest
from pulumi.automation.errors import CommandError

from terway_stack.fleet.automation import _CancellableCommand

FAKE_PULUMI = """#!/bin/bash
if [ "$2" = version ] || [ "$1" = version ]; then echo v3.259.0; exit 0; fi
count=0
trap 'count=$((count+1)); echo "interrupt $count" >&2; [ $count -ge 1 ] && { sleep 0.3; echo "cancelled after $count" >&2; exit 255; }' INT
echo "running $*"
while true; do sleep 0.05; done
"""


@pytest.fixture
def command(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return _CancellableCommand(root=str(tmp_path))


def test_cancel_sends_one_sigint_to_each_running_cli_in_its_own_session(command, tmp_path):
    errors, started = [], []

    def run():
        try:
            command.run(["up", "--stack", "a"], str(tmp_path), {}, on_output=started.append)
        except CommandError as err:
            errors.append(err)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 10
    while len(started) < 2 and time.monotonic() < deadline:  # both have set their SIGINT trap
        time.sleep(0.02)
    pids = [p.pid for p in command._running]
    assert len(pids) == 2 and all(os.getsid(pid) == pid for pid in pids)  # a terminal's Ctrl-C cannot reach them
    assert command.cancel_all() == 2
    assert command.running() == 2 and command.cancel_all() == 0  # still cancelling: a second cancel signals nothing
    for w in workers:
        w.join(10)
    assert len(errors) == 2
    for err in errors:
        text = str(err)
        assert "interrupt 1" in text and "interrupt 2" not in text and "cancelled after 1" in text


def test_nothing_starts_after_a_cancel(command, tmp_path):
    command.cancel_all()
    with pytest.raises(CommandError, match="cancelled before it started"):
        command.run(["up"], str(tmp_path), {})
