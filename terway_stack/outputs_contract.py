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
from typing import Any, Callable, Literal, Mapping, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from typing_extensions import Annotated

from .decide.facts import NETWORK_POLICY_MODES


def _whole(value: float) -> float:
    if not value.is_integer():
        raise ValueError("not a whole number")
    return value


# Pulumi carries every number as a double: a Python consumer reads 6 as 6.0. Never a bool, never "6".
Int = Union[StrictInt, Annotated[float, Field(strict=True), AfterValidator(_whole)]]
String = StrictStr
StringList = Annotated[list[String], Field(strict=True)]


def _zone_map(value_type: Any) -> Any:
    """zone -> value; strict, so a list of pairs or another mapping type is not one."""
    return Annotated[dict[String, value_type], Field(strict=True)]


class ZoneCapacityOutput(BaseModel):
    """One zone of `podIpCapacity`: the figures decide/capacity.py computes, named as consumers read them.

    Every field is required; null where a figure could not be read, and `unknown` says why.
    """

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", strict=True, frozen=True)

    nodes: Optional[Int]
    nodes_by_mode: _zone_map(Int)  # shared / exclusive / prefix: each node's own mode
    nodes_by_instance_type: _zone_map(Int)
    max_pods_per_node: _zone_map(Optional[Int])  # "<instance type> <mode>" -> pods
    nodes_can_attach_eni: Optional[Int]
    nodes_at_eni_limit: Optional[Int]  # a new vSwitch gives them nothing: they need new nodes
    nodes_eni_state_unknown: Optional[Int]
    min_pool_size: Int
    warm_ips: Optional[Int]  # information only: available_ips already leaves them out
    vswitches: StringList
    new_vswitch_cidrs: StringList = Field(alias="newVSwitchCidrs")
    available_ips: Optional[Int]
    added_ips: Optional[Int]
    new_eni_ips: Optional[Int]
    added_usable_ips: Optional[Int]
    usable_headroom_ips: Optional[Int]
    worst_case_ips: Optional[Int]
    # trunk nodes' member ENIs in all (aliyun/member-eni): one pod and one IP each, from a PodNetworking's
    # vSwitchOptions, so outside newEniIps; 0 without trunking
    trunk_member_enis: Optional[Int]
    unknown: StringList

    @classmethod
    def of(cls, **figures: Any) -> "ZoneCapacityOutput":
        """From the figures by field name (decide/capacity.py ZoneCapacity.as_output)."""
        return cls.model_validate(figures, by_alias=False, by_name=True)

    @classmethod
    def read(cls, zone: Mapping[str, Any]) -> "ZoneCapacityOutput":
        """A zone of the output as the program exported it (camelCase keys)."""
        return cls.model_validate(dict(zone))

    def as_output(self) -> dict[str, Any]:
        """The stack output's per-zone object (camelCase, like every output)."""
        return self.model_dump(by_alias=True)


def _restore_zone_nulls(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {
        zone: {**{f: None for f in NULLABLE_ZONE_FIELDS}, **figures} if isinstance(figures, dict) else figures
        for zone, figures in value.items()
    }


def _same(value: Any) -> Any:
    return value


class OutputType:
    """A JSON type as a consumer sees it (a pydantic type), with the README's way of writing it.

    `restore_nulls` puts back the null members that Pulumi's Python SDK drops when it deserializes a
    value (a StackReference read): `{"usableHeadroomIps": null}` arrives as `{}`.
    """

    def __init__(self, readme: str, annotation: Any, restore_nulls: Callable[[Any], Any] = _same):
        self.readme = readme
        self.restore_nulls = restore_nulls
        self._adapter = TypeAdapter(annotation)

    def check(self, value: Any) -> bool:
        try:
            self._adapter.validate_python(value, strict=True)
        except ValidationError:
            return False
        return True

    @property
    def nullable(self) -> bool:
        return self.check(None)


NULLABLE_ZONE_FIELDS = tuple(
    field.alias for field in ZoneCapacityOutput.model_fields.values() if OutputType("", field.annotation).nullable
)

STRING = OutputType("string", String)
INTEGER = OutputType("int", Int)
OPTIONAL_STRING = OutputType("string or null", Optional[String])
STRING_LIST = OutputType("list of strings", StringList)
ZONE_TO_STRING = OutputType("map zone -> string", _zone_map(String))
ZONE_TO_INTEGER = OutputType("map zone -> int", _zone_map(Int))
ZONE_TO_CAPACITY = OutputType("map zone -> object", _zone_map(ZoneCapacityOutput), _restore_zone_nulls)


def one_of(*values: str) -> OutputType:
    return OutputType(" \\| ".join(f"`{v}`" for v in values), Literal[values])


# Names the offline plan reads back from the outputs (plan/report.py).
POD_VSWITCH_USABLE_IPS = "podVSwitchUsableIps"
POD_IP_CAPACITY = "podIpCapacity"


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
    Output("networkPolicyMode", one_of(*NETWORK_POLICY_MODES), "`terway:networkPolicy`", "`typha`"),
    Output("typhaServiceName", OPTIONAL_STRING, "the Service Felix relays through", "`calico-typha` (null unless mode `typha`)"),
    Output("typhaReplicas", INTEGER, "Typha Deployment replicas", "`6` (0 unless mode `typha`)"),
    Output("podVSwitchIds", ZONE_TO_STRING, "created and adopted pod vSwitches", '`{"cn-shanghai-f": "vsw-...", ...}`'),
    Output("podVSwitchCidrs", ZONE_TO_STRING, "CIDRs of the created pod vSwitches only", '`{"cn-shanghai-f": "10.0.32.0/19", ...}`'),
    Output(
        POD_VSWITCH_USABLE_IPS,
        ZONE_TO_INTEGER,
        "size minus the 4 addresses Alibaba Cloud reserves, created vSwitches only",
        '`{"cn-shanghai-f": 8188, ...}` (8188 for a /19)',
    ),
    Output("terwayDaemonSets", STRING_LIST, "the Terway DaemonSets the stack restarts", '`["terway-eniip"]`'),
    Output("eniConfigTrigger", STRING, "sha256 of the effective managed eni-config values, as written to the cluster", "64 hex digits"),
    Output(
        POD_IP_CAPACITY,
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
