"""Issue 19, bounds the generated hostile run (tests/plan/hostile_cases.py) found missing: each is one
clear line naming the key, and is checked before the work it bounds (so the run stays short)."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from terway_stack.decide import strict_yaml
from terway_stack.decide.problems import InputError
from terway_stack.decide.settings import MAX_DAEMON_SETS, MAX_SNAT_IPS, parse_settings
from terway_stack.plan.stack_files import load_stack_config
from tests.decide.settings_examples import valid_config

ROOT = Path(__file__).resolve().parents[2]


def refusal(config) -> str:
    with pytest.raises(InputError) as caught:
        parse_settings(config)
    return str(caught.value)


@pytest.mark.parametrize("count", [MAX_DAEMON_SETS + 1, 2000])
def test_more_daemon_sets_than_a_cluster_runs_are_refused(count):
    config = copy.deepcopy(valid_config())
    config["terway"] = {"daemonSets": [f"ds-{i}" for i in range(count)]}
    assert refusal(config) == f"terway:terway.daemonSets: has {count} entries; at most {MAX_DAEMON_SETS} are allowed"


@pytest.mark.parametrize("count", [MAX_SNAT_IPS + 1, 10_000])
def test_more_snat_ips_than_one_snat_entry_takes_are_refused(count):
    config = copy.deepcopy(valid_config())
    config["podVSwitches"]["snat"]["snatIps"] = [f"47.{100 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}" for i in range(count)]
    assert refusal(config) == (
        f"terway:podVSwitches.snat.snatIps: lists {count} addresses; one SNAT entry takes at most {MAX_SNAT_IPS} EIPs")


def test_64_snat_ips_are_accepted():
    config = copy.deepcopy(valid_config())
    config["podVSwitches"]["snat"]["snatIps"] = [f"47.100.1.{i + 1}" for i in range(MAX_SNAT_IPS)]
    assert len(parse_settings(config).pod_vswitches.snat.snat_ips) == MAX_SNAT_IPS


@pytest.mark.parametrize("depth", [40, 5_000, 100_000])
def test_a_stack_file_nested_too_deep_is_named_by_its_key(tmp_path, depth):
    stack = tmp_path / "Pulumi.deep.yaml"
    stack.write_text("config:\n  terway:typha:\n    replicas: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(InputError) as caught:
        load_stack_config(stack, ROOT)
    [line] = str(caught.value).splitlines()
    assert line.startswith("terway:typha.replicas.0.0") and line.endswith(": is nested more than 32 levels deep"), line


def test_the_depth_path_follows_keys_and_indexes():
    assert strict_yaml._too_deep_at("a: [1, {b: [[[[x]]]]}]", 3) == ("a", "1", "b")
    assert strict_yaml._too_deep_at(yaml.safe_dump({"a": {"b": [1, 2]}}), 3) is None
