"""Polling a condition of the cluster until it holds, for the e2e seed and tests."""
from __future__ import annotations

import time
from typing import Callable


def wait_until(what: str, check: Callable[[], bool], timeout: float = 120, interval: float = 0.5) -> None:
    """Return once `check()` is true; TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")
