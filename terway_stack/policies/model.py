"""Plain data the policy rules work on, shared by the offline plan, the CrossGuard pack and tests.

A resource is what the engine (or the mock runtime) saw the program declare: its type token, logical
name, props in the engine's camelCase names, and the resource options that matter to a rule.
Values the engine cannot know yet during a preview are the `UNKNOWN` marker, never a guess.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional, Sequence


class _Unknown:
    """A value that is only known after the update (preview of a not-yet-created resource)."""

    _instance: Optional["_Unknown"] = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

MANDATORY = "mandatory"
ADVISORY = "advisory"
DISABLED = "disabled"


def known(value: Any) -> bool:
    return value is not UNKNOWN


@dataclass(frozen=True)
class PlanResource:
    """One declared resource.

    options: engine option names; `retainOnDelete` absent means "not visible" (the real engine does
    not pass it to policy packs), which is different from False.
    property_dependencies: input name -> logical names of the resources that input was computed from
    (how a SNAT entry names its vSwitch before the vSwitch has an id).
    """

    type: str
    name: str
    props: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    id: Optional[str] = None
    urn: Optional[str] = None
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def from_recorded(cls, record: Any) -> "PlanResource":
        """Adapter for terway_stack.plan.mocks.RecordedResource (type, name, inputs, options, id)."""
        return cls(
            type=record.type,
            name=record.name,
            props=dict(record.inputs),
            options=dict(getattr(record, "options", None) or {}),
            id=getattr(record, "id", None),
        )


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str  # "mandatory" | "advisory"
    message: str
    resource: Optional[str]  # logical name, None for the stack as a whole

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """What a rule reports before enforcement is attached: a message and the resource it is about."""

    message: str
    resource: Optional[PlanResource] = None


def dig(value: Any, *path: Any) -> Any:
    """value[path[0]][path[1]]...; None when a step is missing, UNKNOWN when a step is unknown."""
    for step in path:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(value, (list, tuple)) or not -len(value) <= step < len(value):
                return None
        elif not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def as_number(value: Any) -> Optional[float]:
    """The engine sends every number as a float (protobuf Struct); strings of digits count too."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def show(number: Any) -> str:
    """3.0 -> "3" for messages."""
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)
