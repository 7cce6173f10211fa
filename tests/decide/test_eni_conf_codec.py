"""The eni_conf text codec: strict Go-style JSON in, the smallest edit of `vswitches` out."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.decide import eni_conf_codec as codec
from terway_stack.decide import eni_config as eni
from terway_stack.decide import strict_json
from terway_stack.decide.problems import InputError

ZONES = ["cn-shanghai-f", "cn-shanghai-g", "cn-hangzhou-k"]
# vsw- and 4 to 10 of [a-z0-9]: what from_regex(r"vsw-[a-z0-9]{4,10}") generates, at a third of its cost.
vswitch_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=10).map("vsw-".__add__)
wanted_maps = st.dictionaries(st.sampled_from(ZONES), st.lists(vswitch_ids, min_size=1, max_size=3), max_size=3)

# ---------------------------------------------------------------- generated JSON text, spelled many ways

blanks = st.sampled_from(["", " ", "  ", "\n", "\n  ", "\n    ", "\t", "\r\n", " \n\t"])
# Spellings Python and Go read alike but json.dumps would never write (1e1 -> 10.0, -0, 1.0, big ints).
numbers = st.sampled_from(
    ["0", "-0", "1", "25", "1e1", "1E+1", "-1.5e-3", "1.0", "-0.0", "0.5", "1e-400", "2.5E2",
     "123456789012345678901234567890", "1.7976931348623157e308", "9007199254740993"]
)
SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
string_chars = st.characters(codec="utf-8", exclude_categories=("Cs",))


def u_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04x}"


@st.composite
def spelled_strings(draw, text=None):
    """(JSON source of a string, its value): each character raw, \\u-escaped or short-escaped."""
    value = draw(st.text(string_chars, max_size=8)) if text is None else text
    out = []
    for char in value:
        choices = ["u"] + (["short"] if char in SHORT_ESCAPES else []) + ([] if char in SHORT_ESCAPES or char < " " else ["raw"])
        how = draw(st.sampled_from(choices))
        out.append(char if how == "raw" else SHORT_ESCAPES[char] if how == "short" else u_escape(char))
    return '"' + "".join(out) + '"', value


def spelled_scalar():
    return st.one_of(
        numbers.map(lambda n: (n, json.loads(n))),
        st.sampled_from(["true", "false", "null"]).map(lambda w: (w, json.loads(w))),
        spelled_strings(),
    )


@st.composite
def spelled_array(draw, items):
    drawn = draw(st.lists(items, max_size=3))
    if not drawn:
        return "[" + draw(blanks) + "]", []
    body = "".join((draw(blanks) + "," if i else "") + draw(blanks) + src for i, (src, _) in enumerate(drawn))
    return "[" + body + draw(blanks) + "]", [v for _, v in drawn]


@st.composite
def spelled_object(draw, values, keys=None, required=()):
    """An object with unique decoded keys; `required` members (source, key, value source, value) go in at random places."""
    keys = keys if keys is not None else st.text(string_chars, max_size=6)
    names = draw(st.lists(keys, max_size=4, unique=True))
    members = [(*draw(spelled_strings(name)), *draw(values)) for name in names if name not in {r[1] for r in required}]
    for item in required:
        members.insert(draw(st.integers(0, len(members))), item)
    if not members:
        return "{" + draw(blanks) + "}", {}
    parts = []
    for i, (key_src, _, value_src, _) in enumerate(members):
        colon = draw(blanks) + ":" + draw(blanks)
        parts.append((draw(blanks) + "," if i else "") + draw(blanks) + key_src + colon + value_src)
    return "{" + "".join(parts) + draw(blanks) + "}", {key: value for _, key, _, value in members}


json_values = st.recursive(
    spelled_scalar(), lambda inner: spelled_array(inner) | spelled_object(inner), max_leaves=10
)

FIELD_NAMES = ["version", "max_pool_size", "min_pool_size", "credential_path", "eni_tags", "service_cidr",
               "security_group", "security_groups", "vswitch_selection_policy", "ip_stack", "extra_routes", "描述"]


@st.composite
def spelled_zone_lists(draw):
    ids = draw(st.lists(vswitch_ids, max_size=3, unique=True))
    return _array_of(draw, [draw(spelled_strings(i)) for i in ids])


def _array_of(draw, spelled):
    if not spelled:
        return "[" + draw(blanks) + "]", []
    body = "".join((draw(blanks) + "," if i else "") + draw(blanks) + src for i, (src, _) in enumerate(spelled))
    return "[" + body + draw(blanks) + "]", [v for _, v in spelled]


@st.composite
def eni_conf_texts(draw):
    """A whole eni_conf, with or without vswitches (or vswitches null), every part spelled at random."""
    required = []
    shape = draw(st.sampled_from(["absent", "map", "map", "null"]))
    if shape != "absent":
        key_src, key = draw(spelled_strings("vswitches"))
        if shape == "null":
            value_src, value = "null", None
        else:
            value_src, value = draw(spelled_object(spelled_zone_lists(), keys=st.sampled_from(ZONES)))
        required.append((key_src, key, value_src, value))
    keys = st.sampled_from(FIELD_NAMES) | st.text(string_chars, max_size=6).filter(lambda k: codec._go_field_fold(k) != "vswitches")
    source, value = draw(spelled_object(json_values, keys=keys, required=required))
    return draw(blanks) + source + draw(blanks), value


# ---------------------------------------------------------------- properties of the merge


def outside_vswitches(text: str, merged: str) -> tuple[str, str]:
    """(text, merged) with the value of vswitches, or the member the merge inserted, cut out."""
    document = strict_json.parse(text)
    member = document.member("vswitches")
    if merged == text:
        return text, merged
    if member is not None:
        start, end = member.value.start, member.value.end
        tail = len(text) - end
        return text[:start] + text[end:], merged[:start] + merged[len(merged) - tail:]
    at = document.members[-1].value.end if document.members else document.start + 1
    grown = len(merged) - len(text)
    inserted = merged[at:at + grown]
    assert inserted.lstrip(" \t\r\n,").startswith('"vswitches"'), inserted
    return text, merged[:at] + merged[at + grown:]


@settings(max_examples=150, deadline=None)
@given(conf=eni_conf_texts(), wanted=wanted_maps)
def test_every_byte_outside_vswitches_is_kept(conf, wanted):
    text, _ = conf
    merged = codec.merge_eni_conf(text, wanted)
    before, after = outside_vswitches(text, merged)
    assert after == before


@settings(max_examples=150, deadline=None)
@given(conf=eni_conf_texts(), wanted=wanted_maps)
def test_merged_text_is_strict_json_holding_the_same_values_plus_the_ids(conf, wanted):
    text, value = conf
    merged = codec.merge_eni_conf(text, wanted)
    strict_json.parse(merged)  # Go's rules, no duplicate keys
    result = json.loads(merged)
    assert {k: v for k, v in result.items() if k != "vswitches"} == {k: v for k, v in value.items() if k != "vswitches"}
    before = value.get("vswitches") or {}
    after = result.get("vswitches") or {}
    for zone, ids in before.items():
        assert after[zone][: len(ids)] == ids
    assert set(after) == set(before) | set(wanted)
    for zone, ids in wanted.items():
        assert all(after[zone].count(i) == 1 for i in ids)


@settings(max_examples=100, deadline=None)
@given(conf=eni_conf_texts(), wanted=wanted_maps)
def test_merge_is_idempotent_and_deterministic(conf, wanted):
    text, _ = conf
    once = codec.merge_eni_conf(text, wanted)
    assert codec.merge_eni_conf(once, wanted) is once
    assert codec.merge_eni_conf(text, dict(reversed(list(wanted.items())))) == once


@settings(max_examples=80, deadline=None)
@given(conf=eni_conf_texts(), wanted=wanted_maps, indent=st.sampled_from([None, 0, 4]))
def test_restart_trigger_ignores_formatting(conf, wanted, indent):
    text, value = conf
    reformatted = json.dumps(value, indent=indent, ensure_ascii=bool(indent))
    first = eni.plan_eni_config({"eni_conf": text}, "typha", wanted)
    second = eni.plan_eni_config({"eni_conf": reformatted}, "typha", wanted)
    assert first.trigger() == second.trigger()


# ---------------------------------------------------------------- the smallest diff, by example

RUNBOOK = """{
"version": "1",
"max_pool_size": 25,
"min_pool_size": 1e1,
"vswitches": {"cn-shanghai-f":["vsw-AAA"]},
"service_cidr": "172.21.0.0/20",
"eni_tags": {"ack.aliyun.com":"c\\u00e9"},
"security_group": "sg-CCC",
"eni_cap_ratio": -0
}
"""


def test_the_runbook_document_changes_on_the_vswitches_line_only():
    merged = codec.merge_eni_conf(RUNBOOK, {"cn-shanghai-f": ["vsw-BBB"]})
    changed = [(a, b) for a, b in zip(RUNBOOK.splitlines(), merged.splitlines()) if a != b]
    assert changed == [('"vswitches": {"cn-shanghai-f":["vsw-AAA"]},', '"vswitches": {"cn-shanghai-f":["vsw-AAA", "vsw-BBB"]},')]
    assert len(merged.splitlines()) == len(RUNBOOK.splitlines())


def test_a_new_zone_and_an_inserted_key_follow_the_documents_own_separators():
    pretty = '{\n    "max_pool_size": 5,\n    "min_pool_size": 0\n}'
    assert codec.merge_eni_conf(pretty, {"cn-shanghai-g": ["vsw-g"]}) == (
        '{\n    "max_pool_size": 5,\n    "min_pool_size": 0,\n    "vswitches": {"cn-shanghai-g": ["vsw-g"]}\n}'
    )
    compact = '{"max_pool_size":5,"vswitches":{"cn-shanghai-f":["vsw-a"]}}'
    assert codec.merge_eni_conf(compact, {"cn-shanghai-g": ["vsw-g"]}) == (
        '{"max_pool_size":5,"vswitches":{"cn-shanghai-f":["vsw-a"],"cn-shanghai-g":["vsw-g"]}}'
    )
    expanded = '{"vswitches": {\n  "cn-shanghai-f": [\n    "vsw-a"\n  ]\n}}'
    assert codec.merge_eni_conf(expanded, {"cn-shanghai-f": ["vsw-b"]}) == (
        '{"vswitches": {\n  "cn-shanghai-f": [\n    "vsw-a",\n    "vsw-b"\n  ]\n}}'
    )


def test_null_vswitches_is_replaced_in_place():
    assert codec.merge_eni_conf('{"vswitches": null, "b": 1}', {"cn-shanghai-f": ["vsw-a"]}) == (
        '{"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "b": 1}'
    )


# ---------------------------------------------------------------- what Terway could not read is refused


@pytest.mark.parametrize(
    "text, path, reason",
    [
        ('{"max_pool_size": 1e400}', "eni_conf.max_pool_size", "does not fit a 64-bit float"),
        ('{"eni_cap_ratio": -1' + "0" * 400 + "}", "eni_conf.eni_cap_ratio", "does not fit a 64-bit float"),
        ('{"eni_cap_ratio": NaN}', "eni_conf.eni_cap_ratio", "NaN and Infinity"),
        ('{"x": [1, {"y": Infinity}]}', "eni_conf.x[1].y", "NaN and Infinity"),
        ('{"x": -Infinity}', "eni_conf.x", "NaN and Infinity"),
        ('{"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "vswitches": {}}', "eni_conf.vswitches", "appears twice"),
        ('{"vswitches": {"cn-shanghai-f": ["vsw-a"], "cn-shanghai-f": []}}', "eni_conf.vswitches.cn-shanghai-f", "appears twice"),
        ('{"eni_tags": {"a": "1", "\\u0061": "2"}}', "eni_conf.eni_tags.a", "appears twice"),
        ('{"tag": "\\ud800"}', "eni_conf.tag", "unpaired surrogate"),
        ('{"tag": "\\udc00\\ud800"}', "eni_conf.tag", "unpaired surrogate"),
        ('{"tag": "\ud800"}', "eni_conf.tag", "unpaired surrogate"),
        ('{"max_pool_size": 5} {"max_pool_size": 6}', "eni_conf", "trailing data"),
        ('{"max_pool_size": 5},', "eni_conf", "trailing data"),
        ('{"max_pool_size": 05}', "eni_conf.max_pool_size", "malformed number"),
        ('{"max_pool_size": 5,}', "eni_conf", "expected a quoted key"),
        ('{"a": "line\nbreak"}', "eni_conf.a", "raw control character"),
        ('\ufeff{}', "eni_conf", "expected a value"),
        ('{"VSwitches": {"cn-shanghai-f": ["vsw-a"]}}', "eni_conf.VSwitches", "reads this key as vswitches"),
        ('{"v\u017fwitches": {}}', 'eni_conf."v\\u017fwitches"', "reads this key as vswitches"),
        ("[" * 600 + "]" * 600, "eni_conf[0][0][0][0][0][0]...", "nests deeper than 512"),
    ],
)
def test_text_terway_cannot_read_is_refused_naming_the_key(text, path, reason):
    with pytest.raises(InputError) as caught:
        eni.plan_eni_config({"eni_conf": text}, "typha", {"cn-shanghai-f": ["vsw-new"]})
    message = str(caught.value)
    assert message.startswith(f"kube-system/eni-config:{path}: "), message
    assert reason in message and "\n" not in message


def test_the_same_checks_guard_the_live_read_even_when_nothing_is_missing():
    with pytest.raises(InputError, match="appears twice"):
        codec.merge_eni_conf('{"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "vswitches": {"cn-shanghai-f": ["vsw-a"]}}',
                           {"cn-shanghai-f": ["vsw-a"]})


@pytest.mark.parametrize("spelling", ["1e1", "-0", "1.0", "1E+1", "0.1", "1e-400", "12345678901234567890123"])
def test_numbers_keep_their_spelling(spelling):
    text = '{"min_pool_size": ' + spelling + "}"
    assert codec.merge_eni_conf(text, {"cn-shanghai-f": ["vsw-a"]}).startswith(text[:-1] + ", ")
