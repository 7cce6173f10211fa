"""The fleet run's progress lines and its Markdown and JSON reports (pure: data in, text out)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..plan import markdown as md
from .model import CONVERGED, DRIFTED, FAILED, INTERRUPTED, SKIPPED, StackOutcome
from .selection import Wave

RESULT_OK, RESULT_FAILED, RESULT_INTERRUPTED, RESULT_DRIFT = "ok", "failed", "interrupted", "drift"


def progress_line(command: str, wave: str, stack: str, message: str) -> str:
    return f"fleet {command} [{wave}] {stack}: {message}"


@dataclass
class FleetReport:
    command: str  # preview, up, drift
    waves: list[Wave]
    outcomes: list[StackOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failure(self) -> Optional[StackOutcome]:
        return next((o for o in self.outcomes if o.status == FAILED), None)

    @property
    def drifted(self) -> list[StackOutcome]:
        return [o for o in self.outcomes if o.status == DRIFTED]

    @property
    def result(self) -> str:
        if self.interrupted:
            return RESULT_INTERRUPTED
        if self.failure:
            return RESULT_FAILED
        if self.drifted:
            return RESULT_DRIFT
        return RESULT_OK

    def headline(self) -> str:
        failure = self.failure
        if self.result == RESULT_INTERRUPTED:
            return (f"fleet {self.command}: interrupted: in-flight operations were cancelled the graceful way (each stack's lock "
                    "is released), stacks not started are untouched")
        if failure:
            gate = failure.failed_gate
            gate_name = gate.name if gate else "operation"
            reason = gate.reason if gate else failure.error
            return f"fleet {self.command}: FAILED in {failure.wave} at stack {failure.stack}, gate {gate_name}: {reason}"
        if self.drifted:
            found = "; ".join(
                f"{o.stack}: " + ", ".join(f"{c.name} ({', '.join(c.keys) or c.op})" for c in o.changes) for o in self.drifted
            )
            return f"fleet {self.command}: drift in {len(self.drifted)} stack(s): {found}"
        done = sum(1 for o in self.outcomes if o.status in (CONVERGED, SKIPPED))
        return f"fleet {self.command}: ok ({len(self.outcomes)} stacks, {done} converged)"

    def as_json(self) -> dict[str, Any]:
        failure = self.failure
        gate = failure.failed_gate if failure else None
        return {
            "command": self.command,
            "result": self.result,
            "failure": None if not failure else {
                "stack": failure.stack, "wave": failure.wave,
                "gate": gate.name if gate else "operation", "reason": gate.reason if gate else failure.error,
            },
            "waves": [{"label": w.label, "stacks": list(w.stacks)} for w in self.waves],
            "stacks": [o.as_json() for o in self.outcomes],
        }

    def render_json(self) -> str:
        return json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n"

    def render_markdown(self) -> str:
        parts = [f"# terway-stack fleet {md.text(self.command)}: {md.text(self.result)}", md.text(self.headline())]
        rows = []
        for o in self.outcomes:
            gate = o.failed_gate
            reason = (gate.reason if gate else o.error) or ""
            rows.append((md.text(o.wave), md.code(o.stack, cell=True), md.text(o.status),
                         md.code(gate.name, cell=True) if gate else " ", md.text(reason), f"{o.seconds:.0f}"))
        parts.append(md.table(("wave", "stack", "status", "failed gate", "reason", "seconds"), rows))
        changes = [(o, c) for o in self.outcomes for c in o.changes]
        if changes:
            change_rows = [(md.code(o.stack, cell=True), md.text(c.op), md.code(c.type, cell=True), md.code(c.name, cell=True),
                            md.text(", ".join(c.keys) or "-")) for o, c in changes]
            title = "Drift" if self.command == "drift" else "Pending changes"
            parts.append(f"## {title}\n\n" + md.table(("stack", "op", "type", "resource", "keys"), change_rows))
        return "\n\n".join(parts) + "\n"


def mark_untouched(waves: Sequence[Wave], outcomes: Sequence[StackOutcome], status: str) -> list[StackOutcome]:
    """An outcome for every stack of `waves` that has none yet (later waves after a stop)."""
    seen = {o.stack for o in outcomes}
    return [StackOutcome(s, w.label, status) for w in waves for s in w.stacks if s not in seen]


__all__ = ["FleetReport", "progress_line", "mark_untouched", "INTERRUPTED"]
