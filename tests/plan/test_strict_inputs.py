"""Issue 19, one strict decoder with limits: every JSON or YAML document the plan reads.

Generated hostile documents for each input file (--nodes, --vswitches, --instance-types,
--policy-config, --eni-config with its metadata) go through the real entry point in process: each
must exit 2 with one line per problem naming the file, and never crash (exit 3) or be accepted.
The live 10-terway.conf, deep or huge, is read without a RecursionError.
"""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terway_stack.decide import policy_keys, strict_json
from terway_stack.plan import cli

ROOT = Path(__file__).resolve().parents[2]

NODES = {"apiVersion": "v1", "kind": "List", "items": [
    {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "cn-shanghai-f"}}}]}
VSWITCHES = {"vsw-a1": {"zone": "cn-shanghai-f", "availableIps": 35}}
TYPES = {"ecs.g7.4xlarge": {"eniQuantity": 8, "privateIpsPerEni": 30}}
POLICY = {"typha-replicas": {"enforcementLevel": "mandatory"}}
CONFIGMAP = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "eni-config", "namespace": "kube-system", "managedFields": [
        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:eni_conf": {}}}}]},
    "data": {"eni_conf": '{"version": "1", "vswitches": {"cn-shanghai-f": ["vsw-a1"]}}', "disable_network_policy": "false"},
}
FLAGS = {
    "--nodes": NODES, "--vswitches": VSWITCHES, "--instance-types": TYPES, "--policy-config": POLICY,
    "--eni-config": CONFIGMAP,
}


