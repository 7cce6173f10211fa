"""The outputs contract (`terway_stack/outputs_contract.py`) is what the program exports, what the README
documents, and what consumers were promised."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from terway_stack import outputs_contract as contract

ROOT = Path(__file__).resolve().parents[1]

# What consumers have been promised: (name, type as the README writes it). Renaming or retyping an
# output breaks every StackReference that reads it, so this list is edited only on purpose. Adding
# an output is not a break: new names may appear in the contract without being listed here.
PUBLISHED = [
    ("clusterName", "string"),
    ("networkPolicyMode", "`typha` \\| `disabled` \\| `direct`"),
    ("typhaServiceName", "string or null"),
    ("typhaReplicas", "int"),
    ("podVSwitchIds", "map zone -> string"),
    ("podVSwitchCidrs", "map zone -> string"),
    ("podVSwitchUsableIps", "map zone -> int"),
    ("terwayDaemonSets", "list of strings"),
    ("eniConfigTrigger", "string"),
    ("podIpCapacity", "map zone -> object"),
]


def test_no_published_output_is_renamed_retyped_or_removed():
    current = {o.name: o.type.readme for o in contract.CONTRACT}
    assert {name: current.get(name) for name, _ in PUBLISHED} == dict(PUBLISHED)
    assert list(contract.NAMES)[: len(PUBLISHED)] == [n for n, _ in PUBLISHED]  # new ones go at the end


def readme_outputs_table() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Stack outputs", 1)[1]
    match = re.search(r"^\| output \|.*?(?=\n\n)", section, re.S | re.M)
    assert match, "README.md has no outputs table under '## Stack outputs'"
    return match.group(0)


def test_readme_outputs_table_is_the_contract():
    assert readme_outputs_table() == contract.readme_table(), (
        "README.md's outputs table differs from terway_stack/outputs_contract.py; "
        "paste the output of `python -m terway_stack.outputs_contract`"
    )


PROD_LIKE = {
    "clusterName": "prod-shanghai",
    "networkPolicyMode": "typha",
    "typhaServiceName": "calico-typha",
    "typhaReplicas": 6,
    "podVSwitchIds": {"cn-shanghai-f": "vsw-a"},
    "podVSwitchCidrs": {"cn-shanghai-f": "10.0.32.0/19"},
    "podVSwitchUsableIps": {"cn-shanghai-f": 8188},
    "terwayDaemonSets": ["terway-eniip"],
    "eniConfigTrigger": "0" * 64,
    "podIpCapacity": {
        # 2 shared ecs.g7.4xlarge nodes (8 ENIs x 30 IPs): one at its 7 pod ENIs, one with 3 attached.
        "cn-shanghai-f": {
            "nodes": 2, "nodesByMode": {"shared": 2, "exclusive": 0, "prefix": 0},
            "nodesByInstanceType": {"ecs.g7.4xlarge": 2}, "maxPodsPerNode": {"ecs.g7.4xlarge shared": 210},
            "nodesCanAttachEni": 1, "nodesAtEniLimit": 1, "nodesEniStateUnknown": 0,
            "minPoolSize": 10, "warmIps": 20, "vswitches": ["vsw-a"], "newVSwitchCidrs": ["10.0.32.0/19"],
            "availableIps": 12, "addedIps": 8188, "newEniIps": 120, "addedUsableIps": 120, "usableHeadroomIps": 132,
            "worstCaseIps": 420, "trunkMemberEnis": 0, "unknown": [],
        },
        "cn-shanghai-g": {  # nothing could be read: null figures, `unknown` says why
            "nodes": None, "nodesByMode": {}, "nodesByInstanceType": {}, "maxPodsPerNode": {},
            "nodesCanAttachEni": None, "nodesAtEniLimit": None, "nodesEniStateUnknown": None,
            "minPoolSize": 0, "warmIps": None, "vswitches": [], "newVSwitchCidrs": [], "availableIps": None,
            "addedIps": None, "newEniIps": None, "addedUsableIps": None, "usableHeadroomIps": None,
            "worstCaseIps": None, "trunkMemberEnis": None, "unknown": ["nodes: not read"],
        },
    },
}

# The fields of one podIpCapacity zone. Changed on purpose (issue 18): `headroom` (available + added
# - warm) counted warm IPs twice and counted a new vSwitch for nodes at their ENI limit; it is gone,
# and `usableHeadroomIps` with the per-node figures replace it.
PUBLISHED_ZONE_FIELDS = [
    "nodes", "nodesByMode", "nodesByInstanceType", "maxPodsPerNode", "nodesCanAttachEni", "nodesAtEniLimit",
    "nodesEniStateUnknown", "minPoolSize", "warmIps", "vswitches", "newVSwitchCidrs", "availableIps", "addedIps",
    "newEniIps", "addedUsableIps", "usableHeadroomIps", "worstCaseIps", "trunkMemberEnis", "unknown",
]


def test_capacity_zone_fields_are_the_published_ones():
    fields = [f.alias or f.name for f in contract.ZoneCapacityOutput.model_fields.values()]
    assert fields == PUBLISHED_ZONE_FIELDS and "headroom" not in fields


def test_a_conforming_set_of_outputs_has_no_problem():
    assert contract.problems(PROD_LIKE) == []
    # A Python consumer reads numbers as floats (the engine carries doubles): still an int.
    assert contract.problems({**PROD_LIKE, "typhaReplicas": 6.0, "podVSwitchUsableIps": {"z": 8188.0}}) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"typhaReplicas": "6"}, "output typhaReplicas: '6' is not int"),
        ({"typhaReplicas": 6.5}, "output typhaReplicas: 6.5 is not int"),
        ({"typhaReplicas": True}, "output typhaReplicas: True is not int"),
        ({"networkPolicyMode": "calico"}, "output networkPolicyMode: 'calico' is not `typha` | `disabled` | `direct`"),
        ({"podVSwitchIds": ["vsw-a"]}, "output podVSwitchIds: ['vsw-a'] is not map zone -> string"),
        ({"terwayDaemonSets": "terway-eniip"}, "output terwayDaemonSets: 'terway-eniip' is not list of strings"),
        ({"typhaServiceName": 0}, "output typhaServiceName: 0 is not string or null"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_a_retyped_output_is_a_problem(change, expected):
    assert contract.problems({**PROD_LIKE, **change}) == [expected]


def test_a_renamed_output_is_a_problem_both_ways():
    renamed = dict(PROD_LIKE)
    renamed["typhaReplicaCount"] = renamed.pop("typhaReplicas")
    assert contract.problems(renamed) == ["output typhaReplicas: missing", "output typhaReplicaCount: not in the contract"]
    with pytest.raises(ValueError, match=r"missing \['typhaReplicas'\], not in it \['typhaReplicaCount'\]"):
        contract.exports(renamed)


def test_exports_follow_the_contract_order():
    assert list(contract.exports(dict(reversed(list(PROD_LIKE.items()))))) == list(contract.NAMES)


@pytest.mark.parametrize(
    "field, value",
    [("usableHeadroomIps", "lots"), ("nodes", 2.5), ("vswitches", "vsw-a"), ("unknown", None), ("maxPodsPerNode", {"ecs.x": "210"})],
)
def test_a_retyped_capacity_figure_is_a_problem(field, value):
    zone = {**PROD_LIKE["podIpCapacity"]["cn-shanghai-f"], field: value}
    assert contract.problems({**PROD_LIKE, "podIpCapacity": {"cn-shanghai-f": zone}}) == [
        f"output podIpCapacity: {{'cn-shanghai-f': {zone!r}}} is not map zone -> object"
    ]


def test_a_renamed_or_missing_capacity_figure_is_a_problem():
    zone = dict(PROD_LIKE["podIpCapacity"]["cn-shanghai-f"])
    zone["headroom"] = zone.pop("usableHeadroomIps")
    assert contract.problems({**PROD_LIKE, "podIpCapacity": {"cn-shanghai-f": zone}}) != []


def test_outputs_read_through_a_stack_reference_have_their_nulls_dropped_and_still_conform():
    disabled = {**PROD_LIKE, "networkPolicyMode": "disabled", "typhaServiceName": None, "typhaReplicas": 0}
    read = contract.drop_nulls(disabled)
    assert "typhaServiceName" not in read and "usableHeadroomIps" not in read["podIpCapacity"]["cn-shanghai-g"]
    assert contract.problems(read, nulls_dropped=True) == []
    assert contract.problems(read) == [
        "output typhaServiceName: missing",
        f"output podIpCapacity: {read['podIpCapacity']!r} is not map zone -> object",
    ]
    # Dropped nulls do not excuse a missing non-null output or figure.
    no_trigger = {k: v for k, v in read.items() if k != "eniConfigTrigger"}
    assert contract.problems(no_trigger, nulls_dropped=True) == ["output eniConfigTrigger: missing"]
    zone = dict(read["podIpCapacity"]["cn-shanghai-g"])
    del zone["minPoolSize"]
    assert contract.problems({**read, "podIpCapacity": {"cn-shanghai-g": zone}}, nulls_dropped=True) != []
