"""Issue 19, secrets under the real engine: values set with `--secret --path` never appear in plain text
in `pulumi preview --diff`, `pulumi up`, the state (`pulumi stack export`) or `pulumi stack output`.

Real here: the Pulumi CLI and engine, the Python language host, pulumi-resource-kubernetes 4.32.0 (its
own secret annotation of outputs), the program and its dynamic providers, a local control plane.
The pod vSwitches are adopted, so no cloud resource is declared. Run with `make e2e`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.pulumi_project import adopted_stack_config  # noqa: E402

NODES = 4
STACK = "secrets"
STACK_CONFIG = adopted_stack_config("secrets", NODES, "typha", {"cn-shanghai-g": "vsw-e2eplaing"})
SECRET_IMAGE = "registry.e2esecret7f3a.example.com/acs/typha:v3.24.5"
SECRET_VSWITCH = "vsw-e2esecret9c1d"


def test_secret_values_stay_secret_through_preview_up_state_and_outputs(cp, pulumi):
    pulumi("config", "set", "--secret", "--path", "terway:typha.image", SECRET_IMAGE)
    pulumi("config", "set", "--secret", "--path", "terway:podVSwitches.zones.cn-shanghai-f.vswitchId", SECRET_VSWITCH)
    secrets = ("e2esecret7f3a", "e2esecret9c1d")

    preview = pulumi("preview", "--diff")
    up = pulumi("up", "--yes", "--skip-preview", timeout=900)
    state = pulumi("stack", "export").stdout
    outputs = pulumi("stack", "output", "--json").stdout

    for name, text in (("preview", preview.stdout + preview.stderr), ("up", up.stdout + up.stderr), ("state", state), ("outputs", outputs)):
        leaked = [line for line in text.splitlines() if any(s in line for s in secrets)]
        assert leaked == [], (name, leaked[:5])
    # The values were used, not dropped: the Deployment runs the secret image, eni-config lists the id.
    deployment = cp.apps().read_namespaced_deployment("calico-typha", "kube-system")
    assert deployment.spec.template.spec.containers[0].image == SECRET_IMAGE
    eni_conf = json.loads(cp.core().read_namespaced_config_map("eni-config", "kube-system").data["eni_conf"])
    assert SECRET_VSWITCH in eni_conf["vswitches"]["cn-shanghai-f"]
    # And the outputs hold it as a secret: the consumer of podVSwitchIds gets it, encrypted in state.
    shown = json.loads(pulumi("stack", "output", "--json", "--show-secrets").stdout)
    assert shown["podVSwitchIds"]["cn-shanghai-f"] == SECRET_VSWITCH


def test_a_check_message_about_a_secret_vswitch_id_does_not_quote_it(cp, pulumi):
    """A per-node Terway config that hides the adopted (secret) vSwitch: the preflight provider's check
    fails naming the ConfigMap and zone, with the id shown as [secret], at preview and at up; nothing
    in the output or the state holds the id."""
    pulumi("config", "set", "--secret", "--path", "terway:podVSwitches.zones.cn-shanghai-f.vswitchId", SECRET_VSWITCH)
    core = cp.core()
    core.create_namespaced_config_map(
        "kube-system",
        {"metadata": {"name": "secret-nodes"}, "data": {"eni_conf": json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-other"]}})}},
    )
    node = cp.node_names[0]
    core.patch_node(node, {"metadata": {"labels": {"terway-config": "secret-nodes"}}})
    try:
        for command in (("preview", "--diff"), ("up", "--yes", "--skip-preview")):
            result = pulumi(*command, check=False)
            text = result.stdout + result.stderr
            assert result.returncode != 0, text
            assert ("kube-system/secret-nodes:eni_conf.vswitches.cn-shanghai-f: per-node config overrides zone "
                    "cn-shanghai-f without [secret]") in text, text
            assert "e2esecret9c1d" not in text and "Traceback" not in text, text
        state = pulumi("stack", "export").stdout
        assert "e2esecret9c1d" not in state, holding(state, "e2esecret9c1d")
    finally:
        core.patch_node(node, {"metadata": {"labels": {"terway-config": None}}})
        core.delete_namespaced_config_map("secret-nodes", "kube-system")


def holding(state: str, secret: str) -> list[str]:
    """`urn: inputs|outputs.key` of every state entry whose plain value holds `secret`."""
    found = []
    for resource in json.loads(state)["deployment"].get("resources") or []:
        for part in ("inputs", "outputs"):
            for key, value in (resource.get(part) or {}).items():
                if secret in json.dumps(value):
                    found.append(f"{resource['urn'].rsplit('::', 1)[-1]} ({resource['type']}): {part}.{key}")
    return found
