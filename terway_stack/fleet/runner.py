"""Drive waves of stacks through the operations layer: bounded parallelism inside a wave, a health
gate after each stack's up, stop at the first failing wave, skip stacks already converged, and end
cleanly on an interrupt (no new operation starts; in-flight ones are cancelled gracefully).

`ops` is anything with the methods of `automation.FleetWorkspace` used below, plus `health(stack)`;
unit tests pass a stand-in.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence

from .gates import health_gates
from .model import (CLEAN, CONVERGED, DRIFTED, FAILED, GATE_OPERATION, INTERRUPTED, PREVIEWED, SKIPPED,
                    UNTOUCHED, Gate, StackOutcome)
from .report import FleetReport, mark_untouched, progress_line
from .selection import Wave


@dataclass(frozen=True)
class HealthFacts:
    outputs: Mapping[str, Any]
    typha_deployment: Optional[Mapping[str, Any]]
    daemon_sets: Mapping[str, Optional[Mapping[str, Any]]]


class Ops(Protocol):
    def preview(self, stack: str, progress: Callable[[str], None], refresh: bool = False) -> Any: ...
    def up(self, stack: str, progress: Callable[[str], None]) -> Any: ...
    def health(self, stack: str) -> HealthFacts: ...
    def cancel_all(self) -> int: ...


class Interrupt:
    """Set from the SIGINT handler: stop starting stacks, cancel the running ones once."""

    def __init__(self, ops: Ops):
        self.ops = ops
        self.event = threading.Event()

    def __call__(self, *_args: Any) -> None:
        if not self.event.is_set():
            self.event.set()
            self.ops.cancel_all()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


class FleetRunner:
    def __init__(self, ops: Ops, command: str, parallel: int = 1, emit: Callable[[str], None] = print,
                 interrupt: Optional[Interrupt] = None):
        if parallel < 1:
            raise ValueError("--parallel must be >= 1")
        self.ops, self.command, self.parallel, self.emit = ops, command, parallel, emit
        self.interrupt = interrupt or Interrupt(ops)
        self._emit_lock = threading.Lock()

    def _say(self, wave: Wave, stack: str) -> Callable[[str], None]:
        def say(message: str) -> None:
            with self._emit_lock:
                self.emit(progress_line(self.command, wave.label, stack, message))
        return say

    # --- one stack ----------------------------------------------------------------------------------

    def gates(self, stack: str, say: Callable[[str], None], follow_up: Any = None) -> tuple[list[Gate], list]:
        """The health gate; `follow_up` is a preview already made (else one is run now)."""
        follow_up = follow_up or self.ops.preview(stack, say)
        if follow_up.error:
            return [Gate("follow-up-preview", False, follow_up.error)], []
        try:
            facts = self.ops.health(stack)
        except Exception as err:  # an unreachable cluster fails the gate, it does not crash the run
            return [Gate("cluster-read", False, f"{type(err).__name__}: {err}")], follow_up.changes
        return health_gates(facts.outputs, facts.typha_deployment, facts.daemon_sets, follow_up.changes), follow_up.changes

    def _up(self, wave: Wave, stack: str) -> StackOutcome:
        say = self._say(wave, stack)
        start = time.monotonic()
        say("checking whether already converged")
        check = self.ops.preview(stack, say)
        if not check.error and not check.changes:  # nothing to apply: converged if healthy
            gates, _ = self.gates(stack, say, follow_up=check)
            if all(g.passed for g in gates):
                say("already converged: skipped")
                return StackOutcome(stack, wave.label, SKIPPED, gates, seconds=time.monotonic() - start)
        if self.interrupt.requested:
            return StackOutcome(stack, wave.label, INTERRUPTED, error="interrupted before up")
        say("up started")
        done = self.ops.up(stack, say)
        if done.error:
            status = INTERRUPTED if self.interrupt.requested else FAILED
            say(f"up failed: {done.error}")
            return StackOutcome(stack, wave.label, status, [Gate(GATE_OPERATION, False, done.error)],
                                summary=done.summary, seconds=time.monotonic() - start)
        say(f"up done: {_summary(done.summary)}")
        gates, pending = self.gates(stack, say)
        for gate in gates:
            say(f"gate {gate.name}: {'ok' if gate.passed else 'FAILED'}: {gate.reason}")
        status = CONVERGED if all(g.passed for g in gates) else FAILED
        return StackOutcome(stack, wave.label, status, gates, pending, done.summary, time.monotonic() - start)

    def _preview(self, wave: Wave, stack: str, refresh: bool) -> StackOutcome:
        say = self._say(wave, stack)
        start = time.monotonic()
        say("refresh-preview started" if refresh else "preview started")
        done = self.ops.preview(stack, say, refresh=refresh)
        seconds = time.monotonic() - start
        if done.error:
            say(f"failed: {done.error}")
            status = INTERRUPTED if self.interrupt.requested else FAILED
            return StackOutcome(stack, wave.label, status, [Gate(GATE_OPERATION, False, done.error)], seconds=seconds)
        for change in done.changes:
            say(("DRIFT " if refresh else "") + change.describe())
        status = (DRIFTED if done.changes else CLEAN) if refresh else PREVIEWED
        say(f"{status}: {_summary(done.summary)}")
        return StackOutcome(stack, wave.label, status, changes=done.changes, summary=done.summary, seconds=seconds)

    def run_stack(self, wave: Wave, stack: str) -> StackOutcome:
        if self.command == "up":
            return self._up(wave, stack)
        return self._preview(wave, stack, refresh=self.command == "drift")

    # --- waves --------------------------------------------------------------------------------------

    def run(self, waves: Sequence[Wave]) -> FleetReport:
        report = FleetReport(self.command, list(waves))
        stop_after_failure = self.command == "up"
        for wave in waves:
            if self.interrupt.requested or (stop_after_failure and report.failure):
                break
            self.emit(f"fleet {self.command} [{wave.label}]: {len(wave.stacks)} stack(s), up to {self.parallel} at a time")
            report.outcomes.extend(self._run_wave(wave, stop_after_failure))
        later = UNTOUCHED
        report.outcomes.extend(mark_untouched(waves, report.outcomes, later))
        report.interrupted = self.interrupt.requested
        return report

    def _run_wave(self, wave: Wave, stop_on_failure: bool) -> list[StackOutcome]:
        outcomes: list[StackOutcome] = []
        queue = list(wave.stacks)
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            while queue or running:
                halted = self.interrupt.requested or (stop_on_failure and any(o.status == FAILED for o in outcomes))
                while queue and len(running) < self.parallel and not halted:
                    stack = queue.pop(0)
                    running[pool.submit(self.run_stack, wave, stack)] = stack
                if halted:
                    outcomes.extend(StackOutcome(s, wave.label, UNTOUCHED) for s in queue)
                    queue.clear()
                if not running:
                    break
                done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    stack = running.pop(future)
                    try:
                        outcomes.append(future.result())
                    except Exception as err:  # a bug in a layer below: the stack fails, the run goes on cleanly
                        outcomes.append(StackOutcome(stack, wave.label, FAILED, [Gate(GATE_OPERATION, False, f"{type(err).__name__}: {err}")]))
        order = {s: i for i, s in enumerate(wave.stacks)}
        return sorted(outcomes, key=lambda o: order[o.stack])


def _summary(summary: Mapping[str, int]) -> str:
    shown = [f"{n} {op}" for op, n in sorted(summary.items()) if n]
    return ", ".join(shown) or "nothing"
