"""The real program under the real Pulumi engine against a local control plane: issue 6's scenarios.

One stack lives through the module, in order: preview, up (typha), up again, drift, mode change to
disabled, back to typha, policy-pack preview, destroy. The audit log attributes every write: our
clients use the admin identity, the DaemonSet controller its own.

What is real here: the Pulumi CLI/engine, the Python language host and pulumi-resource-kubernetes 4.32.0
(built from upstream source), the program, its dynamic providers, kube-apiserver/controller-manager/
scheduler/etcd, and kwok nodes whose pods really roll. What is not: Alibaba Cloud; pod vSwitches are
adopted (`vswitchId`), so no cloud resource is declared.

Test numbers are issue 6's scenario numbers; they run in file order, which is the stack's history.
Run with `make e2e` (it builds the engine and puts it on PATH).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.audit_log import is_dry_run  # noqa: E402
from e2e.controlplane import ADMIN_USER  # noqa: E402
from e2e.rollout_watch import RolloutWatch  # noqa: E402
from e2e.pulumi_project import adopted_stack_config  # noqa: E402

NODES = 6
MAX_UNAVAILABLE = 1  # 10% of 6 nodes, rounded up as the DaemonSet controller does
NS, DS = "kube-system", "terway-eniip"
ADMIN = ADMIN_USER  # every request of the stack and of these tests
ROLLOUT_AGENT = "terway-stack-rollout"
WRITER_AGENT = "terway-stack-eni-config"  # terway_stack/act/eni_config_writer.py
POLICY_MANAGER = "terway-stack-policy-keys"
NEW_VSWITCHES = {"cn-shanghai-f": "vsw-e2enewf", "cn-shanghai-g": "vsw-e2enewg"}
STACK = "e2e"
STACK_CONFIG = adopted_stack_config("e2e", NODES, "typha", NEW_VSWITCHES)  # the conftest's `pulumi` fixture inits STACK with it


def eni_config(cp) -> dict:
    return cp.core().read_namespaced_config_map("eni-config", NS).data


def restarted_at(cp) -> str | None:
    ds = cp.apps().read_namespaced_daemon_set(DS, NS)
    return (ds.spec.template.metadata.annotations or {}).get("kubectl.kubernetes.io/restartedAt")


def restart_patches(cp, since: int) -> list[dict]:
    return cp.write_events(since, user_agent=ROLLOUT_AGENT, resource="daemonsets", name=DS, verbs=["patch"])


@pytest.fixture(scope="module")
def baseline(cp):
    """The ACK starting state, before the stack ever ran."""
    return {"data": dict(eni_config(cp)), "restartedAt": restarted_at(cp)}


def test_1_preview_writes_nothing(cp, pulumi, baseline):
    since = cp.audit_offset()
    result = pulumi("preview", "--diff")
    assert "calico-typha-deployment" in result.stdout and "eni-config-policy-keys" in result.stdout
    # pulumi-kubernetes previews with server-side dry runs: requests with a write verb that persist nothing.
    dry_runs = [ev for ev in cp.write_events(since, user=ADMIN, include_dry_run=True) if is_dry_run(ev)]
    assert dry_runs, "expected the provider's server-side dry-run previews in the audit log"
    assert cp.write_summary(since, user=ADMIN) == {}  # and not one real write
    assert eni_config(cp) == baseline["data"]


def test_2_up_in_typha_mode(cp, pulumi, baseline):
    since = cp.audit_offset()
    with RolloutWatch(cp, NS, DS) as watch:
        pulumi("up", "--yes", "--skip-preview")

    typha = cp.apps().read_namespaced_deployment("calico-typha", NS)
    assert typha.status.ready_replicas == typha.spec.replicas == 3
    service = cp.core().read_namespaced_service("calico-typha", NS)
    assert [(p.name, p.port) for p in service.spec.ports] == [("calico-typha", 5473)]
    pdb = client.PolicyV1Api(cp.api_client()).read_namespaced_pod_disruption_budget("calico-typha", NS)
    assert pdb.spec.max_unavailable == 1

    data = eni_config(cp)
    assert data["felix_relay_service"] == "calico-typha"
    assert data["disable_network_policy"] == "false"
    before, after = json.loads(baseline["data"]["eni_conf"]), json.loads(data["eni_conf"])
    for zone, new_id in NEW_VSWITCHES.items():
        assert after["vswitches"][zone] == [*before["vswitches"][zone], new_id]
    assert {k: v for k, v in after.items() if k != "vswitches"} == {k: v for k, v in before.items() if k != "vswitches"}
    untouched = set(baseline["data"]) - {"eni_conf", "felix_relay_service", "disable_network_policy"}
    assert {k: data[k] for k in untouched} == {k: baseline["data"][k] for k in untouched}

    assert len(restart_patches(cp, since)) == 1
    assert restarted_at(cp) not in (None, baseline["restartedAt"])
    assert cp.write_events(since, user=ADMIN, resource="pods", verbs=["delete", "deletecollection"]) == []
    # It really rolled, and within maxUnavailable: by the controller's status and by the pods themselves.
    assert 0 < watch.max_status_unavailable <= MAX_UNAVAILABLE
    assert 0 < watch.max_nodes_without_ready_pod <= MAX_UNAVAILABLE


def test_3_second_up_changes_and_restarts_nothing(cp, pulumi):
    since, stamp = cp.audit_offset(), restarted_at(cp)
    pulumi("up", "--yes", "--skip-preview", "--expect-no-changes")
    assert restart_patches(cp, since) == []
    assert restarted_at(cp) == stamp
    assert cp.write_events(since, user=ADMIN, resource="daemonsets") == []


def test_6_drift_by_another_manager_is_kept_ours_reapplied_one_restart(cp, pulumi):
    conf = json.loads(eni_config(cp)["eni_conf"])
    conf["vswitches"] = {zone: [i for i in ids if i not in NEW_VSWITCHES.values()] for zone, ids in conf["vswitches"].items()}
    conf["vswitches"]["cn-shanghai-f"].append("vsw-consoleadded")
    conf["max_pool_size"] = 25
    cp.core().patch_namespaced_config_map(
        "eni-config", NS, {"data": {"eni_conf": json.dumps(conf)}}, field_manager="aliyun-console"
    )
    since = cp.audit_offset()
    pulumi("up", "--yes", "--skip-preview")

    after = json.loads(eni_config(cp)["eni_conf"])
    assert after["max_pool_size"] == 25
    assert "vsw-consoleadded" in after["vswitches"]["cn-shanghai-f"]
    for zone, new_id in NEW_VSWITCHES.items():
        assert after["vswitches"][zone].count(new_id) == 1
    assert len(restart_patches(cp, since)) == 1


def test_4_mode_disabled_drops_the_relay_turns_policy_off_restarts_once(cp, pulumi):
    pulumi.set_config("terway:networkPolicy", "disabled")
    since = cp.audit_offset()
    pulumi("up", "--yes", "--skip-preview")

    data = eni_config(cp)
    assert "felix_relay_service" not in data
    assert data["disable_network_policy"] == "true"
    patches = restart_patches(cp, since)
    assert len(patches) == 1
    typha_gone = cp.write_events(since, user=ADMIN, resource="deployments", name="calico-typha", verbs=["delete"])
    assert len(typha_gone) == 1
    assert patches[0]["stageTimestamp"] < typha_gone[0]["requestReceivedTimestamp"]  # Terway rolled before Typha went


def test_7_policy_pack_runs_under_the_real_engine(cp, pulumi):
    pulumi.set_config("terway:networkPolicy", "typha")
    # Mode disabled left disable_network_policy "true": switching policy back on must be confirmed.
    pulumi.set_config("terway:confirmNetworkPolicyEnforcement", "true")
    pulumi("up", "--yes", "--skip-preview")
    assert eni_config(cp)["felix_relay_service"] == "calico-typha"
    since = cp.audit_offset()
    result = pulumi("preview", "--policy-pack", str(pulumi.workdir / "policy"))
    output = result.stdout + result.stderr
    assert "terway-stack" in output  # the pack ran and reported
    assert "mandatory" not in output.lower() or "0 mandatory" in output.lower()
    assert cp.write_summary(since, user=ADMIN) == {}


def test_5_destroy_keeps_vswitches_releases_relay_before_typha_goes(cp, pulumi, baseline):
    assert eni_config(cp)["felix_relay_service"] == "calico-typha"

    state = pulumi("stack", "export", "--show-secrets=false").stdout
    kubeconfig = yaml.safe_load(cp.kubeconfig_inline())
    user = kubeconfig["users"][0]["user"]
    assert user["client-key-data"] not in state and user["client-certificate-data"] not in state
    assert "BEGIN RSA PRIVATE KEY" not in state and "BEGIN PRIVATE KEY" not in state

    since = cp.audit_offset()
    pulumi("destroy", "--yes", "--skip-preview")

    data = eni_config(cp)
    conf = json.loads(data["eni_conf"])
    for zone, new_id in NEW_VSWITCHES.items():
        assert new_id in conf["vswitches"][zone]  # retained: pods hold IPs of these vSwitches
    assert "felix_relay_service" not in data
    assert data["disable_network_policy"] == baseline["data"]["disable_network_policy"]  # as before the stack
    relay_released = cp.write_events(
        since, user=ADMIN, user_agent=WRITER_AGENT, field_manager=POLICY_MANAGER, resource="configmaps", name="eni-config"
    )
    restarts = restart_patches(cp, since)
    typha_gone = cp.write_events(since, user=ADMIN, resource="deployments", name="calico-typha", verbs=["delete"])
    assert relay_released and len(restarts) == 1 and len(typha_gone) == 1
    assert relay_released[-1]["stageTimestamp"] <= restarts[0]["requestReceivedTimestamp"]
    assert restarts[0]["stageTimestamp"] <= typha_gone[0]["requestReceivedTimestamp"]
    # The CRD may be ACK's: destroy leaves it.
    crd = client.ApiextensionsV1Api(cp.api_client()).read_custom_resource_definition("bgppeers.crd.projectcalico.org")
    assert crd.metadata.name == "bgppeers.crd.projectcalico.org"


def test_8_invalid_config_under_the_real_engine_names_the_key_and_changes_nothing(cp, pulumi):
    pulumi.set_config("terway:podVSwitches.zones.cn-shanghai-f.cidr", "10.0.32.0/20")
    since = cp.audit_offset()
    result = pulumi("preview", check=False)
    pulumi("config", "rm", "--path", "terway:podVSwitches.zones.cn-shanghai-f.cidr")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "error: terway:podVSwitches.zones.cn-shanghai-f.cidr: /20 is smaller than /19" in output, output
    assert "Traceback" not in output
    assert cp.write_summary(since, user=ADMIN) == {}


def test_9_malformed_live_eni_config_stops_up_before_any_write(cp, pulumi):
    good = eni_config(cp)["eni_conf"]
    cp.core().patch_namespaced_config_map(
        "eni-config", NS, {"data": {"eni_conf": '{"vswitches": "vsw-a"}'}}, field_manager="broken-addon"
    )
    try:
        since = cp.audit_offset()
        result = pulumi("up", "--yes", "--skip-preview", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "kube-system/eni-config:eni_conf.vswitches: must map each zone to a list of vSwitch ids" in output, output
        assert "Traceback" not in output
        assert cp.write_summary(since, user=ADMIN) == {}
    finally:
        cp.core().patch_namespaced_config_map("eni-config", NS, {"data": {"eni_conf": good}}, field_manager="broken-addon")
