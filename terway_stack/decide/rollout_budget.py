"""How many Terway pods a rolling restart may take down at once, and when that is too many.

The runbook's failure is deleting every Terway pod at once: new pods on every node get no network
until terwayd is back, and every Felix re-lists together. A rolling restart replaces at most the
DaemonSet's `maxUnavailable` pods at a time, so a `maxUnavailable` of 100% (or any value reaching
every pod) is that same failure. The stack refuses a budget that takes all pods, or more than
`terway:terway.maxUnavailableShare` percent of them, down at once, unless
`terway:terway.confirmMaxUnavailable` is true. One pod at a time is always accepted: it is the
least any rolling restart does (on a one-node cluster it is also all of them).

The count follows the DaemonSet controller (pkg/controller/daemon/update.go, intstr
GetScaledValueFromIntOrPercent with roundUp=true): a percentage of the desired pods, rounded up.
"""
from __future__ import annotations

import math
from typing import Any, Optional

DEFAULT_MAX_UNAVAILABLE_SHARE = 25  # percent of the Terway pods of one DaemonSet
SHARE_KEY = "terway:terway.maxUnavailableShare"
CONFIRM_KEY = "terway:terway.confirmMaxUnavailable"


def unavailable_pods(max_unavailable: Any, desired: int) -> int:
    """maxUnavailable (an int or "N%") in pods for `desired` pods; ValueError for anything else."""
    if max_unavailable is None:
        return 1 if desired else 0  # the API server's default for DaemonSets
    if isinstance(max_unavailable, bool):
        raise ValueError(f"maxUnavailable {max_unavailable!r} is not a number or a percentage")
    if isinstance(max_unavailable, int):
        return max_unavailable
    text = str(max_unavailable).strip()
    digits = text[:-1] if text.endswith("%") else text
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"maxUnavailable {str(max_unavailable)[:40]!r} is not a number or a percentage")
    if text.endswith("%"):
        return math.ceil(desired * int(digits) / 100)
    return int(digits)


def budget_problem(max_unavailable: Any, desired: int, share_percent: int, confirmed: bool) -> Optional[str]:
    """Why a restart of a DaemonSet with this budget is refused; None when it may go ahead."""
    try:
        pods = unavailable_pods(max_unavailable, desired)
    except ValueError as err:
        return str(err)
    if confirmed or desired <= 0 or pods <= 1:
        return None
    if pods >= desired:
        too_many = f"all {desired} Terway pods"
    elif pods * 100 > share_percent * desired:
        too_many = f"{pods} of {desired} Terway pods, more than {share_percent}% ({SHARE_KEY})"
    else:
        return None
    return (
        f"maxUnavailable {max_unavailable}: a rolling restart would take {too_many} "
        f"down at once, and new pods on those nodes get no network until Terway is back. Lower its "
        f"maxUnavailable (Terway's chart uses 10%), or set {CONFIRM_KEY} true to go ahead"
    )
