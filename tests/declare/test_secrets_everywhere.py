"""Issue 19, secrets: a value set with --secret stays secret in every resource input, component and
stack output it flows into, and no message quotes it, padded or not.

Generated stacks run through the whole program under the mock runtime. The engine marks a whole
top-level key secret (PULUMI_CONFIG_SECRET_KEYS), so the test picks one present key as secret and
then looks for the text of every value under it, standing alone, anywhere outside a secret wrapper:
in the inputs the mock engine received for every resource (what state would store), in the stack
outputs (sent to a sink resource, the way the engine receives exports), in the warnings, and in the
error when the run is refused.
"""
from __future__ import annotations

import re

import pulumi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.runtime import rpc

from terway_stack.plan.mocks import evaluate
from terway_stack.plan.stack_files import OFFLINE_KUBECONFIG
from terway_stack.program import run

from .secret_config import secret_keys

SECRET_SIG = rpc._special_secret_sig
HEX = st.text(alphabet="0123456789abcdef", min_size=6, max_size=10)
PAD = st.sampled_from(["", " ", "\t", "\n", " \t\n"])


@st.composite
def stacks(draw):
    region = draw(st.sampled_from(["cn-shanghai", "cn-beijing", "ap-southeast-1"]))
    zone_sep = "" if region[-1].isdigit() else "-"
    pad = draw(PAD)
    config = {
        "alicloud:region": region,
        "kubernetes:kubeconfig": OFFLINE_KUBECONFIG,
        "terway:cluster": {
            "name": "k" + draw(HEX),
            "kubernetesVersion": draw(st.sampled_from(["1.30", "v1.31.2-aliyun.1"])),
            "nodeCount": draw(st.integers(min_value=900, max_value=4000)),
        },
        "terway:networkPolicy": draw(st.sampled_from(["typha", "direct", "disabled"])),
    }
    if draw(st.booleans()):
        config["terway:typha"] = {"image": pad + f"registry-{draw(HEX)}.example.com/acs/typha:v3.24.5" + pad}
    if draw(st.booleans()):
        letters = draw(st.lists(st.sampled_from("fghjk"), min_size=1, max_size=3, unique=True))
        zones = {}
        for index, letter in enumerate(letters):
            if draw(st.booleans()):
                zones[f"{region}{zone_sep}{letter}"] = {"cidr": pad + f"10.{20 + index}.{draw(st.sampled_from([0, 32, 64]))}.0/19"}
            else:
                zones[f"{region}{zone_sep}{letter}"] = {"vswitchId": pad + f"vsw-{index}" + draw(HEX) + pad}
        pods = {"vpcId": "vpc-" + draw(HEX), "zones": zones}
        if draw(st.booleans()):
            pods["tags"] = {"team": "t" + draw(HEX) + pad}
        if draw(st.booleans()):
            pods["snat"] = {"snatTableId": "stb-" + draw(HEX), "snatIps": [f"47.{draw(st.integers(100, 120))}.1.{draw(st.integers(2, 250))}"]}
        config["terway:podVSwitches"] = pods
    secret = draw(st.sampled_from(sorted(k for k in config if k.startswith(("terway:", "alicloud:")))))
    return config, secret


def leaves(value) -> set[str]:
    """The text of every value under a key, as set and as the program uses it (blanks removed)."""
    found, pending = set(), [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif not isinstance(node, bool):
            found |= {str(node), str(node).strip()}
    return {leaf for leaf in found if leaf}


def plaintext(value, secrets: set[str]) -> list[str]:
    """Every string outside a secret wrapper in which a secret stands alone (not inside a longer word)."""
    pattern = re.compile("|".join(rf"(?<![0-9A-Za-z_]){re.escape(s)}(?![0-9A-Za-z_])" for s in secrets))
    found, pending = [], [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if node.get(rpc._special_sig_key) == SECRET_SIG:
                continue
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, (str, int)) and not isinstance(node, bool) and pattern.search(str(node)):
            found.append(str(node))
    return found


def refused(config: dict, secret: str) -> bool:
    """Secret values that would become resource names are refused (the cluster name and zone ids of
    created vSwitches, the DaemonSet names)."""
    created = any("cidr" in z for z in config.get("terway:podVSwitches", {}).get("zones", {}).values())
    return secret == "terway:terway" or (created and secret in ("terway:cluster", "alicloud:region"))


def program_with_sink(config: dict):
    def program():
        outputs = run(config, environ={})
        # The stack outputs, as the engine receives them, on a resource the mocks record. The
        # program's own transformation must not touch this test's sink.
        pulumi.runtime.get_root_resource()._transformations = []
        pulumi.CustomResource("test:index:OutputsSink", "outputs", dict(outputs))
        return outputs

    return program


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_a_secret_value_is_never_in_plain_text(case):
    config, secret = case
    secrets = leaves(config[secret])
    with secret_keys([secret]):
        try:
            evaluation = evaluate(program_with_sink(config), config, stack="secrets")
        except pulumi.RunError as err:
            assert refused(config, secret), err
            assert not plaintext(str(err), secrets), str(err)
            assert "\n" not in str(err).strip() or all(line.startswith(("terway:", "alicloud:")) for line in str(err).splitlines())
            return
    assert not refused(config, secret)
    for resource in evaluation.resources:
        assert not plaintext(resource.inputs, secrets), (resource.type, resource.name, secret)
    assert not plaintext(evaluation.warnings, secrets)


@st.composite
def bad_secret_values(draw):
    """Invalid values under a secret key whose messages would quote them, padded or not."""
    pad = draw(PAD)
    vswitch = "vsw-" + draw(HEX)
    kind = draw(st.sampled_from(["twice", "host-bits", "typo-id", "image"]))
    if kind == "image":
        return "terway:typha", {"image": pad + "registry-" + draw(HEX) + ".example.com/typha" + pad}
    zones = {"cn-shanghai-f": {"vswitchId": pad + vswitch + pad}}
    if kind == "twice":
        zones["cn-shanghai-g"] = {"vswitchId": vswitch + pad}
    elif kind == "host-bits":
        zones["cn-shanghai-g"] = {"cidr": pad + f"10.{draw(st.integers(0, 200))}.33.0/19" + pad}
    else:
        zones["cn-shanghai-g"] = {"vswitchId": pad + "vsw_" + draw(HEX) + pad}
    return "terway:podVSwitches", {"vpcId": "vpc-" + draw(HEX), "zones": zones}


@settings(max_examples=40, deadline=None)
@given(bad_secret_values())
def test_a_message_never_quotes_a_secret_padded_or_not(case):
    key, value = case
    config = {
        "alicloud:region": "cn-shanghai",
        "kubernetes:kubeconfig": OFFLINE_KUBECONFIG,
        "terway:cluster": {"name": "prod", "kubernetesVersion": "1.30", "nodeCount": 12},
        "terway:networkPolicy": "direct",
        key: value,
    }
    from terway_stack.declare.config_source import load_settings
    from terway_stack.decide.problems import InputError

    try:
        load_settings(config, secret_keys=[key])
    except InputError as err:
        message = str(err)
    else:
        raise AssertionError("an invalid value was accepted")
    assert not plaintext(message, leaves(value)), message
    assert "[secret]" in message or "is not" in message
