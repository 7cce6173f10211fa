"""The program entry's behaviour when the engine cancels the run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the Python language host does after a failed check: interrupt the program while it awaits the engine.
PROGRAM = """
import os, signal, time
from terway_stack.program import exit_quietly_when_cancelled
exit_quietly_when_cancelled()
os.kill(os.getpid(), signal.SIGINT)
time.sleep(5)
print("still running")
"""


def test_an_interrupt_from_the_language_host_ends_the_program_without_a_traceback():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "KeyboardInterrupt" not in result.stderr
    assert "still running" not in result.stdout
