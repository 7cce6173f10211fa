"""Issue 19, secrets in messages: a secret value (here an adopted vSwitch id set with --secret, padded
with blanks or holding a control character) is never quoted by any message, whichever layer writes it.

Generated ids drive the real code paths that produce messages:
- the settings loader and the program under the mock runtime (refusals, cloud-check problems, logs);
- the preflight provider's check() and the eni_conf writer's create(), called the way the engine calls
  them: with the inputs the program declared, secret marks stripped (the engine strips them for a
  dynamic provider), against a stand-in API server (tests/act/stub_apiserver.py) whose per-node
  Terway ConfigMap overrides the zone, so that the check's message names the missing id.
Each asserts that no failure, exception, log line or stderr line holds the id or its cleaned form.
"""
from __future__ import annotations

import json
import sys

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.runtime import rpc

from terway_stack.act import dynamic
from terway_stack.act.eni_config_writer import EniConfWriterProvider
from terway_stack.act.kube import NODES, SELF_SUBJECT_ACCESS_REVIEWS, configmap_path, daemonset_path
from terway_stack.act.preflight import PreflightCheckProvider
from terway_stack.plan import mocks
from terway_stack.plan.mocks import evaluate
from terway_stack.plan.stack_files import OFFLINE_KUBECONFIG
from terway_stack.program import run
from tests.act.stub_apiserver import StubApiServer

from .secret_config import secret_keys

ZONE = "cn-shanghai-f"
PREFLIGHT = "pulumi-python:dynamic/terway_stack:PreflightCheck"
WRITER = "pulumi-python:dynamic/terway_stack:EniConfWriter"
BLANKS = st.sampled_from(["", " ", "\t", "\n", " \t\r\n"])
CONTROLS = st.sampled_from(["\x1f", "\x1c", "\x00", "\x7f", "\x85", "\u2028", "\u200b", "\x1b[31m"])
ids = st.text("0123456789abcdefghijklmnopqrstuvwxyz", min_size=10, max_size=20).map(lambda t: "vsw-s" + t)


def stack(vswitch_id: str, cloud_lookups: bool) -> dict:
    return {
        "alicloud:region": "cn-shanghai",
        "kubernetes:kubeconfig": OFFLINE_KUBECONFIG,
        "terway:cluster": {"name": "prod", "kubernetesVersion": "1.30", "nodeCount": 12},
        "terway:networkPolicy": "direct",
        "terway:cloudLookups": cloud_lookups,
        "terway:podVSwitches": {"vpcId": "vpc-a1", "zones": {ZONE: {"vswitchId": vswitch_id}}},
    }


def leaks(text: str, secret: str) -> bool:
    core = secret.strip()
    return any(form and form in text for form in {secret, core, json.dumps(core)[1:-1], repr(core)[1:-1]})


