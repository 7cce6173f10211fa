"""Unit tests of the eni-config writers that need no API server.

Everything that talks to Kubernetes (the resourceVersion precondition, conflict retries, relay
removal over a co-owner, restore on delete) is exercised against a real kube-apiserver in
e2e/tests/test_eni_config_writers.py. Here: serialization by reference, diff/check, the delete
plan, ownership reading, and that errors never echo the kubeconfig.
"""
from __future__ import annotations

import base64

import pulumi
import pytest
from pulumi.runtime import rpc

from terway_stack.act import configmap_writes as cw
from terway_stack.act import eni_config_writer as w
from tests.engine_pickling import engine_pickle, engine_unpickle, in_fresh_interpreter
from terway_stack.act import kube
from terway_stack.act import policy_keys_writes as pw
from terway_stack.decide import facts

from .kubeconfigs import SECRET_TOKEN, UNREACHABLE_KUBECONFIG

def policy_props(**over):
    base = {
        "kind": facts.ENI_CONFIG_WRITER_KIND, "role": facts.POLICY_KEYS_ROLE, "namespace": "kube-system", "configMap": "eni-config",
        "fieldManager": w.POLICY_MANAGER, "data": {"felix_relay_service": "calico-typha"},
        "networkPolicyMode": "typha", "observed": {}, "kubeconfig": UNREACHABLE_KUBECONFIG,
    }
    return {**base, **over}


def eni_props(**over):
    base = {
        "kind": facts.ENI_CONFIG_WRITER_KIND, "role": facts.ENI_CONF_ROLE, "namespace": "kube-system", "configMap": "eni-config",
        "fieldManager": w.ENI_CONF_MANAGER, "data": {"eni_conf": '{"vswitches": {}}'},
        "wantedVSwitches": {"cn-shanghai-f": ["vsw-new"]}, "kubeconfig": UNREACHABLE_KUBECONFIG,
    }
    return {**base, **over}


@pytest.mark.parametrize("provider", [w.EniConfWriterProvider(), w.PolicyKeysWriterProvider()])
def test_providers_are_pickled_by_reference_and_hold_nothing(provider):
    text, raw = engine_pickle(provider)
    assert b"terway_stack.act.eni_config_writer" in raw and type(provider).__name__.encode() in raw
    assert engine_unpickle(raw).__dict__ == {}
    assert in_fresh_interpreter(text, "type(p).__module__") == "terway_stack.act.eni_config_writer"


# --------------------------------------------------------------------------- diff and check


def test_policy_diff_compares_the_plan_with_what_was_live_after_the_last_write():
    provider = w.PolicyKeysWriterProvider()
    written = {**policy_props(), "held": ["felix_relay_service"], "priorRecorded": False}
    assert provider.diff("id", written, policy_props(observed={"felix_relay_service": "calico-typha"})).changes is False
    # Someone removed the relay since: the plan from this run's read differs from what was written.
    drifted = policy_props(data={"felix_relay_service": "calico-typha", "disable_network_policy": "false"})
    assert provider.diff("id", written, drifted).changes is True
    assert provider.diff("id", written, policy_props(networkPolicyMode="direct")).changes is True
    assert provider.diff("id", written, policy_props(data=rpc.UNKNOWN)).changes is True
    moved = provider.diff("id", written, policy_props(configMap="other"))
    assert moved.replaces == ["configMap"]


def test_policy_diff_sees_a_drift_that_left_the_plan_equal_to_the_last_write():
    """Direct mode wrote no relay; someone set it again by hand. The plan (no relay) equals the last
    write, but not what this run read: there is something to remove."""
    provider = w.PolicyKeysWriterProvider()
    written = {**policy_props(networkPolicyMode="direct", data={}), "held": [], "priorRecorded": False}
    converged = policy_props(networkPolicyMode="direct", data={}, observed={})
    assert provider.diff("id", written, converged).changes is False
    drifted = policy_props(networkPolicyMode="direct", data={}, observed={"felix_relay_service": "calico-typha"})
    assert provider.diff("id", written, drifted).changes is True
    assert provider.diff("id", written, policy_props(networkPolicyMode="direct", data={}, observed=rpc.UNKNOWN)).changes is True


def test_eni_conf_diff_is_quiet_when_the_plan_equals_what_was_written():
    provider = w.EniConfWriterProvider()
    assert provider.diff("id", eni_props(), eni_props()).changes is False
    assert provider.diff("id", eni_props(), eni_props(data={"eni_conf": '{"vswitches": {"a": []}}'})).changes is True
    assert provider.diff("id", eni_props(), eni_props(wantedVSwitches=rpc.UNKNOWN)).changes is True
    # Our id was removed by hand and the re-merge happens to give back exactly the last write.
    written = eni_props(data={"eni_conf": '{"vswitches": {"f": ["vsw-new"]}}'})
    assert provider.diff("id", written, {**written, "observed": {"eni_conf": '{"vswitches": {"f": []}}'}}).changes is True
    assert provider.diff("id", written, {**written, "observed": written["data"]}).changes is False


def test_check_reports_bad_inputs_by_name():
    failures = w.PolicyKeysWriterProvider().check({}, policy_props(networkPolicyMode="off", namespace="")).failures
    assert sorted(f.property for f in failures) == ["namespace", "networkPolicyMode"]
    failures = w.EniConfWriterProvider().check({}, eni_props(wantedVSwitches=["vsw-a"])).failures
    assert [f.property for f in failures] == ["wantedVSwitches"]
    assert w.EniConfWriterProvider().check({}, eni_props(wantedVSwitches=rpc.UNKNOWN)).failures == []


