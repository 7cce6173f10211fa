"""Under the mock runtime: every resource that writes, cloud or cluster, waits for the preflight gate."""
from __future__ import annotations

import pytest

from terway_stack.decide.facts import PENDING_ID

from .stacks import PODS_WITH_SNAT_TABLE, declare, stack_config

GATE = "preflight-checks"


def depends_on_gate(evaluation) -> dict[str, bool]:
    """name -> whether the gate is among its dependencies, directly or through other resources."""
    deps = {r.name: set(r.options.get("dependsOn") or ()) for r in evaluation.resources}

    def reaches(name, seen=()):
        return GATE in deps.get(name, ()) or any(reaches(d, (*seen, name)) for d in deps.get(name, ()) if d not in seen)

    return {name: reaches(name) for name in deps}


def writers(evaluation):
    return [
        r for r in evaluation.resources
        if not r.type.startswith(("terway:index:", "pulumi:providers:", "pulumi:pulumi:")) and r.name != GATE
    ]


@pytest.mark.parametrize("mode", ["typha", "direct", "disabled"])
def test_every_writer_depends_on_the_gate(mode):
    config = stack_config(mode=mode, pods=PODS_WITH_SNAT_TABLE, **{"terway:terway": {"daemonSets": ["terway-eniip", "terway-eniip-spot"]}})
    evaluation = declare(config)
    found = writers(evaluation)
    types = {r.type for r in found}
    assert {
        "alicloud:vpc/switch:Switch", "alicloud:vpc/snatEntry:SnatEntry",
        "pulumi-python:dynamic/terway_stack:EniConfWriter", "pulumi-python:dynamic/terway_stack:PolicyKeysWriter",
    } <= types
    assert ("kubernetes:apps/v1:Deployment" in types) == (mode == "typha")
    reach = depends_on_gate(evaluation)
    assert {r.name: reach[r.name] for r in found} == {r.name: True for r in found}


def test_the_gate_gets_the_settings_the_checks_need():
    config = stack_config(
        pods=PODS_WITH_SNAT_TABLE,
        **{"terway:typha": {"version": "v3.24.5", "replaceExistingRelay": True}, "terway:confirmNetworkPolicyEnforcement": "true"},
    )
    [gate] = [r for r in declare(config).resources if r.name == GATE]
    assert gate.inputs["kind"] == "terway-preflight"
    assert gate.inputs["settings"] == {
        "mode": "typha",
        "daemonSets": ["terway-eniip"],
        "typhaVersion": "v3.24.5",
        "typhaVersionKey": "terway:typha.version",
        # the created zone has no id before the run: per-node configs are checked against the zone
        "wantedVSwitches": {"cn-shanghai-f": [PENDING_ID], "cn-shanghai-g": ["vsw-adopted1"]},
        "managesVSwitches": True,
        "replaceExistingRelay": True,
        "confirmNetworkPolicyEnforcement": True,
        "namespace": "kube-system",
    }
    assert "4dabf18193072939515e22adb298388d" in gate.inputs["kubeconfig"]  # a secret


def test_a_typha_image_override_sets_the_version_the_felix_check_compares():
    config = stack_config(**{"terway:typha": {"image": "registry.example.com/calico/typha:v3.26.4"}})
    [gate] = [r for r in declare(config).resources if r.name == GATE]
    assert gate.inputs["settings"]["typhaVersion"] == "v3.26.4"
    assert gate.inputs["settings"]["typhaVersionKey"] == "terway:typha.image"
