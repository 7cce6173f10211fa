"""The stack outputs other stacks read: names, types, descriptions and examples, in ONE place.

Read by the program (`declare/stack.py` exports exactly these names, in this order), by the README's
outputs table (`tests/test_outputs_contract.py` fails when the README disagrees; print the table with
`python -m terway_stack.outputs_contract`), by the mock-runtime and plan tests (every value has its
type), and by the e2e consumer stack (`e2e/consumer`, which reads them through a StackReference).

To add an output: append an `Output(...)` here, return its value from `declare/stack.py`, paste the
new README table. Renaming or retyping one breaks every consumer, so `tests/test_outputs_contract.py`
also pins the published names and types: such a change has to edit that list on purpose.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional


def _is_int(value: Any) -> bool:
    # Pulumi carries every number as a double: a Python consumer reads 6 as 6.0.
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class OutputType:
    """A JSON type as a consumer sees it, with the README's way of writing it.

    `restore_nulls` puts back the null members that Pulumi's Python SDK drops when it deserializes a
    value (a StackReference read): `{"usableHeadroomIps": null}` arrives as `{}`.
    """

    readme: str
    check: Callable[[Any], bool]
    restore_nulls: Callable[[Any], Any] = _same

    @property
    def nullable(self) -> bool:
        return self.check(None)


STRING = OutputType("string", _is_str)
INTEGER = OutputType("int", _is_int)
OPTIONAL_STRING = OutputType("string or null", lambda v: v is None or _is_str(v))
STRING_LIST = OutputType("list of strings", lambda v: isinstance(v, list) and all(map(_is_str, v)))
ZONE_TO_STRING = OutputType(
    "map zone -> string", lambda v: isinstance(v, dict) and all(_is_str(k) and _is_str(x) for k, x in v.items())
)
ZONE_TO_INTEGER = OutputType(
    "map zone -> int", lambda v: isinstance(v, dict) and all(_is_str(k) and _is_int(x) for k, x in v.items())
)


_maybe_int = lambda v: v is None or _is_int(v)  # noqa: E731 - null where a figure is unknown
_str_list = lambda v: isinstance(v, list) and all(map(_is_str, v))  # noqa: E731
_map_of = lambda check: lambda v: isinstance(v, dict) and all(_is_str(k) and check(x) for k, x in v.items())  # noqa: E731

# One zone of `podIpCapacity` (decide/capacity.py ZoneCapacity.as_output): field -> check.
ZONE_CAPACITY_FIELDS: dict[str, Callable[[Any], bool]] = {
    "nodes": _maybe_int,
    "nodesByMode": _map_of(_is_int),  # shared / exclusive / prefix, each node's own mode
    "nodesByInstanceType": _map_of(_is_int),
    "maxPodsPerNode": _map_of(_maybe_int),  # "<instance type> <mode>" -> pods
    "nodesCanAttachEni": _maybe_int,
    "nodesAtEniLimit": _maybe_int,  # a new vSwitch gives them nothing: they need new nodes
    "nodesEniStateUnknown": _maybe_int,
    "minPoolSize": _is_int,
    "warmIps": _maybe_int,  # information only: availableIps already leaves them out
    "vswitches": _str_list,
    "newVSwitchCidrs": _str_list,
    "availableIps": _maybe_int,
    "addedIps": _maybe_int,
    "newEniIps": _maybe_int,
    "addedUsableIps": _maybe_int,
    "usableHeadroomIps": _maybe_int,
    "worstCaseIps": _maybe_int,
    "unknown": _str_list,
}


def _zone_capacity(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(ZONE_CAPACITY_FIELDS)
        and all(check(value[name]) for name, check in ZONE_CAPACITY_FIELDS.items())
    )


NULLABLE_ZONE_FIELDS = tuple(name for name, check in ZONE_CAPACITY_FIELDS.items() if check(None))


def _restore_zone_nulls(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {
        zone: {**{f: None for f in NULLABLE_ZONE_FIELDS}, **figures} if isinstance(figures, dict) else figures
        for zone, figures in value.items()
    }


ZONE_TO_CAPACITY = OutputType("map zone -> object", _map_of(_zone_capacity), _restore_zone_nulls)


def one_of(*values: str) -> OutputType:
    return OutputType(" \\| ".join(f"`{v}`" for v in values), lambda v: v in values)


@dataclass(frozen=True)
class Output:
    name: str
    type: OutputType
    description: str
    example: str  # the README's example column (Markdown)

    def problem(self, value: Any) -> Optional[str]:
        if self.type.check(value):
            return None
        return f"output {self.name}: {value!r} is not {self.type.readme.replace(chr(92), '')}"


CONTRACT: tuple[Output, ...] = (
    Output("clusterName", STRING, "`terway:cluster.name`", "`prod-shanghai`"),
    Output("networkPolicyMode", one_of("typha", "disabled", "direct"), "`terway:networkPolicy`", "`typha`"),
    Output("typhaServiceName", OPTIONAL_STRING, "the Service Felix relays through", "`calico-typha` (null unless mode `typha`)"),
    Output("typhaReplicas", INTEGER, "Typha Deployment replicas", "`6` (0 unless mode `typha`)"),
    Output("podVSwitchIds", ZONE_TO_STRING, "created and adopted pod vSwitches", '`{"cn-shanghai-f": "vsw-...", ...}`'),
    Output("podVSwitchCidrs", ZONE_TO_STRING, "CIDRs of the created pod vSwitches only", '`{"cn-shanghai-f": "10.0.32.0/19", ...}`'),
    Output(
        "podVSwitchUsableIps",
        ZONE_TO_INTEGER,
        "size minus the 4 addresses Alibaba Cloud reserves, created vSwitches only",
        '`{"cn-shanghai-f": 8188, ...}` (8188 for a /19)',
    ),
    Output("terwayDaemonSets", STRING_LIST, "the Terway DaemonSets the stack restarts", '`["terway-eniip"]`'),
    Output("eniConfigTrigger", STRING, "sha256 of the effective managed eni-config values, as written to the cluster", "64 hex digits"),
    Output(
        "podIpCapacity",
        ZONE_TO_CAPACITY,
        "pod-IP capacity per zone, see [Pod-IP capacity](#pod-ip-capacity-per-zone). Figures that could not be"
        " read are `null`, and `unknown` says why",
        '`{"cn-shanghai-f": {"nodes": 2, ..., "usableHeadroomIps": 132, "unknown": []}}`',
    ),
)

NAMES: tuple[str, ...] = tuple(o.name for o in CONTRACT)
BY_NAME: dict[str, Output] = {o.name: o for o in CONTRACT}


def exports(values: Mapping[str, Any]) -> dict[str, Any]:
    """The program's outputs, in contract order; any name off the contract is a programming error."""
    missing = [n for n in NAMES if n not in values]
    unknown = [n for n in values if n not in BY_NAME]
    if missing or unknown:
        raise ValueError(f"stack outputs differ from terway_stack/outputs_contract.py: missing {missing}, not in it {unknown}")
    return {name: values[name] for name in NAMES}


