"""The preflight provider's contract with the engine, without an API server.

Its reads against a real kube-apiserver, under the real engine, are in e2e/tests/test_preflight.py.
"""
from __future__ import annotations

from pulumi.runtime import rpc

from terway_stack.act import node_configs, preflight
from terway_stack.decide import facts
from terway_stack.decide.preflight import PreflightSettings
from tests.engine_pickling import engine_copy

SETTINGS = PreflightSettings(mode="typha", daemon_sets=("terway-eniip",)).as_props()


def test_nothing_is_read_while_the_kubeconfig_or_settings_are_unknown():
    for news in (
        {"kind": facts.PREFLIGHT_KIND, "settings": SETTINGS, "kubeconfig": rpc.UNKNOWN},
        {"kind": facts.PREFLIGHT_KIND, "settings": {**SETTINGS, "daemonSets": [rpc.UNKNOWN]}, "kubeconfig": "unused"},
    ):
        inputs, failures = preflight.run_checks(news)
        assert failures == [] and inputs["warnings"] == [] and inputs["notes"] == []


def test_an_unreadable_cluster_fails_without_echoing_the_kubeconfig():
    secret = "apiVersion: v1\nusers: [{name: u, user: {token: sekret-token-123}}]\n: : broken"
    inputs, [failure] = preflight.run_checks({"kind": facts.PREFLIGHT_KIND, "settings": SETTINGS, "kubeconfig": secret})
    assert failure.property == ""  # the engine prints an input's value next to a named property
    assert failure.reason.startswith("preflight cannot read the cluster: kubeconfig")
    assert "sekret-token-123" not in failure.reason


def test_changed_results_are_a_change_so_outputs_never_hold_stale_warnings():
    provider = preflight.PreflightCheckProvider()
    olds = {"kind": facts.PREFLIGHT_KIND, "settings": SETTINGS, "kubeconfig": "k", "warnings": ["a"], "notes": []}
    assert not provider.diff("preflight", olds, dict(olds)).changes
    assert provider.diff("preflight", olds, {**olds, "warnings": []}).changes
    assert provider.diff("preflight", olds, {**olds, "settings": {**SETTINGS, "mode": "direct"}}).changes
    assert provider.diff("preflight", olds, {**olds, "kubeconfig": rpc.UNKNOWN}).changes
    created = provider.create({**olds, "warnings": ["w"], "notes": ["n"]})
    assert created.outs["warnings"] == ["w"] and created.outs["notes"] == ["n"]


def test_providers_survive_the_engines_pickling_at_their_import_paths():
    # Existing stacks hold the per-node check in state: its provider must still load for their deletes.
    assert type(engine_copy(node_configs.PerNodeConfigCheckProvider())).__module__ == "terway_stack.act.node_configs"
    copy = engine_copy(preflight.PreflightCheckProvider())
    assert type(copy).__module__ == "terway_stack.act.preflight"
    assert copy.delete("preflight", {}) is None
