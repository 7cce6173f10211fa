"""Blocking Alibaba Cloud look-ups, retried where the provider's data sources do not retry.

Under pulumi-resource-alicloud 3.105.0 (terraform-provider-alicloud v1.285.0) the `vpcs`, `vswitches`
and `nat_gateways` data sources send their request once: a throttled answer (HTTP 400, code
`Throttling*`) ends the invoke. The provider's own resources and the EIP and instance-type data sources
retry such codes (`NeedRetry` in its errors.go). A look-up here is retried on the same codes; any other
failure, or the last throttled one, becomes one line naming the config key the look-up serves.
"""
from __future__ import annotations

import re
import time
from typing import Callable, TypeVar

from ..decide.problems import InputError, Problem

T = TypeVar("T")
RETRIED_CODES = re.compile(r"Throttling|ServiceUnavailable")  # the provider's NeedRetry codes
ATTEMPTS = 5
FIRST_WAIT_SECONDS = 1.0


def api_error(text: str) -> str:
    """`Code: message` out of a provider error (tea SDKError text), else its last non-empty line."""
    code = re.search(r"\bCode: (\S+)", text)
    message = re.search(r"\bMessage: (?:code: \d+, )?(.*?)(?: request id: .*)?$", text, re.M)
    if code:
        return f"{code.group(1)}: {message.group(1).strip()}" if message else code.group(1)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text


def read(what: str, key: str, look_up: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """`look_up()`, retried on throttling; an InputError naming `key` when it cannot be read."""
    wait = FIRST_WAIT_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return look_up()
        except InputError:
            raise
        except Exception as err:  # the SDK raises a bare Exception for a failed invoke
            text = str(err)
            if RETRIED_CODES.search(text) and attempt < ATTEMPTS:
                sleep(wait)
                wait *= 2
                continue
            tries = f" (after {attempt} attempts)" if attempt > 1 else ""
            raise InputError([Problem(key, f"cannot read {what} from Alibaba Cloud{tries}: {api_error(text)}")]) from None
    raise AssertionError("unreachable")
