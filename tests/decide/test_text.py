"""Issue 19, text: one definition of text for every config value that is checked and then used.

A control character anywhere in a text value is refused with one line naming the key; blanks around
a value are removed once, and the value the settings hold is exactly the one that was checked.
"""
from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.decide.problems import InputError
from terway_stack.decide.settings import parse_settings
from terway_stack.decide.text import checked_text

from .settings_examples import TEXT_PATHS, config_with, valid_config

# Where a text value sits (raw path) -> the key path a problem about it must name.
CONTROL = st.sampled_from(
    [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]]
    + ["\u2028", "\u2029", "\u200b", "\u202e", "\ufeff", "\t", "\n", "\r"]
)
BLANKS = st.text(alphabet=" \t\r\n", max_size=3)


def current(path: tuple):
    node = valid_config() | {"typha": {"version": "v3.24.5", "image": "registry.example.com/acs/typha:v3.24.5"}}
    for part in path:
        node = node[part]
    return node


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(TEXT_PATHS, key=str)), CONTROL, st.integers(min_value=1), BLANKS, BLANKS)
def test_a_control_character_inside_any_text_value_is_refused_naming_the_key(path, control, where, before, after):
    value = current(path)
    cut = 1 + where % (len(value) - 1)  # strictly inside: blanks at the ends are removed, not refused
    with pytest.raises(InputError) as caught:
        parse_settings(config_with(path, before + value[:cut] + control + value[cut:] + after))
    [line] = str(caught.value).splitlines()
    assert line.startswith(TEXT_PATHS[path] + ": "), line
    assert f"U+{ord(control):04X}" in line or "is not" in line, line


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(TEXT_PATHS, key=str)), BLANKS, BLANKS)
def test_the_value_used_is_the_value_checked(path, before, after):
    value = current(path)
    parsed = parse_settings(config_with(path, before + value + after))
    dumped = parsed.model_dump(by_alias=True)
    node = dumped
    for part in path:
        node = node[part]
    assert node == value


@given(st.sampled_from(["\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028"]))
def test_the_same_vswitch_cannot_be_adopted_twice_through_a_control_character_variant(control):
    config = valid_config()
    config["podVSwitches"]["zones"]["cn-shanghai-h"] = {"vswitchId": "vsw-uf6adopted" + control}
    with pytest.raises(InputError) as caught:
        parse_settings(config)
    assert "terway:podVSwitches.zones.cn-shanghai-h.vswitchId" in str(caught.value)


@given(st.sampled_from(["\x1c", "\x1f", "\x85", "\u2028", "\u2029", "\x7f", "\x9b"]), BLANKS)
def test_a_zone_key_with_a_control_character_is_refused(control, blanks):
    config = valid_config()
    config["podVSwitches"]["zones"]["cn-shanghai-h" + control + blanks] = {"vswitchId": "vsw-other"}
    with pytest.raises(InputError) as caught:
        parse_settings(config)
    assert len(str(caught.value).splitlines()) == len(caught.value.problems)
    assert all("terway:podVSwitches.zones.cn-shanghai-h" in str(p) for p in caught.value.problems)


def test_checked_text_strips_only_the_blanks_it_names():
    assert checked_text(" \tvsw-a\r\n") == "vsw-a"
    with pytest.raises(ValueError, match=r"U\+001F"):
        checked_text("vsw-a\x1f")  # str.strip() would have removed it; the check refuses it
