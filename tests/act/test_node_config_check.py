"""The per-node config check's wiring to the decide layer, without an API server.

Listing nodes and reading ConfigMaps is tested against a real kube-apiserver in
e2e/tests/test_rollout_provider.py.
"""
from __future__ import annotations

import json

import pulumi
from pulumi.runtime import rpc

from terway_stack.act import node_configs as nc
from tests.engine_pickling import engine_pickle, engine_unpickle

ZONE_F, ZONE_G = "cn-shanghai-f", "cn-shanghai-g"


def cm_data(vswitches, **extra):
    return {"eni_conf": json.dumps({"version": "1", "vswitches": vswitches, **extra})}


def test_gap_is_a_check_failure_naming_the_configmap_and_zone():
    configs = {"big-nodes": cm_data({ZONE_F: ["vsw-old"]})}
    failures = nc.gap_failures(configs, {ZONE_F: ["vsw-new"]})
    assert len(failures) == 1
    assert failures[0].property == "wantedVSwitches"
    assert failures[0].reason.startswith("kube-system/big-nodes:eni_conf.vswitches.cn-shanghai-f:")
    assert "vsw-new" in failures[0].reason and "terway-config=big-nodes" in failures[0].reason


def test_configs_that_do_not_override_the_zone_or_already_have_the_id_pass():
    configs = {
        "other-zone": cm_data({ZONE_G: ["vsw-g"]}),
        "no-vswitches": {"eni_conf": json.dumps({"max_pool_size": 10})},
        "not-eni": {"something": "else"},
        "up-to-date": cm_data({ZONE_F: ["vsw-old", "vsw-new"]}),
    }
    assert nc.gap_failures(configs, {ZONE_F: ["vsw-new"]}) == []


def test_malformed_per_node_eni_conf_is_reported_with_its_configmap():
    failures = nc.gap_failures({"broken": {"eni_conf": "{not json"}}, {ZONE_F: ["vsw-new"]})
    assert len(failures) == 1 and failures[0].reason.startswith("kube-system/broken:eni_conf")


def test_unknown_ids_count_as_missing_from_every_per_node_list():
    wanted = nc.known_wanted({ZONE_F: [rpc.UNKNOWN], ZONE_G: rpc.UNKNOWN})
    assert wanted == {ZONE_F: [nc.PENDING_ID], ZONE_G: [nc.PENDING_ID]}
    configs = {"a": cm_data({ZONE_F: ["vsw-1"]}), "b": cm_data({ZONE_G: ["vsw-2"]})}
    reasons = [f.reason for f in nc.gap_failures(configs, wanted)]
    assert len(reasons) == 2 and all(nc.PENDING_ID in r for r in reasons)


def test_known_ids_next_to_an_unknown_are_kept():
    assert nc.known_wanted({ZONE_F: ["vsw-1", rpc.UNKNOWN]}) == {ZONE_F: ["vsw-1", nc.PENDING_ID]}
    assert nc.known_wanted(rpc.UNKNOWN) is None


def test_node_config_names_are_the_distinct_label_values():
    nodes = {"items": [
        {"metadata": {"labels": {"terway-config": "big"}}},
        {"metadata": {"labels": {"terway-config": "big"}}},
        {"metadata": {"labels": {"terway-config": "gpu"}}},
        {"metadata": {"labels": {}}},
    ]}
    assert nc.node_config_names(nodes) == ["big", "gpu"]


def test_check_skips_the_cluster_when_kubeconfig_or_wanted_is_unknown():
    provider = nc.PerNodeConfigCheckProvider()
    news = {"kind": nc.KIND, "wantedVSwitches": {ZONE_F: ["vsw-1"]}, "kubeconfig": rpc.UNKNOWN}
    assert provider.check({}, news).failures == []
    news = {"kind": nc.KIND, "wantedVSwitches": rpc.UNKNOWN, "kubeconfig": "not used"}
    assert provider.check({}, news).failures == []


def test_check_rejects_a_malformed_wanted_map_before_any_cluster_call():
    news = {"kind": nc.KIND, "wantedVSwitches": {ZONE_F: "vsw-1"}, "kubeconfig": "not used"}
    failures = nc.PerNodeConfigCheckProvider().check({}, news).failures
    assert [f.property for f in failures] == ["wantedVSwitches"]


def test_check_reports_an_unreadable_cluster_as_a_failure_without_the_kubeconfig():
    secret = "tok-" + "hush" * 8
    kubeconfig = (
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        f"users: [{{name: u, user: {{token: {secret}}}}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    news = {"kind": nc.KIND, "wantedVSwitches": {ZONE_F: ["vsw-1"]}, "kubeconfig": kubeconfig}
    failures = nc.PerNodeConfigCheckProvider().check({}, news).failures
    assert [f.property for f in failures] == ["kubeconfig"] and secret not in failures[0].reason


def test_diff_create_update_read_are_complete_and_offline():
    provider = nc.PerNodeConfigCheckProvider()
    props = {"kind": nc.KIND, "wantedVSwitches": {ZONE_F: ["vsw-1"]}, "kubeconfig": "k"}
    created = provider.create(props)
    assert created.outs == props
    assert provider.diff(created.id, created.outs, dict(props)).changes is False
    changed = {**props, "wantedVSwitches": {ZONE_F: ["vsw-1", "vsw-2"]}}
    assert provider.diff(created.id, created.outs, changed).changes is True
    assert provider.diff(created.id, created.outs, {**props, "wantedVSwitches": rpc.UNKNOWN}).changes is True
    assert provider.update(created.id, created.outs, changed).outs == changed
    assert provider.read(created.id, changed).outs == changed


def test_provider_survives_pulumi_serializer():
    _, raw = engine_pickle(nc.PerNodeConfigCheckProvider())
    provider = engine_unpickle(raw)
    assert b"terway_stack.act.node_configs" in raw and provider.__dict__ == {}
    assert provider.diff("i", {"kind": nc.KIND}, {"kind": nc.KIND}).changes is False


def test_resource_props_and_secret_kubeconfig():
    seen = {}

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            seen[args.typ] = dict(args.inputs)
            return "id", dict(args.inputs)

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Mocks(), preview=False)

    @pulumi.runtime.test
    def run():
        return nc.PerNodeConfigCheck("check", kubeconfig="kc-text", wanted_vswitches={ZONE_F: ["vsw-1"]}).urn

    run()
    inputs = seen["pulumi-python:dynamic/terway_stack:PerNodeConfigCheck"]
    assert inputs["kind"] == "terway-per-node-config-check"
    assert inputs["wantedVSwitches"] == {ZONE_F: ["vsw-1"]}
    assert rpc.is_rpc_secret(inputs["kubeconfig"])
