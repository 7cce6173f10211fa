"""Issue 19, messages: every problem is exactly one line with its full key path, whatever the keys hold.

A zone key holding a newline cannot inject a fake second problem, and a key with a second `:` keeps
its namespace (`terway:cluster:name`, not `cluster:name`).
"""
from __future__ import annotations

import copy

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from terway_stack.decide.config_values import raw_settings
from terway_stack.decide.problems import InputError, Problem
from terway_stack.decide.settings import parse_settings

from .settings_examples import valid_config

BREAKERS = st.sampled_from(["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e", ":", "."])
KEY_TEXT = st.lists(st.one_of(BREAKERS, st.sampled_from(["cn-shanghai-f", "terway:x", " ", "zone", "a"])), min_size=1, max_size=6).map(
    "".join
)


def engine_config(raw: dict) -> dict:
    """Raw settings back into the engine's `terway:<key>` shape."""
    return {key if key == "alicloud:region" else f"terway:{key}": value for key, value in raw.items()}


@settings(max_examples=300, deadline=None)
@given(st.lists(KEY_TEXT, min_size=1, max_size=4, unique=True), st.sampled_from(["cidr", "vswitchId"]))
def test_every_problem_is_one_line_whatever_a_zone_key_holds(zones, kind):
    config = copy.deepcopy(valid_config())
    assume(not set(zones) & set(config["podVSwitches"]["zones"]))
    for zone in zones:
        # the same CIDR everywhere also makes the overlap check quote the zone names in its messages
        config["podVSwitches"]["zones"][zone] = {"cidr": "10.0.32.0/19"} if kind == "cidr" else {"vswitchId": "vsw-uf6adopted"}
    with pytest.raises(InputError) as caught:
        parse_settings(config)
    lines = str(caught.value).split("\n")
    assert len(lines) == len(caught.value.problems), lines
    for line in lines:
        assert line.startswith(("terway:podVSwitches.", "terway: and ")), line
        assert line.isprintable(), line


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["cluster", "typha", "podVSwitches", "nodeCount"]), st.text(alphabet="abc:.-", min_size=1, max_size=8))
def test_a_key_with_a_second_colon_keeps_its_full_path(head, tail):
    key = f"{head}:{tail}"
    raw = raw_settings(engine_config({**valid_config(), key: "x"}))
    with pytest.raises(InputError) as caught:
        parse_settings(raw)
    assert any(str(p).startswith(f"terway:{key}: ") for p in caught.value.problems), str(caught.value)


def test_the_issue_examples():
    assert str(Problem("terway:podVSwitches.zones.cn-shanghai-f\nterway:fake.key", "x")) == (
        "terway:podVSwitches.zones.cn-shanghai-f\\nterway:fake.key: x"
    )
    assert str(Problem("terway:podVSwitches.zones.a", "overlaps zone b\nterway:fake: injected")) == (
        "terway:podVSwitches.zones.a: overlaps zone b\\nterway:fake: injected"
    )
