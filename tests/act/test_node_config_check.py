"""The per-node config check of earlier versions: what old stacks need to delete it.

The check itself moved into the preflight gate; its behaviour is tested there (tests/decide/test_preflight.py
per-node tests, tests/decide/test_eni_config.py per_node_config_gaps, e2e/tests/test_preflight.py).
"""
from __future__ import annotations


from terway_stack.act import node_configs as nc
from terway_stack.act import preflight
from tests.engine_pickling import engine_pickle, engine_unpickle

STATE = {"kind": "terway-per-node-config-check", "wantedVSwitches": {"cn-shanghai-f": ["vsw-1"]}, "kubeconfig": "k"}


def test_node_config_names_are_the_distinct_label_values():
    nodes = {"items": [
        {"metadata": {"labels": {"terway-config": "big"}}},
        {"metadata": {"labels": {"terway-config": "big"}}},
        {"metadata": {"labels": {"terway-config": "gpu"}}},
        {"metadata": {"labels": {}}},
    ]}
    assert preflight.node_config_names(nodes) == ["big", "gpu"]


def test_delete_and_read_of_a_check_left_in_state_touch_no_cluster():
    provider = nc.PerNodeConfigCheckProvider()
    # The kubeconfig in state is not a kubeconfig at all: any cluster call would fail.
    assert provider.delete("per-node-config-check", dict(STATE)) is None
    assert provider.read("per-node-config-check", dict(STATE)).outs == STATE


def test_provider_survives_pulumi_serializer():
    _, raw = engine_pickle(nc.PerNodeConfigCheckProvider())
    provider = engine_unpickle(raw)
    assert b"terway_stack.act.node_configs" in raw and provider.__dict__ == {}
    assert provider.delete("per-node-config-check", dict(STATE)) is None