def run_main(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, err.getvalue()


def plan_with(tmp_path: Path, flag: str, text: str) -> tuple[int, str]:
    path = tmp_path / f"input{flag.replace('-', '_')}.txt"
    path.write_text(text, encoding="utf-8")
    return run_main(["plan", "--stack", "prod", "--project-dir", str(ROOT), flag, str(path)])


def at(document, where: list, value):
    """A copy of `document` with the value at `where` (a list of keys) replaced."""
    document = json.loads(json.dumps(document))
    node = document
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    return document


def duplicated(text: str, key: str) -> str:
    """The JSON text with the first member `"key": ...` repeated right after itself (a duplicate key)."""
    document = json.loads(text)
    assert key in document
    inner = text.rstrip()[:-1]
    return inner + f', {json.dumps(key)}: {json.dumps(document[key])}' + "}"


# What each file's hostile variants look like: a key path where the structure breaks, and a value.
HOSTILE_VALUES = st.sampled_from([
    "[" * 600 + "]" * 600,  # deeper than any reader allows
    "1" * 22, "-" + "9" * 30,  # 22+ digits: the engine refuses them
    "NaN", "[1, 2", '{"a": 1, "a": 2}',  # not JSON / duplicate key
    '"text"', "[]", "{}", "null", "true", "3.5",  # the wrong shape
])
PLACES = {
    "--nodes": [["items"], ["items", 0], ["items", 0, "metadata"], ["items", 0, "metadata", "labels"], ["items", 0, "metadata", "name"]],
    "--vswitches": [["vsw-a1"], ["vsw-a1", "availableIps"], ["vsw-a1", "zone"]],
    "--instance-types": [["ecs.g7.4xlarge"], ["ecs.g7.4xlarge", "eniQuantity"]],
    "--policy-config": [["typha-replicas"], ["typha-replicas", "enforcementLevel"], ["typha-replicas", "nodeCount"], ["no-such-policy"]],
    "--eni-config": [["metadata"], ["metadata", "managedFields"], ["metadata", "managedFields", 0],
                     ["metadata", "managedFields", 0, "fieldsV1"], ["data"], ["data", "felix_relay_service"]],
}
PLACEHOLDER = "\u0000PLACE\u0000"


# Hostile values that are still valid input at a place: optional parts left empty or absent.
STILL_VALID = {
    ("--nodes", ("items",)): {"[]"},
    ("--nodes", ("items", 0)): {"{}"},
    ("--nodes", ("items", 0, "metadata")): {"{}", "null"},
    ("--nodes", ("items", 0, "metadata", "labels")): {"{}", "null"},
    ("--nodes", ("items", 0, "metadata", "name")): {'"text"', "null"},
    ("--vswitches", ("vsw-a1", "zone")): {'"text"'},
    ("--policy-config", ("typha-replicas",)): {"{}"},
    ("--eni-config", ("metadata",)): {"{}", "null"},
    ("--eni-config", ("metadata", "managedFields")): {"[]", "null"},
    ("--eni-config", ("metadata", "managedFields", 0)): {"{}"},
    ("--eni-config", ("metadata", "managedFields", 0, "fieldsV1")): {"{}", "null"},
}


@st.composite
def hostile_inputs(draw):
    flag = draw(st.sampled_from(sorted(FLAGS)))
    if draw(st.integers(0, 4)) == 0:
        # A duplicate key at the top level or inside, e.g. a second felix_relay_service hiding the first.
        base = FLAGS[flag]
        text = json.dumps(base)
        if flag == "--eni-config":
            data = json.dumps(at(base, ["data", "felix_relay_service"], "calico-typha")["data"])
            text = json.dumps({**base, "data": PLACEHOLDER}).replace(json.dumps(PLACEHOLDER), duplicated(data, "felix_relay_service"))
        else:
            text = duplicated(text, next(iter(base)))
        return flag, text, False
    where = draw(st.sampled_from(PLACES[flag]))
    hostile = draw(HOSTILE_VALUES)
    text = json.dumps(at(FLAGS[flag], where, PLACEHOLDER)).replace(json.dumps(PLACEHOLDER), hostile)
    if draw(st.booleans()):
        text = text.replace(", ", ",\n  ")  # JSON over several lines: the same document
    return flag, text, hostile in STILL_VALID.get((flag, tuple(where)), set())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(hostile_inputs())
def test_a_malformed_input_file_exits_2_naming_the_file(tmp_path, case):
    flag, text, still_valid = case
    code, err = plan_with(tmp_path, flag, text)
    if still_valid:
        assert code in (0, 1), err
        return
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[0] == "error: invalid input"
    assert all("input__" in line or line.startswith("kube-system/eni-config:") for line in lines[1:]), err
    assert "Traceback" not in err


def test_a_duplicate_relay_key_in_the_saved_eni_config_is_refused(tmp_path):
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: eni-config, namespace: kube-system}\ndata:\n"
        "  felix_relay_service: calico-typha\n  eni_conf: '{}'\n  felix_relay_service: other-typha\n"
    )
    code, err = plan_with(tmp_path, "--eni-config", text)
    assert code == 2 and "data.felix_relay_service: duplicate key (lines 5 and 7)" in err, err


@pytest.mark.parametrize("level", ["mandatroy", "warn", 3])
def test_a_bogus_enforcement_level_is_refused(tmp_path, level):
    code, err = plan_with(tmp_path, "--policy-config", json.dumps({"typha-replicas": level}))
    assert code == 2 and "input__policy_config.txt: typha-replicas: " in err, err


def test_a_property_breaking_the_packs_schema_is_refused(tmp_path):
    code, err = plan_with(tmp_path, "--policy-config", json.dumps({"typha-replicas": {"nodeCount": 0, "colour": "red"}}))
    assert code == 2, err
    assert "typha-replicas.nodeCount: must be at least 1, got 0" in err
    assert "typha-replicas.colour: is not a setting of this policy" in err


@pytest.mark.parametrize("depth", [600, 100_000])
def test_a_deep_live_terway_conf_is_read_without_recursion(depth):
    data = {"10-terway.conf": "[" * depth + "]" * depth, "10-terway.conflist": "{\"a\":" * depth + "1" + "}" * depth}
    assert policy_keys.relay_ineffective_reasons(["terway-eniip"], data) == []


def test_numbers_of_22_digits_are_refused_as_the_engine_does():
    with pytest.raises(strict_json.JsonTextError, match="22 digits"):
        strict_json.read_document('{"nodeCount": 1234567890123456789012}')
    assert strict_json.read_document('{"nodeCount": 123456789012345678901}') == {"nodeCount": 123456789012345678901}