def test_eni_conf_delete_writes_nothing():
    # Retained: it must not even try to reach the (unreachable) cluster.
    assert w.EniConfWriterProvider().delete("id", eni_props()) is None


# --------------------------------------------------------------------------- what delete sends


def state(after, held=(), recorded=False, prior=None):
    return w.PolicyState(dict(after), list(held), recorded, prior)


def test_delete_from_typha_removes_our_relay_only_while_it_is_ours():
    ops = pw.release_ops("typha", state({"felix_relay_service": "calico-typha"}), {"felix_relay_service": "calico-typha"})
    assert ops == [
        {"op": "test", "path": "/data/felix_relay_service", "value": "calico-typha"},
        {"op": "remove", "path": "/data/felix_relay_service"},
    ]
    assert pw.release_ops("typha", state({}), {"felix_relay_service": "someone-elses-typha"}) == []
    assert pw.release_ops("direct", state({}), {"felix_relay_service": "calico-typha"}) == []


@pytest.mark.parametrize(
    "prior, held_value, live, ops",
    [
        (None, "true", "true", [{"op": "test", "path": "/data/disable_network_policy", "value": "true"},
                                {"op": "remove", "path": "/data/disable_network_policy"}]),
        ("true", "false", "false", [{"op": "test", "path": "/data/disable_network_policy", "value": "false"},
                                    {"op": "replace", "path": "/data/disable_network_policy", "value": "true"}]),
        (None, "true", "false", []),  # changed by someone else since: left
        ("true", "true", "true", []),
    ],
)
def test_delete_restores_disable_network_policy_from_before_the_stack(prior, held_value, live, ops):
    previous = state({"disable_network_policy": held_value}, held=["disable_network_policy"], recorded=True, prior=prior)
    assert pw.release_ops("disabled", previous, {"disable_network_policy": live}) == ops


def test_nothing_recorded_means_nothing_restored():
    previous = state({"disable_network_policy": "false"}, held=[], recorded=False)
    assert pw.release_ops("direct", previous, {"disable_network_policy": "false"}) == []


def test_policy_state_round_trips_through_outputs():
    previous = state({"disable_network_policy": "true"}, held=["disable_network_policy"], recorded=True, prior=None)
    assert w.policy_state(previous.outputs()) == previous


def test_changed_since_read_names_each_moved_key():
    observed = {"felix_relay_service": "calico-typha"}
    assert pw.changed_since_read({"felix_relay_service": "calico-typha"}, observed) == []
    assert pw.changed_since_read({"felix_relay_service": "x", "disable_network_policy": "true"}, observed) == [
        "felix_relay_service", "disable_network_policy"
    ]
    assert pw.changed_since_read({"felix_relay_service": "x"}, rpc.UNKNOWN) == []


def test_owned_keys_reads_apply_entries_of_one_manager():
    cm = {"metadata": {"managedFields": [
        {"manager": w.POLICY_MANAGER, "operation": "Apply", "fieldsV1": {"f:data": {"f:felix_relay_service": {}}}},
        {"manager": w.POLICY_MANAGER, "operation": "Update", "fieldsV1": {"f:data": {"f:disable_network_policy": {}}}},
        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:eni_conf": {}}}},
    ]}}
    assert w.owned_keys(cm, w.POLICY_MANAGER) == {"felix_relay_service"}
    assert w.owned_keys(cm, w.ENI_CONF_MANAGER) == set()


def test_json_pointer_escapes_key_names():
    assert cw.data_path("10-terway.conf") == "/data/10-terway.conf"
    assert cw.data_path("a/b~c") == "/data/a~1b~0c"


# --------------------------------------------------------------------------- secrets


def test_unreachable_cluster_error_names_no_secret():
    with pytest.raises(kube.KubeError) as caught:
        w.PolicyKeysWriterProvider().create(policy_props())
    assert "cannot reach the Kubernetes API server" in str(caught.value)
    assert SECRET_TOKEN not in str(caught.value)


def test_resources_declare_camel_case_props_and_a_secret_kubeconfig():
    recorded = {}

    class Recorder(pulumi.runtime.Mocks):
        def new_resource(self, args):
            recorded[args.name] = dict(args.inputs)
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Recorder(), preview=False)

    @pulumi.runtime.test
    def run():
        policy = w.PolicyKeysWriter("p", kubeconfig=UNREACHABLE_KUBECONFIG, mode="disabled",
                                    planned={"disable_network_policy": "true"}, observed={})
        eni = w.EniConfWriter("e", kubeconfig=UNREACHABLE_KUBECONFIG, wanted_vswitches={"cn-shanghai-f": ["vsw-a"]},
                              planned_eni_conf="{}")
        return pulumi.Output.all(policy.urn, eni.urn)

    run()
    assert recorded["p"]["networkPolicyMode"] == "disabled" and recorded["p"]["fieldManager"] == w.POLICY_MANAGER
    assert recorded["e"]["fieldManager"] == w.ENI_CONF_MANAGER and recorded["e"]["data"] == {"eni_conf": "{}"}
    for inputs in recorded.values():
        assert rpc.is_rpc_secret(inputs["kubeconfig"])
        assert SECRET_TOKEN.encode() not in base64.b64decode(rpc.unwrap_rpc_secret(inputs["__provider"]))
    with pytest.raises(ValueError):
        w.PolicyKeysWriter("bad", kubeconfig="x", mode="off", planned={}, observed={})
