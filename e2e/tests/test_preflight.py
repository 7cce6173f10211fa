"""Preflight under the real engine: every read-only check stops preview and up before any write.

Issue 11 §2 (a missing DaemonSet stops the run with nothing written) and issue 10 §1-§3 (someone
else's relay, NetworkPolicy switched on, a Terway that cannot use the relay, Felix not running).
Each scenario changes the seeded ACK state through the API as another field manager would, runs
the real `pulumi preview` / `pulumi up`, checks the output and the audit log, then puts the state back.

Writes are counted for the admin identity (the stack's provider and dynamic providers use it),
without pulumi-kubernetes' server-side dry runs (`?dryRun=All`), which preview makes and which
change nothing.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

from kubernetes import client

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.controlplane import ADMIN_USER  # noqa: E402
from e2e.pulumi_project import adopted_stack_config  # noqa: E402

NODES = 3
NS, DS = "kube-system", "terway-eniip"
ADMIN = ADMIN_USER  # the stack's provider, its dynamic providers and these tests
STACK = "preflight"
ADOPTED = {"cn-shanghai-f": "vsw-e2epreflightf"}
STACK_CONFIG = adopted_stack_config("e2e", NODES, "typha", ADOPTED)  # the conftest's `pulumi` fixture inits STACK with it


def writes(cp, since: int) -> dict:
    return cp.write_summary(since, user=ADMIN)  # server-side dry runs are left out by the harness


def eni_config(cp) -> dict:
    return dict(cp.core().read_namespaced_config_map("eni-config", NS).data)


def output(result) -> str:
    return result.stdout + result.stderr


def fails_before_any_write(cp, pulumi, *args: str) -> str:
    before, since = eni_config(cp), cp.audit_offset()
    result = pulumi(*args, check=False)
    text = output(result)
    assert result.returncode != 0, text
    assert "Traceback" not in text, text
    assert writes(cp, since) == {}, text
    assert eni_config(cp) == before
    return text


def set_eni_config_keys(cp, manager: str, **data) -> None:
    """An edit by another field manager (kubectl edit, an add-on); None removes the key."""
    cp.core().patch_namespaced_config_map("eni-config", NS, {"data": data}, field_manager=manager)


def test_1_missing_daemonset_stops_preview_and_up_with_nothing_written(cp, pulumi):
    for i, name in enumerate(("terway-eniip", "terway-missing")):
        pulumi("config", "set", "--path", f"terway:terway.daemonSets[{i}]", name)
    try:
        for command in (("preview",), ("up", "--yes", "--skip-preview")):
            text = fails_before_any_write(cp, pulumi, *command)
            assert "terway:terway.daemonSets: DaemonSet kube-system/terway-missing not found" in text, text
        # nothing was created, so nothing is in state but the stack itself
        state = json.loads(pulumi("stack", "export").stdout)
        created = [r["type"] for r in state["deployment"].get("resources") or [] if not r["type"].startswith("pulumi:")]
        assert "kubernetes:core/v1:ConfigMapPatch" not in created and "kubernetes:apps/v1:Deployment" not in created
    finally:
        pulumi("config", "rm", "--path", "terway:terway.daemonSets")


def test_2_terway_without_the_relay_env_says_upgrade_terway(cp, pulumi):
    apps = cp.apps()
    original = apps.read_namespaced_daemon_set(DS, NS)
    old = copy.deepcopy(original)
    policy = next(c for c in old.spec.template.spec.containers if c.name == "policy")
    policy.env = [e for e in policy.env if e.name != "FELIX_TYPHAK8SSERVICENAME"]
    old.metadata.managed_fields = None
    apps.replace_namespaced_daemon_set(DS, NS, old, field_manager="ack-addon-manager")
    try:
        text = fails_before_any_write(cp, pulumi, "preview")
        assert "DaemonSet kube-system/terway-eniip: its policy container does not take env FELIX_TYPHAK8SSERVICENAME" in text
        assert "upgrade Terway" in text
        # In mode direct the relay is not used, so the same DaemonSet is fine.
        pulumi.set_config("terway:networkPolicy", "direct")
        assert pulumi("preview").returncode == 0
    finally:
        pulumi.set_config("terway:networkPolicy", "typha")
        current = apps.read_namespaced_daemon_set(DS, NS)
        current.spec.template.spec.containers = original.spec.template.spec.containers
        current.metadata.managed_fields = None
        apps.replace_namespaced_daemon_set(DS, NS, current, field_manager="ack-addon-manager")
        cp.wait_daemonset_available(NS, DS)


def test_3_ebpf_refuses_mode_typha_and_the_felix_version_warning_reaches_preview(cp, pulumi):
    cni = json.loads(eni_config(cp)["10-terway.conf"])
    set_eni_config_keys(cp, "ack-addon-manager", **{"10-terway.conf": json.dumps({**cni, "network_policy_provider": "ebpf"})})
    try:
        text = fails_before_any_write(cp, pulumi, "preview")
        assert (
            "terway:networkPolicy: typha cannot work here: kube-system/eni-config 10-terway.conf sets "
            "network_policy_provider ebpf: policy is enforced by Cilium, Felix does not run, so Typha would have no "
            "Felix to serve"
        ) in text, text
    finally:
        set_eni_config_keys(cp, "ack-addon-manager", **{"10-terway.conf": json.dumps(cni, indent=2)})
    # The seeded Terway v1.16.0 carries Felix v3.24.5: a Typha two minors away is a warning, not a refusal.
    pulumi.set_config("terway:typha.version", "v3.26.4")
    try:
        since = cp.audit_offset()
        text = output(pulumi("preview"))
        assert writes(cp, since) == {}
        assert "Felix is Calico v3.24.5" in text and "but Typha is v3.26.4: more than one minor version apart" in text, text
        assert "DaemonSet kube-system/terway-eniip: RollingUpdate, maxUnavailable 10%" in text, text
    finally:
        pulumi.remove_config("terway:typha.version")


def assert_preview_passes_without_writes_once_set(cp, pulumi, setting: str) -> None:
    """With ``setting`` true, preview passes and writes nothing; the setting is removed again after."""
    pulumi.set_config(setting, "true")
    try:
        since = cp.audit_offset()
        assert pulumi("preview").returncode == 0
        assert writes(cp, since) == {}
    finally:
        pulumi.remove_config(setting)


def test_4_another_relay_is_not_replaced_silently(cp, pulumi):
    set_eni_config_keys(cp, "kubectl-edit", felix_relay_service="my-typha")
    try:
        text = fails_before_any_write(cp, pulumi, "preview")
        assert "kube-system/eni-config:felix_relay_service: is 'my-typha' (field manager(s) kubectl-edit (Update))" in text, text
        assert "terway:typha.replaceExistingRelay" in text
        assert_preview_passes_without_writes_once_set(cp, pulumi, "terway:typha.replaceExistingRelay")
    finally:
        set_eni_config_keys(cp, "kubectl-edit", felix_relay_service=None)


def test_5_switching_networkpolicy_on_needs_confirmation_and_counts_policies(cp, pulumi):
    net = client.NetworkingV1Api(cp.api_client())
    for name, namespace in (("deny-all", "default"), ("allow-dns", "kube-system")):
        net.create_namespaced_network_policy(
            namespace, {"metadata": {"name": name}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
        )
    set_eni_config_keys(cp, "kubectl-edit", disable_network_policy="true")
    try:
        for command in (("preview",), ("up", "--yes", "--skip-preview")):
            text = fails_before_any_write(cp, pulumi, *command)
            assert "kube-system/eni-config:disable_network_policy: is 'true': NetworkPolicy is off" in text, text
            assert "2 NetworkPolicy objects (all namespaces) will start being enforced when Terway restarts" in text
            assert "terway:confirmNetworkPolicyEnforcement" in text
        assert_preview_passes_without_writes_once_set(cp, pulumi, "terway:confirmNetworkPolicyEnforcement")
    finally:
        set_eni_config_keys(cp, "kubectl-edit", disable_network_policy="false")


def test_6_per_node_config_hiding_the_adopted_vswitch_stops_the_run(cp, pulumi):
    core = cp.core()
    core.create_namespaced_config_map(
        NS,
        {"metadata": {"name": "big-nodes"}, "data": {"eni_conf": json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-other"]}})}},
    )
    node = cp.node_names[0]
    core.patch_node(node, {"metadata": {"labels": {"terway-config": "big-nodes"}}})
    try:
        for command in (("preview",), ("up", "--yes", "--skip-preview")):
            text = fails_before_any_write(cp, pulumi, *command)
            assert "kube-system/big-nodes:eni_conf.vswitches.cn-shanghai-f: per-node config overrides zone cn-shanghai-f without vsw-e2epreflightf" in text, text
    finally:
        core.patch_node(node, {"metadata": {"labels": {"terway-config": None}}})
        core.delete_namespaced_config_map("big-nodes", NS)
