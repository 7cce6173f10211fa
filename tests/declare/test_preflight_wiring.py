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
    settings = dict(gate.inputs["settings"])
    accesses = settings.pop("accesses")
    assert settings == {
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
        "maxUnavailableShare": 25,
        "confirmMaxUnavailable": False,
    }
    assert "4dabf18193072939515e22adb298388d" in gate.inputs["kubeconfig"]  # a secret
    # Every write of the run is reviewed before the first one: Typha's four objects, eni-config, the restart.
    writes = {(a["verb"], a["resource"], a.get("name")) for a in accesses if a["verb"] not in ("get", "list")}
    assert writes == {
        ("create", "customresourcedefinitions", None), ("patch", "customresourcedefinitions", "bgppeers.crd.projectcalico.org"),
        ("create", "services", None), ("patch", "services", "calico-typha"),
        ("create", "deployments", None), ("patch", "deployments", "calico-typha"),
        ("create", "poddisruptionbudgets", None), ("patch", "poddisruptionbudgets", "calico-typha"),
        ("patch", "configmaps", "eni-config"),
        ("patch", "daemonsets", "terway-eniip"),
    }


@pytest.mark.parametrize("mode", ["direct", "disabled"])
def test_without_typha_no_typha_write_is_reviewed(mode):
    [gate] = [r for r in declare(stack_config(**{"terway:networkPolicy": mode})).resources if r.name == GATE]
    resources = {a["resource"] for a in gate.inputs["settings"]["accesses"] if a["verb"] == "patch"}
    assert resources == {"configmaps", "daemonsets"}


def test_a_typha_image_override_sets_the_version_the_felix_check_compares():
    config = stack_config(**{"terway:typha": {"image": "registry.example.com/calico/typha:v3.26.4"}})
    [gate] = [r for r in declare(config).resources if r.name == GATE]
    assert gate.inputs["settings"]["typhaVersion"] == "v3.26.4"
    assert gate.inputs["settings"]["typhaVersionKey"] == "terway:typha.image"


def reaches(evaluation, name: str, target: str) -> bool:
    deps = {r.name: set(r.options.get("dependsOn") or ()) for r in evaluation.resources}

    def walk(current, seen=()):
        return target in deps.get(current, ()) or any(walk(d, (*seen, current)) for d in deps.get(current, ()) if d not in seen)

    return walk(name)


def test_typha_is_written_only_after_the_eni_conf_write():
    """A run that cannot write eni-config (gone, not writable, a vSwitch that failed) writes no Typha."""
    evaluation = declare(stack_config(mode="typha", pods=PODS_WITH_SNAT_TABLE))
    typha = [r.name for r in evaluation.resources if r.type.startswith("kubernetes:") and ("typha" in r.name or "calico" in r.name)]
    assert sorted(typha) == ["calico-bgppeers-crd", "calico-typha-deployment", "calico-typha-pdb", "calico-typha-service"]
    assert all(reaches(evaluation, name, "eni-config-eni-conf") for name in typha)
    # and the relay is written only after Typha (Felix never points at a Typha that is not there)
    assert reaches(evaluation, "eni-config-policy-keys", "calico-typha-deployment")