def problems(values: Mapping[str, Any], nulls_dropped: bool = False) -> list[str]:
    """Everything about resolved outputs that breaks the contract.

    `nulls_dropped=True` for values a Python program read through a StackReference: Pulumi's Python
    SDK drops every null member (a null output is missing, a null figure an absent key), so those
    count as null here. `pulumi stack output --json` of the stack itself keeps them.
    """
    if nulls_dropped:
        values = {**{o.name: None for o in CONTRACT if o.type.nullable}, **values}
        values = {n: BY_NAME[n].type.restore_nulls(v) if n in BY_NAME else v for n, v in values.items()}
    found = [f"output {n}: missing" for n in NAMES if n not in values]
    found += [f"output {n}: not in the contract" for n in values if n not in BY_NAME]
    found += [p for n in NAMES if n in values for p in [BY_NAME[n].problem(values[n])] if p]
    return found


def drop_nulls(value: Any) -> Any:
    """A value as Pulumi's Python SDK hands it to a StackReference reader: every null member dropped."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def readme_table() -> str:
    """The README's outputs table, rendered from the contract."""
    rows = [f"| `{o.name}` | {o.type.readme} | {o.description} | {o.example} |" for o in CONTRACT]
    return "\n".join(["| output | type | meaning | example (prod) |", "|---|---|---|---|", *rows])


if __name__ == "__main__":
    sys.stdout.write(readme_table() + "\n")
