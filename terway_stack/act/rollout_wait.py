"""Waiting for a Terway rollout: its status as a value, and a wait that ends by its deadline.

`RolloutStatus` is what one look at the DaemonSet shows: its counts, and where they fall short,
its pods node by node (decide/rollout_progress.py), so that a NotReady node is named instead of
holding the rollout open for ever. `wait_for_rollout` polls with backoff until the rollout is
complete or the deadline passes. Each look is given the time left as its request timeout, and a look
that fails because the API server is unreachable, slow or busy is retried, so a frozen API server
ends the wait at the deadline with the last status seen, never later. The clock is injected.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Optional

from ..decide.live_objects import max_unavailable
from ..decide.rollout_budget import unavailable_pods
from ..decide.rollout_progress import NodeProgress
from .kube import KubeError, is_transient


class RolloutError(Exception):
    """A restart that cannot start or did not finish. Messages never contain the kubeconfig."""


@dataclass(frozen=True)
class RolloutStatus:
    generation: int
    observed_generation: int
    desired: int
    updated: int
    available: int
    unavailable: int
    ready: int
    max_unavailable: Any
    nodes: Optional[NodeProgress] = None  # node by node, when the counts alone do not finish it

    @classmethod
    def of(cls, ds: Mapping[str, Any], nodes: Optional[NodeProgress] = None) -> "RolloutStatus":
        status = ds.get("status") or {}
        return cls(
            generation=int((ds.get("metadata") or {}).get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
            desired=int(status.get("desiredNumberScheduled") or 0),
            updated=int(status.get("updatedNumberScheduled") or 0),
            available=int(status.get("numberAvailable") or 0),
            unavailable=int(status.get("numberUnavailable") or 0),
            ready=int(status.get("numberReady") or 0),
            max_unavailable=max_unavailable(ds),
            nodes=nodes,
        )

    def observed(self) -> bool:
        return self.generation <= self.observed_generation

    def counts_complete(self) -> bool:
        """kubectl rollout status for DaemonSets, plus no pod left unavailable."""
        return (
            self.observed()
            and self.updated == self.desired
            and self.available == self.desired
            and self.unavailable == 0
        )

    def complete(self) -> bool:
        """Every pod on a Ready node updated and available (NotReady nodes are named, not waited for)."""
        if self.counts_complete():
            return True
        return self.observed() and self.nodes is not None and self.nodes.complete()

    def not_updated_nodes(self) -> tuple[str, ...]:
        return () if self.counts_complete() or self.nodes is None else self.nodes.not_ready

    def allowed_unavailable(self) -> int:
        """maxUnavailable in pods; DaemonSets round a percentage up (at least 1 unless surging)."""
        try:
            return unavailable_pods(self.max_unavailable, self.desired)
        except ValueError:  # the API server validates it; a hand-made status may not be
            return 0

    def describe(self) -> str:
        # Before the controller observes the new template its counts describe the old one.
        stale = "new template not yet observed; " if not self.observed() else ""
        text = stale + (
            f"{self.updated}/{self.desired} updated, {self.available}/{self.desired} available, "
            f"{self.unavailable} unavailable, {self.ready} ready "
            f"(generation {self.generation}, observed {self.observed_generation}, "
            f"maxUnavailable {self.max_unavailable} = {self.allowed_unavailable()})"
        )
        if self.nodes is not None and not self.counts_complete():
            text += f"; {self.nodes.describe()}"
        return text

    def outcome(self) -> str:
        """The closing line of a finished rollout."""
        missed = self.not_updated_nodes()
        if not missed:
            return f"rollout complete: all {self.desired} Terway pods updated and available"
        return (
            f"rollout complete on every Ready node ({self.desired - len(missed)}/{self.desired} pods); "
            f"not updated on NotReady node{'s' if len(missed) > 1 else ''} {', '.join(missed)}: their pods are "
            "replaced by the DaemonSet controller when the node is Ready again, with no further run"
        )


def timeout_message(namespace: str, name: str, status: Optional[RolloutStatus], timeout_seconds: int,
                    last_error: Optional[str] = None) -> str:
    seen = status.describe() if status is not None else "its status could not be read"
    stalled = ""
    if status is not None and status.nodes is not None and status.nodes.not_ready and \
            len(status.nodes.not_ready) >= max(1, status.allowed_unavailable()):
        stalled = (" The pods of the NotReady nodes count as unavailable and use up maxUnavailable, so the "
                   "DaemonSet controller cannot replace more pods until those nodes are Ready or removed.")
    unanswered = f" The last request failed: {last_error}." if last_error else ""
    return (
        f"DaemonSet {namespace}/{name} did not finish its rolling restart within {timeout_seconds}s: "
        f"{seen}.{stalled}{unanswered} The restart itself was applied; run `pulumi up` again to keep waiting "
        f"(it will not restart again), and check pods with "
        f"`kubectl -n {namespace} rollout status daemonset/{name}`."
    )


def backoff(initial: float = 0.5, factor: float = 1.6, cap: float = 5.0) -> Iterator[float]:
    delay = initial
    while True:
        yield delay
        delay = min(cap, delay * factor)


@dataclass(frozen=True)
class Deadline:
    """A point on the injected clock; requests made before it get at most the time left."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> "Deadline":
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return self.at - self.clock()

    def request_timeout(self, cap: float) -> float:
        """The timeout for one request: `cap`, cut to the time left (a small floor, never 0 = no timeout)."""
        return max(0.1, min(cap, self.remaining()))


def wait_for_rollout(
    read: Callable[[float], RolloutStatus],
    *,
    namespace: str,
    name: str,
    timeout_seconds: float,
    report: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Optional[Deadline] = None,
    request_timeout: float = 30.0,
) -> RolloutStatus:
    """Poll until the rollout completes; RolloutError with the last status at the deadline.

    `read(timeout)` makes one look with that request timeout. A transient KubeError from it (no
    answer in time, unreachable, 429/5xx) is retried until the deadline; any other error (the
    DaemonSet is gone, a 403) ends the wait at once.
    """
    start = clock()
    deadline = deadline or Deadline(start + timeout_seconds, clock)
    last_line, status, error = None, None, None
    delays = backoff()
    while True:
        try:
            status, error = read(deadline.request_timeout(request_timeout)), None
        except KubeError as err:
            if not is_transient(err):
                raise
            error = str(err)
            report(f"{error}; trying again until the deadline")
        if status is not None and error is None:
            line = status.describe()
            if line != last_line:  # one line per visible change, not per poll
                report(f"{line} after {clock() - start:.0f}s")
                last_line = line
            if status.complete():
                return status
        remaining = deadline.remaining()
        if remaining <= 0:
            raise RolloutError(timeout_message(namespace, name, status, int(timeout_seconds), error))
        sleep(min(next(delays), remaining))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
