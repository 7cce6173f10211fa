"""Issue 11 §3: an error about the kubeconfig (a secret) says what is wrong and where, never its text.

Run through the program under the mock runtime, so the check covers what `pulumi preview` would print:
the RunError text and anything logged.
"""
from __future__ import annotations

import pulumi
import pytest

from terway_stack.declare.cluster import _kubeconfig_text, _pin_context
from terway_stack.decide.problems import InputError
from terway_stack.plan.mocks import evaluate
from terway_stack.program import run

TOKEN = "tOkEn-7f3a9c1e55b2d8a0"

VALID = f"""apiVersion: v1
kind: Config
clusters:
- name: ack
  cluster: {{server: "https://10.0.0.1:6443"}}
users:
- name: admin
  user: {{token: {TOKEN}}}
contexts:
- name: ack-admin
  context: {{cluster: ack, user: admin}}
current-context: ack-admin
"""

MALFORMED = [
    # the token on the line PyYAML quotes in its error
    VALID.replace(f"  user: {{token: {TOKEN}}}", f"  user: {{token: {TOKEN}\n  bad: [unclosed"),
    f"apiVersion: v1\nusers:\n- name: a\n  user:\n    token: {TOKEN}\n\t- tab: here\n",
    f"token: {TOKEN}: {TOKEN}\n",
    f"!{TOKEN} {{}}\n",  # a tag PyYAML's constructor names in its error
    f"- {TOKEN}\n",  # not a mapping
    f"{TOKEN}",  # plain text
    # Nesting past the parser's recursion (PyYAML's composer hits the interpreter's limit near 500
    # levels). 1000 keeps twice that margin; more only costs time: PyYAML's scanner is quadratic in
    # the open flow levels up to its 1024-character window (5000 levels took 1.2 s per case).
    "{" * 1000 + TOKEN,
]


def stack_config(kubeconfig: str, context: str | None) -> dict:
    config = {
        "alicloud:region": "cn-shanghai",
        "kubernetes:kubeconfig": kubeconfig,
        "terway:cluster": {"name": "prod", "kubernetesVersion": "1.30", "nodeCount": 12},
        "terway:networkPolicy": "direct",
    }
    if context is not None:
        config["kubernetes:context"] = context
    return config


@pytest.mark.parametrize("context", ["ack-admin", None])
@pytest.mark.parametrize("kubeconfig", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_kubeconfig_is_reported_by_key_without_its_text(kubeconfig, context, caplog):
    config = stack_config(kubeconfig, context)
    with pytest.raises(pulumi.RunError) as caught:
        evaluate(lambda: run(config, environ={}), config, stack="secrets")
    message = str(caught.value)
    assert message.startswith("kubernetes:kubeconfig: "), message
    assert "its text is a secret and is not shown" in message
    assert TOKEN not in message and TOKEN[:8] not in message
    assert TOKEN not in caplog.text
    assert "\n" not in message


def test_the_yaml_error_says_where_without_quoting():
    with pytest.raises(InputError) as caught:
        _pin_context(MALFORMED[0], "ack-admin")
    [problem] = caught.value.problems
    assert str(problem) == "kubernetes:kubeconfig: is not valid YAML at line 9, column 6; its text is a secret and is not shown"


def test_an_unknown_context_does_not_list_names_from_the_secret():
    kubeconfig = VALID.replace("name: ack-admin", f"name: ctx-{TOKEN}")
    with pytest.raises(InputError) as caught:
        _pin_context(kubeconfig, "other")
    assert TOKEN not in str(caught.value)
    assert str(caught.value).startswith("kubernetes:context: the kubeconfig (kubernetes:kubeconfig) has no context of that name")


def test_a_valid_kubeconfig_gets_its_context_pinned():
    pinned = _pin_context(VALID.replace("current-context: ack-admin", "current-context: other"), "ack-admin")
    assert "current-context: ack-admin" in pinned


def test_a_long_one_line_kubeconfig_is_text_not_a_file_name():
    # A kubeconfig in JSON on one line: asking the file system about it must not fail quoting it.
    one_line = '{"apiVersion": "v1", "kind": "Config", "users": [{"name": "a", "user": {"token": "' + TOKEN * 20 + '"}}]}'
    text, source = _kubeconfig_text({"kubernetes:kubeconfig": one_line}, {})
    assert text == one_line and source == "kubernetes:kubeconfig"


def test_snat_ips_from_a_secret_key_stay_secret_in_state(monkeypatch):
    from pulumi.runtime import rpc

    from .stacks import PODS_WITH_SNAT_TABLE, SNAT, declare
    from .stacks import stack_config as full_config

    def snat_ip() -> object:
        [entry] = [r for r in declare(full_config(pods=PODS_WITH_SNAT_TABLE)).resources if r.type == SNAT]
        return entry.inputs["snatIp"]

    assert snat_ip() == "47.100.1.2"
    # `pulumi config set --secret --path 'terway:podVSwitches.snat.snatIps[0]' ...` marks the whole key secret.
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["terway:podVSwitches"]')
    assert snat_ip() == {rpc._special_sig_key: rpc._special_secret_sig, "value": "47.100.1.2"}
