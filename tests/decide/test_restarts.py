"""Restart only for an effective change (decide/restarts.py), with property tests over generated
live eni-config states: the writers' plan over a generated live ConfigMap, then the restart rule,
against an oracle written from the domain facts alone (what Terway reads at start)."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.decide import eni_conf_codec as codec
from terway_stack.decide import facts
from terway_stack.decide import policy_keys as pk
from terway_stack.decide.eni_config import EniConfigChange
from terway_stack.decide import restarts as r

RUNS = 400  # generated cases per property (reported in the branch's report)

relays = st.sampled_from([None, "", "calico-typha", "other-typha", "calico-typha "])
disables = st.sampled_from([None, "", "false", "0", "true", "1", "false\n", "yes", " false"])
zones = st.sampled_from(["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"])
ids = st.sampled_from(["vsw-a", "vsw-b", "vsw-c", "vsw-d"])
vswitch_maps = st.dictionaries(zones, st.lists(ids, max_size=3, unique=True), max_size=3)
wanted_maps = st.dictionaries(zones, st.lists(ids, min_size=1, max_size=1), max_size=2)


@st.composite
def live_eni_configs(draw):
    data = {}
    relay, disable = draw(relays), draw(disables)
    if relay is not None:
        data[facts.RELAY_KEY] = relay
    if disable is not None:
        data[facts.DISABLE_POLICY_KEY] = disable
    conf = {"version": "1", "max_pool_size": draw(st.integers(0, 20))}
    if draw(st.booleans()):
        conf["vswitches"] = draw(vswitch_maps)
    indent = draw(st.sampled_from([None, 2]))
    data[facts.ENI_CONF_KEY] = json.dumps(conf, indent=indent)
    data["10-terway.conf"] = "{}"
    return data


def terway_reads(data, keys):
    """Oracle: what Terway's containers take from these keys at start, from DOMAIN.md's facts."""
    out = {}
    if facts.RELAY_KEY in keys:
        out["relay"] = data.get(facts.RELAY_KEY) or None  # an empty env is no relay
    if facts.DISABLE_POLICY_KEY in keys:
        value = data.get(facts.DISABLE_POLICY_KEY)
        out["policy on"] = value is None or value in ("false", "0", "")  # compared exactly: "false\n" is off
    if facts.ENI_CONF_KEY in keys:
        out["eni_conf"] = json.loads(data[facts.ENI_CONF_KEY])
    return out


def run_writers(live, mode, wanted):
    """What the two writers leave: decide's plan over the live data."""
    after = dict(live)
    for key in facts.POLICY_KEYS:
        after.pop(key, None)
    after.update(pk.policy_keys(mode, live))
    if wanted is not None:
        after[facts.ENI_CONF_KEY] = codec.merge_eni_conf(live[facts.ENI_CONF_KEY], wanted)
    return after


@settings(max_examples=RUNS, deadline=None)
@given(live_eni_configs(), st.sampled_from(facts.NETWORK_POLICY_MODES), st.one_of(st.none(), wanted_maps))
def test_first_run_restarts_iff_the_writers_changed_what_terway_reads(live, mode, wanted):
    after = run_writers(live, mode, wanted)
    changed = [
        r.writer_changed(live, after, facts.POLICY_KEYS),
        r.writer_changed(live, after, (facts.ENI_CONF_KEY,)) if wanted is not None else None,
    ]
    trigger = EniConfigChange(pk.policy_keys(mode, live), after[facts.ENI_CONF_KEY] if wanted is not None else None).trigger()
    decision = r.restart_on_change(None, trigger, changed)
    keys = (*facts.POLICY_KEYS, *((facts.ENI_CONF_KEY,) if wanted is not None else ()))
    assert decision.restart == (terway_reads(live, keys) != terway_reads(after, keys)), (live, mode, wanted, decision)
    # And a second run over what the first one left changes nothing and restarts nothing.
    again = run_writers(after, mode, wanted)
    assert again == after
    assert not r.restart_on_change(trigger, trigger, [r.writer_changed(after, again, keys)]).restart


@settings(max_examples=RUNS, deadline=None)
@given(live_eni_configs(), live_eni_configs())
def test_later_runs_restart_iff_the_effective_values_moved_since_the_last_restart(before, now):
    keys = (*facts.POLICY_KEYS, facts.ENI_CONF_KEY)

    def trigger(data):
        return EniConfigChange({k: data[k] for k in facts.POLICY_KEYS if k in data}, data[facts.ENI_CONF_KEY]).trigger()

    decision = r.restart_on_change(trigger(before), trigger(now), [False, False])
    assert decision.restart == (terway_reads(before, keys) != terway_reads(now, keys))


@settings(max_examples=RUNS, deadline=None)
@given(live_eni_configs(), st.sampled_from(facts.NETWORK_POLICY_MODES), st.one_of(st.none(), live_eni_configs()))
def test_destroy_restarts_iff_the_release_changed_what_terway_reads(live, mode, released):
    left = run_writers(live, mode, None)  # what the stack's last up left
    baseline = r.policy_baseline(left)
    # `released`: what eni-config holds after the destroy's release (None: the same as left).
    now = left if released is None else released
    decision = r.restart_on_release(baseline, now)
    assert decision.restart == (terway_reads(left, facts.POLICY_KEYS) != terway_reads(now, facts.POLICY_KEYS))


def test_mode_direct_destroy_after_a_converged_up_restarts_nothing():
    live = {facts.DISABLE_POLICY_KEY: "false", facts.ENI_CONF_KEY: "{}"}
    left = run_writers(live, "direct", None)
    assert left == live
    assert not r.restart_on_release(r.policy_baseline(left), left).restart


def test_a_released_relay_restarts_and_a_vanished_eni_config_counts_as_released():
    left = {facts.RELAY_KEY: "calico-typha"}
    assert r.restart_on_release(r.policy_baseline(left), {}).restart
    assert r.restart_on_release(r.policy_baseline(left), None).restart
    assert not r.restart_on_release(r.policy_baseline({}), None).restart


def test_a_state_from_before_baselines_restarts_on_release_as_before():
    assert r.restart_on_release("", {}).restart and r.restart_on_release(None, {}).restart


def test_reformatting_eni_conf_is_no_change():
    before = {facts.ENI_CONF_KEY: '{"vswitches": {"z": ["a"]}, "max_pool_size": 5}'}
    after = {facts.ENI_CONF_KEY: '{\n  "max_pool_size": 5,\n  "vswitches": {"z": ["a"]}\n}'}
    assert not r.writer_changed(before, after, (facts.ENI_CONF_KEY,))
    assert r.writer_changed(before, {facts.ENI_CONF_KEY: '{"vswitches": {"z": ["a", "b"]}, "max_pool_size": 5}'},
                            (facts.ENI_CONF_KEY,))


def test_a_writer_that_does_not_say_never_causes_a_first_restart():
    assert not r.restart_on_change(None, "t", [None, None]).restart
    assert r.restart_on_change(None, "t", [None, True]).restart