def stripped(value):
    """Inputs as a dynamic provider receives them: the engine removes every secret mark."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return stripped(value["value"])
        return {k: stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stripped(v) for v in value]
    return value


def declared(config: dict, cloud=None):
    with secret_keys(["terway:podVSwitches"]):
        return evaluate(lambda: run(config, environ={}), config, stack="secret-messages", cloud_answers=cloud)


# --------------------------------------------------------------------------- refused before anything


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=ids, before=BLANKS, after=BLANKS, control=CONTROLS, cut=st.integers(0, 30))
def test_a_refused_secret_is_named_by_key_never_quoted(secret, before, after, control, cut):
    value = before + secret[:cut] + control + secret[cut:] + after
    with pytest.raises(pulumi.RunError) as caught:
        declared(stack(value, cloud_lookups=False))
    message = str(caught.value)
    assert f"terway:podVSwitches.zones.{ZONE}.vswitchId" in message, message
    assert not leaks(message, secret) and not leaks(message, value), message
    assert "Traceback" not in message


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=ids, before=BLANKS, after=BLANKS)
def test_a_cloud_check_about_a_secret_id_does_not_quote_it(secret, before, after):
    # The cloud says the adopted vSwitch lives in another zone: the message names the key, not the id.
    cloud = {"alicloud:vpc/getSwitches:getSwitches": mocks.switches_answer({secret: {"zoneId": "cn-shanghai-g"}})}
    with pytest.raises(pulumi.RunError) as caught:
        declared(stack(before + secret + after, cloud_lookups=True), cloud)
    message = str(caught.value)
    assert message.startswith(f"terway:podVSwitches.zones.{ZONE}.vswitchId: "), message
    assert "[secret]" in message and not leaks(message, secret), message


# --------------------------------------------------------------------------- the providers' own messages


def cluster(overriding: bool) -> StubApiServer:
    """eni-config, a rolling Terway DaemonSet, every access allowed, and one node whose per-node config
    lists another vSwitch for the zone (the preflight then reports the adopted id as missing there)."""
    node_cfg = {"vswitches": {ZONE: ["vsw-base0000000000"]}} if overriding else {"max_pool_size": 5}
    return StubApiServer({
        configmap_path("kube-system", "eni-config"): {
            "metadata": {"name": "eni-config", "namespace": "kube-system", "resourceVersion": "7", "managedFields": []},
            "data": {"eni_conf": json.dumps({"vswitches": {ZONE: ["vsw-base0000000000"]}})},
        },
        daemonset_path("kube-system", "terway-eniip"): {
            "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
            "status": {"desiredNumberScheduled": 4},
        },
        SELF_SUBJECT_ACCESS_REVIEWS: {"status": {"allowed": True}},
        NODES: {"items": [{"metadata": {"name": "n1", "labels": {"terway-config": "node-cfg"}}}]},
        configmap_path("kube-system", "node-cfg"): {"data": {"eni_conf": json.dumps(node_cfg)}},
    })


def engine_inputs(evaluation, type_: str, kubeconfig: str) -> dict:
    [resource] = [r for r in evaluation.resources if r.type == type_]
    return {**stripped(resource.inputs), "kubeconfig": kubeconfig}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(secret=ids, before=BLANKS, after=BLANKS)
def test_the_providers_never_quote_a_secret_id(secret, before, after, capfd):
    evaluation = declared(stack(before + secret + after, cloud_lookups=False))
    assert not any(leaks(line, secret) for line in evaluation.warnings)
    with cluster(overriding=True) as api:
        news = engine_inputs(evaluation, PREFLIGHT, api.kubeconfig())
        assert secret in news[dynamic.REDACTIONS_KEY]  # what the provider learns the secret from
        checked = PreflightCheckProvider().check({}, news)
    reasons = [failure.reason for failure in checked.failures]
    assert any("per-node config overrides zone" in reason and "[secret]" in reason for reason in reasons), reasons
    assert not any(leaks(reason, secret) for reason in reasons), reasons
    assert not any(leaks(line, secret) for line in checked.inputs["warnings"] + checked.inputs["notes"])
    assert secret in checked.inputs[dynamic.REDACTIONS_KEY]  # carried on to create and to state
    with cluster(overriding=False) as api:
        written = EniConfWriterProvider().create(engine_inputs(evaluation, WRITER, api.kubeconfig()))
    assert secret in written.outs[dynamic.REDACTIONS_KEY]
    out, err = capfd.readouterr()
    assert "eni-config-writer: wrote eni_conf with" in err and "[secret]" in err, err
    assert not leaks(out + err, secret), err


class _Quoting(dynamic.RedactingProvider):
    def create(self, props):
        print(f"creating with {props['id']}", file=sys.stderr)
        raise RuntimeError(f"the API refused vSwitch {props['id']!r}: InvalidVSwitchId.NotFound ({props['id']})")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=ids)
def test_any_error_or_stderr_line_of_a_provider_is_redacted(secret, capfd):
    with pytest.raises(dynamic.RedactedError) as caught:
        _Quoting().create({"id": secret, dynamic.REDACTIONS_KEY: [secret]})
    assert str(caught.value) == "the API refused vSwitch [secret]: InvalidVSwitchId.NotFound ([secret])"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    out, err = capfd.readouterr()
    assert "creating with [secret]" in err and not leaks(out + err, secret)


def test_a_provider_told_no_secret_raises_its_own_error_unchanged():
    with pytest.raises(RuntimeError, match="vsw-plain"):
        _Quoting().create({"id": "vsw-plain"})


def test_a_read_resource_keeps_what_it_reads_secret_when_the_run_has_secrets():
    # The e2e run found it: after the first `up`, the live eni_conf lists the secret id, and the
    # ConfigMap.get of the next run stored it in state in plain text.
    from types import SimpleNamespace

    from terway_stack.declare.secrets import READ_OUTPUTS_KEPT_SECRET, Secrecy

    # As pulumi_kubernetes' ConfigMap.get passes them: its props are an SDK args object, not a dict.
    read = SimpleNamespace(props=SimpleNamespace(data=None), opts=pulumi.ResourceOptions(id="kube-system/eni-config"))
    declared_one = SimpleNamespace(props={"x": 1}, opts=pulumi.ResourceOptions())
    result = Secrecy(["vsw-sabc123"], []).transformation(read)
    assert set(READ_OUTPUTS_KEPT_SECRET) <= set(result.opts.additional_secret_outputs)
    assert "data" in READ_OUTPUTS_KEPT_SECRET
    assert not (Secrecy(["vsw-sabc123"], []).transformation(declared_one).opts.additional_secret_outputs or [])
    assert Secrecy([], []).transformation(read) is None  # a run without secrets reads in plain text
