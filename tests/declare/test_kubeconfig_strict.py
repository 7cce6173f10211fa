"""Issue 19: the one kubeconfig parser (act/kube.py, used by declare/cluster.py and every provider) reads
with the stack's strict YAML rules. A duplicate key, a second document, a bad tag or an alias bomb is
refused as one line naming `kubernetes:kubeconfig`, and no line ever quotes the kubeconfig.

Generated: kubeconfigs whose every scalar is a secret-looking token, with one defect spliced in.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.act.kube import KubeError, KubeconfigError, kube_client, parse_kubeconfig
from terway_stack.declare.cluster import _pin_context
from terway_stack.decide.problems import InputError

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
tokens = st.text(TOKEN_CHARS, min_size=12, max_size=40).map(lambda t: "tK" + t)


def kubeconfig(token: str, user_lines: str = "") -> str:
    return (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ack\n  cluster:\n    server: https://10.0.0.1:6443\n"
        f"users:\n- name: admin\n  user:\n    token: {token}\n{user_lines}"
        "contexts:\n- name: ack-admin\n  context: {cluster: ack, user: admin}\ncurrent-context: ack-admin\n"
    )


DEFECTS = {
    "duplicate token": lambda t: kubeconfig(t, f"    token: {t[::-1]}\n"),
    "duplicate top-level key": lambda t: kubeconfig(t) + f"current-context: {t}\n",
    "duplicate key in a flow mapping": lambda t: kubeconfig(t, f"    exec: {{command: {t}, command: {t}x}}\n"),
    "two documents": lambda t: kubeconfig(t) + f"---\ntoken: {t}\n",
    "unknown tag": lambda t: kubeconfig(t, f"    client-key-data: !{t} x\n"),
    "bad indentation": lambda t: kubeconfig(t, f"   x: {t}\n  - {t}\n"),
    "alias bomb": lambda t: "a: &a [" + ",".join([f"{t}"] * 10) + "]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(7)),
    "tab indentation": lambda t: kubeconfig(t, f"\ttoken2: {t}\n"),
    "unclosed quote": lambda t: kubeconfig(t, f'    password: "{t}\n'),
    "not a mapping": lambda t: f"- {t}\n- {t}\n",
    "plain scalar": lambda t: t,
}


def assert_clear_and_quiet(message: str, token: str) -> None:
    assert message.startswith("kubernetes:kubeconfig: "), message
    assert "\n" not in message and "Traceback" not in message
    assert token not in message and token[:10] not in message, message


@pytest.mark.parametrize("defect", sorted(DEFECTS))
@settings(max_examples=25, deadline=None)
@given(token=tokens)
def test_a_malformed_kubeconfig_is_one_line_naming_the_key_without_its_text(defect, token):
    text = DEFECTS[defect](token)
    with pytest.raises(InputError) as caught:
        _pin_context(text, None)
    assert_clear_and_quiet(str(caught.value), token)
    # The act layer parses with the same function: the same refusal, as a KubeError, no text.
    with pytest.raises(KubeError) as act_caught:
        with kube_client(text, "test"):
            pass
    assert token not in str(act_caught.value) and str(act_caught.value).startswith("kubeconfig ")


def test_a_duplicate_key_says_which_lines():
    with pytest.raises(KubeconfigError) as caught:
        parse_kubeconfig(DEFECTS["duplicate token"]("tKsecret123456"))
    assert str(caught.value) == "has a duplicate mapping key (lines 10 and 11)"


@settings(max_examples=50, deadline=None)
@given(token=tokens)
def test_a_valid_kubeconfig_still_parses(token):
    document = parse_kubeconfig(kubeconfig(token))
    assert document["users"][0]["user"]["token"] == token
    assert document["current-context"] == "ack-admin"


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_is_a_kubeconfig_or_one_clear_refusal(text):
    try:
        parse_kubeconfig(text)
    except KubeconfigError as err:
        message = str(err)
        assert "\n" not in message
        # Only the defect and where: no fragment of the input longer than a few characters.
        fragments = {text[i:i + 8] for i in range(max(0, len(text) - 7))} - {""}
        assert not any(f in message for f in fragments if f.strip() and not f.isdigit() and f not in PHRASES), message


PHRASES = (
    "is not valid YAML at line , column | has a duplicate mapping key (lines and ) | is empty | must be a kubeconfig "
    "(a YAML mapping with contexts) | is nested more than levels deep | nests deeper than levels (through YAML aliases?) "
    "| expands to more than values (through YAML aliases?) | (a value of the wrong type for its tag)"
)
