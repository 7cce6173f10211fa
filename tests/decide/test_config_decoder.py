"""Issue 11 §3/§4 at the decoder: values accepted but wrong, misleading messages, secrets in messages,
one decoder for the program and the policy pack, and a property over generated hostile config."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from terway_stack.declare.config_source import load_settings
from terway_stack.decide.config_values import MAX_DEPTH, decode_config_value
from terway_stack.decide.problems import InputError, OfflineSecret
from terway_stack.decide.settings import parse_settings
from terway_stack.policies import context_from_settings, context_from_stack_config
from terway_stack.policies.context import PolicyContext, with_policy_config

from .settings_examples import valid_config


def problems_of(config: dict, **kwargs) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_settings(config, **kwargs)
    return [str(p) for p in caught.value.problems]


def changed(path: str, value) -> dict:
    config = copy.deepcopy(valid_config())
    *parents, leaf = path.split("|")
    node = config
    for part in parents:
        node = node[part]
    node[leaf] = value
    return config


def engine_form(raw: dict) -> dict:
    """What the engine hands the program: `terway:` keys, objects as JSON text, strings as they are."""
    config = {}
    for key, value in raw.items():
        full = key if ":" in key else f"terway:{key}"
        config[full] = value if isinstance(value, str) else json.dumps(value)
    return config


# --- accepted but wrong ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "path, value, expected",
    [
        ("typha|version", "v٣.٢٠.٢", "terway:typha.version: 'v٣.٢٠.٢' is not a Calico release tag"),
        ("cluster|kubernetesVersion", "1.٣٠", "terway:cluster.kubernetesVersion: '1.٣٠' is not a Kubernetes version"),
        ("cluster|nodeCount", "١٢٠٠", "terway:cluster.nodeCount: expected an integer, got '١٢٠٠'"),
        ("podVSwitches|snat|snatIps", [1], 'terway:podVSwitches.snat.snatIps.0: expected an IPv4 address as a string'),
        ("podVSwitches|snat|snatIps", ["10.1.2.3"], "terway:podVSwitches.snat.snatIps.0: 10.1.2.3 is a private address"),
        ("podVSwitches|snat|snatIps", ["192.168.0.9"], "terway:podVSwitches.snat.snatIps.0: 192.168.0.9 is a private address"),
        ("podVSwitches|snat|snatIps", ["0.0.0.0"], "terway:podVSwitches.snat.snatIps.0: 0.0.0.0 is the unspecified address"),
        ("podVSwitches|snat|snatIps", ["255.255.255.255"], "terway:podVSwitches.snat.snatIps.0: 255.255.255.255 is the broadcast"),
        ("podVSwitches|snat|snatIps", ["127.0.0.1"], "terway:podVSwitches.snat.snatIps.0: 127.0.0.1 is a loopback"),
        ("podVSwitches|snat|snatIps", ["224.0.0.5"], "terway:podVSwitches.snat.snatIps.0: 224.0.0.5 is a multicast"),
        ("podVSwitches|snat|snatIps", ["169.254.1.1"], "terway:podVSwitches.snat.snatIps.0: 169.254.1.1 is a link-local"),
        ("podVSwitches|snat|snatIps", ["100.64.0.1"], "terway:podVSwitches.snat.snatIps.0: 100.64.0.1 is not a public"),
        ("podVSwitches|snat|snatIps", ["47.100.1.2", "47.100.1.2"], "terway:podVSwitches.snat.snatIps: lists an address twice"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "127.0.0.0/19", "cidr: 127.0.0.0/19 is in the loopback (127.0.0.0/8) range"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "224.0.0.0/19", "cidr: 224.0.0.0/19 is in the multicast (224.0.0.0/4) range"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "169.254.0.0/16", "cidr: 169.254.0.0/16 is in the link-local"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "240.0.0.0/19", "cidr: 240.0.0.0/19 is in the reserved"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "100.64.0.0/19", "cidr: 100.64.0.0/19 is in the Alibaba Cloud's reserved"),
        ("podVSwitches|zones|cn-shanghai-f|cidr", "0.0.0.0/16", "cidr: 0.0.0.0/16 is in the 'this network'"),
        ("podVSwitches|tags", {"acs:owner": "x"}, "terway:podVSwitches.tags: 'acs:owner': a tag key may not start with `aliyun` or `acs:`"),
        ("podVSwitches|tags", {"aliyun-team": "x"}, "terway:podVSwitches.tags: 'aliyun-team': a tag key may not start"),
        ("podVSwitches|tags", {"": "x"}, "terway:podVSwitches.tags: '': a tag key may not be empty"),
        ("podVSwitches|tags", {"k" * 129: "x"}, "a tag key has at most 128 characters, this one 129"),
        ("podVSwitches|tags", {"team": "v" * 129}, "terway:podVSwitches.tags.team: a tag value has at most 128 characters"),
        ("podVSwitches|tags", {f"t{i}": "x" for i in range(19)}, "terway:podVSwitches.tags: 19 tags plus the stack's 2 exceed"),
        ("podVSwitches|tags", {"managed-by": "me"}, "terway:podVSwitches.tags: 'managed-by': 'managed-by' is set by the stack"),
    ],
)
def test_values_accepted_before_are_refused_by_key(path, value, expected):
    problems = problems_of(changed(path, value))
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize("zone", ["cn-shanghaif", "cn-shanghai-zz", "cn-shanghai-F", "cn-shanghai-1", "cn-shanghai-ｆ"])
def test_zones_are_the_region_a_dash_and_one_letter(zone):
    config = changed("podVSwitches|zones", {zone: {"cidr": "10.0.32.0/19"}})
    assert problems_of(config) == [
        f"terway:podVSwitches.zones.{zone}: zone {zone!r} is not in region cn-shanghai (alicloud:region): "
        "its zones are named cn-shanghai-<letter>, e.g. cn-shanghai-a"
    ]


def test_zones_of_regions_ending_in_a_digit_have_no_dash():
    config = changed("alicloud:region", "ap-southeast-1")
    config["podVSwitches"]["zones"] = {"ap-southeast-1a": {"cidr": "10.0.32.0/19"}, "ap-southeast-1-b": {"cidr": "10.0.64.0/19"}}
    assert problems_of(config) == [
        "terway:podVSwitches.zones.ap-southeast-1-b: zone 'ap-southeast-1-b' is not in region ap-southeast-1 "
        "(alicloud:region): its zones are named ap-southeast-1<letter>, e.g. ap-southeast-1a"
    ]


def test_valid_tags_and_public_eips_still_pass():
    config = changed("podVSwitches|tags", {f"t{i}": "v" * 128 for i in range(18)})
    config["podVSwitches"]["snat"]["snatIps"] = ["47.100.1.2", " 8.8.8.8 "]
    settings = parse_settings(config)
    assert settings.pod_vswitches.snat.snat_ips == ["47.100.1.2", "8.8.8.8"]
    assert len(settings.pod_vswitches.tags) == 18


# --- misleading messages --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "cidr, expected",
    [
        ("10.0.32.0/019", "'10.0.32.0/019': write the prefix length without leading zeros, e.g. 10.0.32.0/19"),
        ("10.0.32.0/255.255.224.0", "'10.0.32.0/255.255.224.0' uses a netmask; write address/prefix-length, e.g. 10.0.32.0/19"),
        ("10.0.32.0", "'10.0.32.0' is not an IPv4 CIDR; write address/prefix-length, e.g. 10.0.32.0/19"),
        ("010.0.32.0/19", "'010.0.32.0/19' is not an IPv4 CIDR (each of the four numbers 0..255, no leading zeros"),
        ("١٠.0.32.0/19", "is not an IPv4 CIDR; write address/prefix-length"),
    ],
)
def test_cidr_forms_get_a_message_saying_what_is_accepted(cidr, expected):
    [problem] = problems_of(changed("podVSwitches|zones|cn-shanghai-f|cidr", cidr))
    assert problem == f"terway:podVSwitches.zones.cn-shanghai-f.cidr: {expected}" or expected in problem, problem
    assert "host bits" not in problem


@pytest.mark.parametrize("value", [1e308, float("1e300"), 2.5, "1e308", 2**53 + 2.0])
def test_numbers_that_are_not_integers_say_an_integer_is_expected(value):
    [problem] = problems_of(changed("cluster|nodeCount", value))
    assert problem.startswith("terway:cluster.nodeCount: expected an integer, got"), problem


def test_engine_json_with_1e308_says_an_integer_is_expected():
    config = engine_form(valid_config())
    config["terway:cluster"] = '{"name": "c", "kubernetesVersion": "1.30", "nodeCount": 1e308}'
    with pytest.raises(InputError) as caught:
        load_settings(config, secret_keys=())
    assert [str(p) for p in caught.value.problems] == ["terway:cluster.nodeCount: expected an integer, got 1e+308"]


def test_whole_doubles_and_ascii_digit_strings_are_integers():
    assert parse_settings(changed("cluster|nodeCount", 1200.0)).cluster.node_count == 1200
    assert parse_settings(changed("cluster|nodeCount", " 1200 ")).cluster.node_count == 1200


# --- plain data only --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "path, value, expected",
    [
        ("cluster|name", "\ud800", "terway:cluster.name: is not valid Unicode text"),
        ("podVSwitches|tags", {"\udfff": "x"}, "terway:podVSwitches.tags.\\udfff: the key is not valid Unicode text"),
        ("podVSwitches|tags", {1: "x"}, "terway:podVSwitches.tags: keys must be strings; quote the key 1"),
        ("cluster|nodeCount", float("nan"), "terway:cluster.nodeCount: must be a finite number"),
        ("typha|image", b"typha", "terway:typha.image: a binary (!!binary) value is not supported"),
        ("podVSwitches|tags", {"a\nb": "x"}, "terway:podVSwitches.tags: 'a\\nb': a tag key holds the control character U+000A"),
    ],
)
def test_values_that_are_not_plain_data_are_refused_by_key(path, value, expected):
    problems = problems_of(changed(path, value))
    assert any(p.startswith(expected) for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_deep_nesting_is_refused_within_a_fraction_of_a_second():
    deep = "[" * 100_000 + "]" * 100_000
    config = engine_form(valid_config())
    config["terway:typha"] = deep
    with pytest.raises(InputError) as caught:
        load_settings(config, secret_keys=())
    assert [str(p) for p in caught.value.problems] == [f"terway:typha: is nested more than {MAX_DEPTH} levels deep"]
    nested: list = []
    for _ in range(MAX_DEPTH + 5):
        nested = [nested]
    assert problems_of(changed("terway|daemonSets", nested))[0].endswith(f"is nested more than {MAX_DEPTH} levels deep")


def test_text_that_only_looks_like_json_stays_text():
    assert decode_config_value("[typha") == "[typha"
    assert decode_config_value('{"a": 1}') == {"a": 1}
    assert decode_config_value(OfflineSecret()) == "[secret]"


# --- one decoder for program and pack ---------------------------------------------------------------

def test_snake_case_keys_are_refused_by_the_program_and_unknown_to_the_pack():
    config = valid_config()
    config["cluster"] = {"name": "c", "kubernetesVersion": "1.30", "node_count": 1200}
    assert problems_of(config) == [
        "terway:cluster.nodeCount: required key is missing",
        "terway:cluster.node_count: unknown key: keys are camelCase, did you mean nodeCount?",
    ]
    assert context_from_stack_config(engine_form(config)).node_count is None
    config["cluster"] = {"name": "c", "kubernetesVersion": "1.30", "nodeCount": 1200}
    assert context_from_stack_config(engine_form(config)).node_count == parse_settings(config).cluster.node_count == 1200


@pytest.mark.parametrize("count", ["١٢٠٠", True, "12.0", 1e308])
def test_the_pack_does_not_read_a_node_count_the_program_refuses(count):
    config = changed("cluster|nodeCount", count)
    problems_of(config)
    assert context_from_stack_config(engine_form(config)).node_count is None
    assert with_policy_config(PolicyContext(), {"nodeCount": count}).node_count is None


# --- secrets ------------------------------------------------------------------------------------------

def test_problems_under_a_secret_key_never_quote_its_values():
    config = valid_config()
    config["podVSwitches"]["snat"]["snatIps"] = ["10.9.8.7", "not-an-ip-sEcReT", 3]
    config["podVSwitches"]["zones"]["cn-shanghai-f"]["cidr"] = "10.0.33.0/19"
    config["podVSwitches"]["vpcId"] = "VPC-TOKEN-" + "x" * 80
    problems = problems_of(config, secret_keys={"podVSwitches"})
    text = "\n".join(problems)
    for secret in ("10.9.8.7", "sEcReT", "10.0.33.0", "TOKEN", "xxxxxxxx"):
        assert secret not in text, text
    assert "terway:podVSwitches.snat.snatIps.0: [secret] is a private address; an EIP is a public IPv4 address" in problems
    assert any(p.startswith("terway:podVSwitches.vpcId: ") for p in problems)
    # The same config without secrets quotes the values, so the redaction above is what hid them.
    assert "10.9.8.7" in "\n".join(problems_of(config))


def test_engine_secret_keys_reach_the_decoder():
    config = engine_form(changed("cluster|name", "Bad_Name_TOKEN123"))
    with pytest.raises(InputError) as caught:
        load_settings(config, secret_keys={"terway:cluster"})
    assert [str(p) for p in caught.value.problems] == ["terway:cluster.name: [secret] is not a DNS label (lower-case letters, digits, '-')"]


def test_an_offline_secret_inside_a_list_is_accepted_where_a_secret_fits():
    config = valid_config()
    config["podVSwitches"]["snat"]["snatIps"] = ["47.100.1.2", OfflineSecret(), OfflineSecret()]
    config["podVSwitches"]["tags"] = {"team": OfflineSecret()}
    settings = parse_settings(config)
    assert settings.pod_vswitches.snat.snat_ips == ["47.100.1.2", "[secret]", "[secret]"]


def test_an_offline_secret_where_the_plan_must_read_the_value_is_refused_with_a_reason():
    [problem] = problems_of(changed("podVSwitches|zones|cn-shanghai-f|cidr", OfflineSecret()))
    assert problem.startswith("terway:podVSwitches.zones.cn-shanghai-f.cidr: is encrypted, and the offline plan cannot read it")
    [problem] = problems_of(changed("cluster", OfflineSecret()))
    assert problem.startswith("terway:cluster: is encrypted")


# --- property: generated hostile config ------------------------------------------------------------

PATHS = [
    ("cluster",), ("cluster", "name"), ("cluster", "kubernetesVersion"), ("cluster", "nodeCount"), ("cluster", "node_count"),
    ("networkPolicy",), ("typha",), ("typha", "version"), ("typha", "replicas"), ("typha", "image"), ("typha", "metrics"),
    ("podVSwitches",), ("podVSwitches", "vpcId"), ("podVSwitches", "zones"), ("podVSwitches", "zones", "cn-shanghai-f"),
    ("podVSwitches", "zones", "cn-shanghai-f", "cidr"), ("podVSwitches", "snat"), ("podVSwitches", "snat", "snatIps"),
    ("podVSwitches", "tags"), ("terway",), ("terway", "daemonSets"), ("terway", "restartTimeoutSeconds"), ("alicloud:region",),
]
HOSTILE_TEXT = st.sampled_from([
    "1.30", "v3.20.2", "10.0.32.0/019", "10.0.32.0/255.255.224.0", "١٢", "v٣.٢٠.٢", "47.100.1.2", "0.0.0.0",
    "255.255.255.255", "10.1.2.3", "127.0.0.0/19", "cn-shanghaif", "cn-shanghai-zz", "\ud800", "acs:x", "aliyun", "",
    "1e308", "[", "{}", "[secret]", "node_count", "a\nb",
])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), HOSTILE_TEXT, HOSTILE_TEXT,
    st.binary(max_size=4), st.dates(), st.builds(OfflineSecret),
)
KEYS = st.one_of(st.text(max_size=12), st.integers(), HOSTILE_TEXT, st.sampled_from(["cidr", "snatIps", "nodeCount", "\udc80"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)
# Lists are where the old code crashed (unhashable items, numbers as addresses): generate many.
LISTISH = st.lists(st.one_of(SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(KEYS, SCALARS, max_size=2)), max_size=4)


def _set(config: dict, path: tuple, value) -> None:
    node = config
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def _check_rejection(err: InputError) -> None:
    assert err.problems
    for problem in err.problems:
        line = str(problem)
        assert "\n" not in line and "\r" not in line
        assert problem.path.startswith(("terway:", "alicloud:region")), line
        line.encode("utf-8")  # printable on any terminal: no lone surrogates


def _engine_form_or_none(raw: dict):
    try:
        return engine_form(raw)
    except (TypeError, ValueError):  # bytes: no engine sends them (the plan's loader refuses !!binary)
        return None


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(VALUES, LISTISH)), min_size=1, max_size=3),
    as_engine=st.booleans(),
)
def test_any_generated_config_is_accepted_or_refused_by_key_never_crashes(edits, as_engine):
    raw = valid_config()
    for path, value in edits:
        _set(raw, path, value)
    config = _engine_form_or_none(raw)
    assume(config is not None or not as_engine)
    try:
        settings = load_settings(config, secret_keys=()) if as_engine else parse_settings(raw)
    except InputError as err:
        _check_rejection(err)
        return
    # Accepted: the policy pack reads exactly what the program holds.
    assert context_from_stack_config(engine_form(raw)) == context_from_settings(settings)
