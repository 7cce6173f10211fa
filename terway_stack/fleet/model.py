"""Plain data passed between the fleet's layers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

# What a stack's run ended as.
CONVERGED = "converged"  # gates passed (after an up, or already so at the start of a resumed run)
SKIPPED = "skipped"  # already converged before this run: nothing was run
FAILED = "failed"
UNTOUCHED = "untouched"  # a later wave after a failure, or never started because of an interrupt
INTERRUPTED = "interrupted"
PREVIEWED = "previewed"
DRIFTED = "drifted"
CLEAN = "clean"

# The gates, in the order they are checked after a stack's up.
GATE_OPERATION = "operation"  # the up/preview itself
GATE_TYPHA = "typha-ready"
GATE_ROLLOUT = "terway-rollout"
GATE_CAPACITY = "capacity"
GATE_NO_CHANGES = "follow-up-preview"


@dataclass(frozen=True)
class StepChange:
    """One resource the engine would change (preview) or did change (up)."""

    op: str  # create, update, replace, delete, create-replacement, ...
    type: str
    name: str
    keys: tuple[str, ...] = ()  # property paths that differ, as precise as known

    def describe(self) -> str:
        keys = f" ({', '.join(self.keys)})" if self.keys else ""
        return f"{self.op} {self.type} {self.name}{keys}"


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    reason: str = ""


@dataclass
class StackOutcome:
    stack: str
    wave: str
    status: str
    gates: list[Gate] = field(default_factory=list)
    changes: list[StepChange] = field(default_factory=list)  # drift / preview findings
    summary: dict[str, int] = field(default_factory=dict)  # engine change summary of the operation
    seconds: float = 0.0
    error: str = ""

    @property
    def failed_gate(self) -> Optional[Gate]:
        return next((g for g in self.gates if not g.passed), None)

    def as_json(self) -> dict[str, Any]:
        failed = self.failed_gate
        return {
            "stack": self.stack,
            "wave": self.wave,
            "status": self.status,
            "failedGate": failed.name if failed else None,
            "reason": failed.reason if failed else (self.error or None),
            "gates": [{"gate": g.name, "passed": g.passed, "reason": g.reason} for g in self.gates],
            "changes": [{"op": c.op, "type": c.type, "name": c.name, "keys": list(c.keys)} for c in self.changes],
            "summary": dict(self.summary),
            "seconds": round(self.seconds, 1),
        }
