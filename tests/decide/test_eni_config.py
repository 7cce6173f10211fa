"""The eni_conf merge and the stack's eni-config keys, as plain data."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.decide import eni_conf_codec as codec
from terway_stack.decide import eni_config as eni
from terway_stack.decide import facts
from terway_stack.decide import policy_keys as pk
from terway_stack.decide.problems import InputError

ZONES = ["cn-shanghai-f", "cn-shanghai-g", "cn-hangzhou-k"]
# vsw- and 4 to 10 of [a-z0-9]: what from_regex(r"vsw-[a-z0-9]{4,10}") generates, at a third of its cost.
vswitch_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=10).map("vsw-".__add__)
zone_lists = st.dictionaries(st.sampled_from(ZONES), st.lists(vswitch_ids, max_size=4, unique=True), max_size=3)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

# Keys seen in the field (DOMAIN.md), with representative value types.
FIELD_KEYS = {
    "version": st.just("1"),
    "max_pool_size": st.integers(0, 200),
    "min_pool_size": st.integers(0, 50),
    "credential_path": st.just("/var/addon/token-config"),
    "eni_tags": st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=2),
    "service_cidr": st.just("172.21.0.0/20"),
    "security_group": st.just("sg-uf6abc"),
    "security_groups": st.lists(st.just("sg-uf6abc"), max_size=2),
    "vswitch_selection_policy": st.sampled_from(["ordered", "random"]),
    "ip_stack": st.sampled_from(["ipv4", "dual", "ipv6"]),
    "ipam_type": st.just("crd"),
    "idle_ip_reclaim_after": st.just("30m"),
    "ip_warm_up_size": st.integers(0, 20),
    "eni_cap_ratio": st.floats(0, 1),
    "enable_eni_trunking": st.booleans(),
    "enable_erdma": st.booleans(),
    "extra_routes": st.lists(st.fixed_dictionaries({"dst": st.just("10.1.0.0/16")}), max_size=2),
    "unknown_future_key": json_values,
    "描述": st.text(max_size=8),
}


@st.composite
def eni_confs(draw) -> dict:
    keys = draw(st.lists(st.sampled_from(sorted(FIELD_KEYS)), unique=True))
    conf = {key: draw(FIELD_KEYS[key]) for key in keys}
    if draw(st.booleans()):
        conf["vswitches"] = draw(zone_lists)
    return conf


def render(conf: dict) -> str:
    return json.dumps(conf, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(conf=eni_confs(), wanted=zone_lists)
def test_merge_is_idempotent(conf, wanted):
    once = codec.merge_eni_conf(render(conf), wanted)
    assert codec.merge_eni_conf(once, wanted) == once


@settings(max_examples=300, deadline=None)
@given(conf=eni_confs(), wanted=zone_lists)
def test_merge_keeps_every_unmanaged_key_exactly(conf, wanted):
    merged = json.loads(codec.merge_eni_conf(render(conf), wanted))
    assert list(merged)[: len(conf)] == list(conf)  # key order kept; vswitches may be appended
    for key, value in conf.items():
        if key != "vswitches":
            assert merged[key] == value and type(merged[key]) is type(value)


@settings(max_examples=300, deadline=None)
@given(conf=eni_confs(), wanted=zone_lists)
def test_merge_keeps_existing_ids_first_in_order_and_adds_each_wanted_id_once(conf, wanted):
    merged = json.loads(codec.merge_eni_conf(render(conf), wanted)).get("vswitches") or {}
    before = conf.get("vswitches") or {}
    for zone, ids in before.items():
        assert merged[zone][: len(ids)] == ids
    for zone, ids in wanted.items():
        for vswitch_id in ids:
            assert merged.get(zone, []).count(vswitch_id) == 1


@settings(max_examples=100, deadline=None)
@given(conf=eni_confs(), wanted=zone_lists)
def test_merge_output_is_deterministic(conf, wanted):
    assert codec.merge_eni_conf(render(conf), wanted) == codec.merge_eni_conf(render(conf), dict(reversed(list(wanted.items()))))


def test_nothing_missing_returns_the_live_string_byte_for_byte():
    live = '{"vswitches":{"cn-shanghai-f":["vsw-a","vsw-b"]},   "max_pool_size": 5}'
    assert codec.merge_eni_conf(live, {"cn-shanghai-f": ["vsw-b"]}) is live


def test_merge_into_the_ack_default_shape():
    live = json.dumps(
        {"version": "1", "max_pool_size": 5, "vswitches": {"cn-shanghai-f": ["vsw-old"]}, "eni_tags": {"ack.aliyun.com": "c1"}, "eni_cap_ratio": 0.5}
    )
    merged = json.loads(codec.merge_eni_conf(live, {"cn-shanghai-f": ["vsw-new"], "cn-shanghai-g": ["vsw-g"]}))
    assert merged == {
        "version": "1",
        "max_pool_size": 5,
        "vswitches": {"cn-shanghai-f": ["vsw-old", "vsw-new"], "cn-shanghai-g": ["vsw-g"]},
        "eni_tags": {"ack.aliyun.com": "c1"},
        "eni_cap_ratio": 0.5,
    }


def test_merge_creates_the_map_when_absent_and_unicode_survives():
    merged = codec.merge_eni_conf('{"备注": "生产", "max_pool_size": 25}', {"cn-shanghai-f": ["vsw-a"]})
    assert '"备注": "生产"' in merged
    assert json.loads(merged)["vswitches"] == {"cn-shanghai-f": ["vsw-a"]}


@pytest.mark.parametrize(
    "data, path",
    [
        ({}, "kube-system/eni-config:eni_conf: missing"),
        ({"eni_conf": "{not json"}, "kube-system/eni-config:eni_conf: is not valid JSON"),
        ({"eni_conf": "[1, 2]"}, "kube-system/eni-config:eni_conf: must be a JSON object"),
        ({"eni_conf": '{"vswitches": ["vsw-a"]}'}, "kube-system/eni-config:eni_conf.vswitches: must map each zone"),
        ({"eni_conf": '{"vswitches": {"cn-shanghai-f": "vsw-a"}}'}, "kube-system/eni-config:eni_conf.vswitches: must map each zone"),
        ({"eni_conf": '{"vswitches": {"cn-shanghai-f": [1]}}'}, "kube-system/eni-config:eni_conf.vswitches: must map each zone"),
    ],
)
def test_malformed_live_eni_conf_names_the_key(data, path):
    with pytest.raises(InputError) as caught:
        eni.plan_eni_config(data, "typha", {"cn-shanghai-f": ["vsw-new"]})
    assert str(caught.value).startswith(path)


def test_eni_conf_is_not_even_parsed_when_vswitches_are_not_managed():
    change = eni.plan_eni_config({"eni_conf": "{broken"}, "direct", None)
    assert change.eni_conf is None


@pytest.mark.parametrize(
    "mode, keys",
    [
        ("typha", {"felix_relay_service": "calico-typha"}),
        ("disabled", {"disable_network_policy": "true"}),
        ("direct", {}),
    ],
)
def test_policy_keys_per_mode_over_a_configmap_without_them(mode, keys):
    assert pk.policy_keys(mode) == keys
    assert pk.policy_keys(mode, {}) == keys
    assert set(keys) <= set(facts.MANAGED_KEYS)


@pytest.mark.parametrize(
    "mode, live, after",
    [
        ("typha", {"disable_network_policy": "false"}, {"felix_relay_service": "calico-typha", "disable_network_policy": "false"}),
        ("typha", {"disable_network_policy": "true"}, {"felix_relay_service": "calico-typha", "disable_network_policy": "false"}),
        ("direct", {"disable_network_policy": ""}, {"disable_network_policy": ""}),
        ("direct", {"felix_relay_service": "calico-typha"}, {}),
        ("disabled", {"felix_relay_service": "calico-typha", "disable_network_policy": "0"}, {"disable_network_policy": "true"}),
        ("direct", {"felix_relay_service": "other-typha"}, {"felix_relay_service": "other-typha"}),
        ("typha", {"felix_relay_service": "other-typha"}, {"felix_relay_service": "calico-typha"}),
    ],
)
def test_policy_keys_after_the_run(mode, live, after):
    assert pk.policy_keys(mode, live) == after


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown network policy mode 'off'"):
        pk.policy_keys("off")


POLICY_VALUES = st.one_of(st.none(), st.sampled_from(["true", "false", "0", "", "1", " false ", "calico-typha", "other"]), st.text(max_size=8))


def _live(relay, disable):
    return {k: v for k, v in {facts.RELAY_KEY: relay, facts.DISABLE_POLICY_KEY: disable}.items() if v is not None}


def _apply(live: dict, write: pk.PolicyKeysWrite) -> dict:
    """What the API server makes of the write: apply sets its keys; the JSON patch removes our relay."""
    result = {**live, **write.apply}
    if write.remove_relay and result.get(facts.RELAY_KEY) == facts.TYPHA_SERVICE_NAME:
        del result[facts.RELAY_KEY]
    return result


@settings(max_examples=300, deadline=None)
@given(mode=st.sampled_from(facts.NETWORK_POLICY_MODES), relay=POLICY_VALUES, disable=POLICY_VALUES,
       held=st.lists(st.sampled_from(facts.POLICY_KEYS), unique=True))
def test_policy_keys_write_properties(mode, relay, disable, held):
    live = _live(relay, disable)
    write = pk.policy_keys_write(mode, live, held)
    after = _apply(live, write)
    assert {k: after.get(k) for k in facts.POLICY_KEYS if k in after} == write.after == pk.policy_keys(mode, live)
    # Policy is on exactly in modes typha and direct, as Terway reads the key.
    assert pk.policy_enabled(after.get(facts.DISABLE_POLICY_KEY)) is (mode != "disabled")
    # Felix is pointed at our Typha exactly in mode typha; someone else's relay is never removed.
    assert (after.get(facts.RELAY_KEY) == facts.TYPHA_SERVICE_NAME) is (mode == "typha")
    if mode != "typha" and relay not in (None, facts.TYPHA_SERVICE_NAME):
        assert after[facts.RELAY_KEY] == relay
    # Absent stays absent unless policy must be turned off.
    if disable is None and mode != "disabled":
        assert facts.DISABLE_POLICY_KEY not in after
    # A value that already turns policy on is not rewritten in typha/direct.
    if mode != "disabled" and disable is not None and pk.policy_enabled(disable):
        assert after[facts.DISABLE_POLICY_KEY] == disable
    # Only the stack's keys are ever written.
    assert set(write.apply) <= set(facts.POLICY_KEYS)


def test_a_held_disable_key_stays_held_after_it_was_written():
    # Mode disabled wrote "true"; back in typha it writes "false" and keeps holding the key after.
    first = pk.policy_keys_write("typha", {"disable_network_policy": "true"})
    assert first.apply == {"felix_relay_service": "calico-typha", "disable_network_policy": "false"}
    again = pk.policy_keys_write("typha", {"disable_network_policy": "false"}, held=sorted(first.apply))
    assert again.apply == first.apply
    # Never held and already on: not taken.
    assert pk.policy_keys_write("typha", {"disable_network_policy": "false"}).apply == {"felix_relay_service": "calico-typha"}


@pytest.mark.parametrize(
    "prior, held, live, expected",
    [
        (None, "true", "true", (True, None)),  # absent before: removed again
        ("true", "false", "false", (True, "true")),  # policy was off before: off again
        ("false", "true", "true", (True, "false")),
        ("true", "true", "true", (False, "true")),  # nothing to restore
        (None, "true", "false", (False, "false")),  # changed by someone since: theirs, left alone
        (None, None, "true", (False, "true")),  # the stack never wrote it
    ],
)
def test_restore_disable_policy(prior, held, live, expected):
    assert pk.restore_disable_policy(prior, held, live) == expected


@pytest.mark.parametrize("value, enabled", [
    (None, True), ("false", True), ("0", True), ("", True), ("true", False), ("1", False), ("yes", False),
    ("false\n", False), (" 0", False), ("false\x1f", False),  # Terway compares exactly: these turn policy off
])
def test_disable_network_policy_is_read_like_terway_reads_it(value, enabled):
    assert pk.policy_enabled(value) is enabled


def test_trigger_changes_exactly_when_an_effective_value_changes():
    live = {"eni_conf": '{"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "max_pool_size": 5}'}
    base = eni.plan_eni_config(live, "typha", {"cn-shanghai-f": ["vsw-new"]})
    reformatted = {"eni_conf": json.dumps(json.loads(base.eni_conf), indent=8)}
    assert eni.plan_eni_config(reformatted, "typha", {"cn-shanghai-f": ["vsw-new"]}).trigger() == base.trigger()
    drifted = {"eni_conf": base.eni_conf.replace('"max_pool_size": 5', '"max_pool_size": 10')}
    assert eni.plan_eni_config(drifted, "typha", {"cn-shanghai-f": ["vsw-new"]}).trigger() != base.trigger()
    assert eni.plan_eni_config(live, "disabled", {"cn-shanghai-f": ["vsw-new"]}).trigger() != base.trigger()
    assert eni.plan_eni_config(live, "direct", None).trigger() != eni.plan_eni_config(live, "disabled", None).trigger()


def test_centralized_ipam_still_restarts_terway_for_new_vswitches():
    # Terway's daemon re-reads eni-config only on Node CR events (pkg/eni/node_reconcile.go), which can
    # be hours apart (multiIPNodeSyncPeriod 12h): the restart trigger must still follow vswitches.
    live = {"eni_conf": '{"ipam_type": "crd", "vswitches": {"cn-shanghai-f": ["vsw-a"]}}'}
    before = eni.EniConfigChange(policy={}, eni_conf=live["eni_conf"]).trigger()
    after = eni.plan_eni_config(live, "direct", {"cn-shanghai-f": ["vsw-new"]})
    assert eni.EniConfigChange(policy={}, eni_conf=after.eni_conf).trigger() != before


def test_per_node_configs_that_override_a_zone_must_carry_the_new_id():
    configs = {
        "big-nodes": {"eni_conf": '{"vswitches": {"cn-shanghai-f": ["vsw-special"]}}'},
        "already-fine": {"eni_conf": '{"vswitches": {"cn-shanghai-f": ["vsw-special", "vsw-new"]}}'},
        "pool-only": {"eni_conf": '{"max_pool_size": 50}'},
        "other-zone": {"eni_conf": '{"vswitches": {"cn-shanghai-g": ["vsw-g"]}}'},
        "no-eni-conf": {"something": "else"},
    }
    problems = codec.per_node_config_gaps(configs, {"cn-shanghai-f": ["vsw-new"]})
    assert [p.path for p in problems] == ["kube-system/big-nodes:eni_conf.vswitches.cn-shanghai-f"]
    assert "without vsw-new" in problems[0].message and "terway-config=big-nodes" in problems[0].message


def test_a_per_node_config_with_null_vswitches_hides_every_new_vswitch():
    configs = {"gpu": {"eni_conf": '{"vswitches": null}'}, "fine": {"eni_conf": '{"max_pool_size": 5}'}}
    [problem] = codec.per_node_config_gaps(configs, {"cn-shanghai-f": ["vsw-new"]}, new_zones=["cn-shanghai-g"])
    assert problem.path == "kube-system/gpu:eni_conf.vswitches"
    assert "removes the base's vswitches (RFC 7396)" in problem.message and "cn-shanghai-f, cn-shanghai-g" in problem.message
    assert codec.per_node_config_gaps(configs, {}) == []


def test_the_conflist_is_the_cni_config_terway_installs():
    ebpf = '{"type": "terway", "network_policy_provider": "ebpf"}'
    veth = '{"plugins": [{"type": "terway", "eniip_virtual_type": "Veth"}]}'
    assert pk.cni_config_keys({"10-terway.conf": ebpf, "10-terway.conflist": veth}) == ("10-terway.conflist",)
    assert pk.relay_ineffective_reasons(["terway-eniip"], {"10-terway.conf": ebpf, "10-terway.conflist": veth}) == []
    assert len(pk.relay_ineffective_reasons(["terway-eniip"], {"10-terway.conf": ebpf})) == 1


def test_malformed_per_node_config_names_that_configmap():
    with pytest.raises(InputError) as caught:
        codec.per_node_config_gaps({"broken": {"eni_conf": "{"}}, {"cn-shanghai-f": ["vsw-new"]})
    assert str(caught.value).startswith("kube-system/broken:eni_conf: is not valid JSON")


@pytest.mark.parametrize(
    "daemon_sets, data, expected",
    [
        (["terway-eniip"], {"10-terway.conf": '{"type": "terway", "eniip_virtual_type": "Veth"}'}, []),
        (["terway-eniip"], {"10-terway.conf": '{"type": "terway", "eniip_virtual_type": "IPVlan"}'}, ["ipvlan"]),
        (["terway-eniip"], {"10-terway.conflist": '{"plugins": [{"type": "terway", "eniip_virtual_type": "datapathv2"}]}'}, ["datapathv2"]),
        (["terway-eni"], {}, ["terway-eni"]),
        (["terway-eniip"], {"10-terway.conf": "not json"}, []),
    ],
)
def test_relay_is_reported_useless_where_felix_is_not_the_policy_engine(daemon_sets, data, expected):
    reasons = pk.relay_ineffective_reasons(daemon_sets, data)
    assert len(reasons) == len(expected)
    for reason, word in zip(reasons, expected):
        assert word in reason
