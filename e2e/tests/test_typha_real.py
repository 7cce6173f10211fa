"""A real Typha serves real Felix clients from what the stack declares (issue 17).

After `pulumi up` in mode typha, the calico-typha binary built from upstream source (the release the
stack defaults to) runs as a local process with exactly the env and args of the Deployment the stack
applied, as ServiceAccount kube-system/terway (a TokenRequest token, mounted where a pod has it).
felixload (e2e/felixload) then runs simulated Felixes with Calico's own Typha client, which find
Typha through the calico-typha Endpoints as Felix does (the fake nodes' InternalIP is this host's).

Also: the refusals before any write when Terway's RBAC or the Calico CRDs are missing, and Typha
deleted by hand while Felix's relay points at it.
"""
from __future__ import annotations

import json
import subprocess

import pytest
from kubernetes import client

from e2e import ack_seed
from e2e.identities import token_for
from e2e.pulumi_project import adopted_stack_config
from e2e.typha_process import (
    TyphaProcess,
    felix_agents,
    service_account_kubeconfig,
    typha_binary,
)
from terway_stack.decide.settings import DEFAULT_TYPHA_VERSION

NODES = 6
NS = "kube-system"
STACK = "typha-real"
STACK_CONFIG = adopted_stack_config("e2e", NODES, "typha", {"cn-shanghai-f": "vsw-e2etyphaf"})
TERWAY_USER = "system:serviceaccount:kube-system:terway"
RELAY_CLIENTS = 60
POLICY = "default/e2e-after-sync"


def plain(obj) -> dict:
    return client.ApiClient().sanitize_for_serialization(obj)


def output(result) -> str:
    return result.stdout + result.stderr


def admin_writes(cp, since: int) -> dict:
    return cp.write_summary(since, user=cp.admin_user)


@pytest.fixture(scope="module")
def applied(cp, pulumi) -> dict:
    """`pulumi up` in mode typha; the Deployment as the API server holds it."""
    pulumi("up", "--yes", "--skip-preview")
    return plain(cp.apps().read_namespaced_deployment("calico-typha", NS))


@pytest.fixture()
def typha(cp, applied, tmp_path):
    token = token_for(cp.core(), NS, "terway")
    process = TyphaProcess(
        typha_binary("calico-typha", DEFAULT_TYPHA_VERSION), applied, cp.server, cp.cluster_dir / "pki" / "ca.crt",
        token, tmp_path,
    )
    with process:
        yield process


def read_event(load: subprocess.Popen) -> dict:
    line = load.stdout.readline()
    if not line:
        raise AssertionError(f"felixload ended without a report: {load.stderr.read()[-3000:]}")
    return json.loads(line)


def test_1_the_suite_runs_the_typha_release_the_stack_deploys(applied):
    version = subprocess.run(
        [str(typha_binary("calico-typha", DEFAULT_TYPHA_VERSION)), "--version"], capture_output=True, text=True
    )
    assert DEFAULT_TYPHA_VERSION in version.stdout + version.stderr
    image = applied["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(f"/acs/typha:{DEFAULT_TYPHA_VERSION}")


def test_2_real_typha_serves_relay_clients_found_through_the_endpoints(cp, applied, typha, tmp_path):
    since = cp.audit_offset()
    typha.wait_ready(timeout=60)
    endpoints = plain(cp.core().read_namespaced_endpoints("calico-typha", NS))
    addresses = [a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []]
    assert addresses and set(addresses) == {ack_seed.host_address()}, endpoints  # the nodes' InternalIP
    felix_kubeconfig = service_account_kubeconfig(
        tmp_path / "felix.kubeconfig", cp.server, cp.cluster_dir / "pki" / "ca.crt", token_for(cp.core(), NS, "terway"),
        "terway",
    )
    felixload = typha_binary("felixload", DEFAULT_TYPHA_VERSION)
    with felix_agents(felixload, felix_kubeconfig, "relay", RELAY_CLIENTS, policy=POLICY) as load:
        synced = read_event(load)
        assert synced["event"] == "in-sync" and synced["inSync"] == RELAY_CLIENTS, synced
        assert not synced.get("errors"), synced
        namespace, name = POLICY.split("/")
        client.NetworkingV1Api(cp.api_client()).create_namespaced_network_policy(namespace, {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name},
            "spec": {"podSelector": {"matchLabels": {"app": "e2e"}}, "policyTypes": ["Ingress"]},
        })
        reached = read_event(load)
    assert reached == {**reached, "event": "policy", "clients": RELAY_CLIENTS, "seen": RELAY_CLIENTS}, reached
    assert not reached.get("seenBeforeCreated"), reached
    denied = [
        (ev["verb"], (ev.get("objectRef") or {}).get("resource"))
        for ev in cp.audit_events(since)
        if (ev.get("user") or {}).get("username") == TERWAY_USER and (ev.get("responseStatus") or {}).get("code") == 403
    ]
    assert denied == [], denied
    assert any((ev.get("user") or {}).get("username") == TERWAY_USER for ev in cp.audit_events(since))
    assert "Ignoring unknown config param" not in typha.log_text(), typha.log_tail()
    # What the stack's grace period must cover: this release exits on SIGTERM without shedding.
    grace = applied["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert typha.terminate() < grace


def test_3_typha_deleted_by_hand_is_said_at_preview_and_recreated_first_by_a_plain_up(cp, pulumi, applied):
    assert cp.core().read_namespaced_config_map("eni-config", NS).data["felix_relay_service"] == "calico-typha"
    cp.apps().delete_namespaced_deployment("calico-typha", NS)
    since = cp.audit_offset()
    text = output(pulumi("preview", "--diff"))
    assert admin_writes(cp, since) == {}
    assert (
        "Deployment kube-system/calico-typha not found while felix_relay_service points Felix at calico-typha"
    ) in text, text
    assert "`pulumi up` creates them again" in text, text
    assert "+-1 to replace" in text, text  # the Deployment, and only it
    assert "+-kubernetes:apps/v1:Deployment" in text.replace(" ", ""), text
    since = cp.audit_offset()
    pulumi("up", "--yes", "--skip-preview")  # no --refresh: Pulumi's state still lists the Deployment
    deployment = cp.apps().read_namespaced_deployment("calico-typha", NS)
    assert deployment.status.ready_replicas == deployment.spec.replicas
    writes = [ev for ev in cp.write_events(since, user=cp.admin_user)]
    assert writes and (writes[0].get("objectRef") or {}).get("resource") == "deployments", admin_writes(cp, since)
    # The stamp that forced the replace is now what the live object holds: the next run changes nothing.
    assert "terway-stack/recreated-at" in deployment.metadata.annotations
    since = cp.audit_offset()
    pulumi("up", "--yes", "--skip-preview", "--expect-no-changes")
    assert admin_writes(cp, since) == {}


def _preview_refused(cp, pulumi) -> str:
    since = cp.audit_offset()
    result = pulumi("preview", check=False)
    assert result.returncode != 0, output(result)
    assert "Traceback" not in output(result)
    assert admin_writes(cp, since) == {}
    return output(result)


def test_4_without_terways_rbac_preview_refuses_naming_the_permission(cp, pulumi):
    rbac = client.RbacAuthorizationV1Api(cp.api_client())
    rbac.delete_cluster_role_binding("terway-binding")
    try:
        text = _preview_refused(cp, pulumi)
        assert "terway:networkPolicy: typha runs as ServiceAccount kube-system/terway, which may not list/watch nodes" in text
        assert "ClusterRole terway-pod-reader" in text
    finally:
        rbac.create_cluster_role_binding(ack_seed.terway_cluster_role_binding())


def test_5_with_datapath_v2_rbac_preview_refuses_naming_serviceaccounts(cp, pulumi):
    rbac = client.RbacAuthorizationV1Api(cp.api_client())
    rbac.replace_cluster_role("terway-pod-reader", ack_seed.terway_cluster_role(datapath_v2=True))
    try:
        text = _preview_refused(cp, pulumi)
        assert "which may not list/watch serviceaccounts (SubjectAccessReview)" in text, text
    finally:
        rbac.replace_cluster_role("terway-pod-reader", ack_seed.terway_cluster_role())


def test_6_without_the_calico_crds_preview_refuses_naming_the_crd(cp, pulumi):
    extensions = client.ApiextensionsV1Api(cp.api_client())
    extensions.delete_custom_resource_definition("clusterinformations.crd.projectcalico.org")
    try:
        text = _preview_refused(cp, pulumi)
        assert (
            "terway:networkPolicy: typha needs CustomResourceDefinition clusterinformations.crd.projectcalico.org"
        ) in text, text
    finally:
        cp_crd = ack_seed.calico_crd("ClusterInformation", "clusterinformations", "Cluster")
        extensions.create_custom_resource_definition(cp_crd)


def test_7_a_typha_that_cannot_sync_is_refused_naming_both_versions(cp, pulumi):
    pulumi.set_config("terway:typha.version", "v3.20.2")
    try:
        text = _preview_refused(cp, pulumi)  # the configured Kubernetes, before anything is declared
        assert "terway:typha.version: v3.20.2: Typha v3.20.2 cannot sync on Kubernetes 1.34" in text, text
        pulumi.set_config("terway:cluster.kubernetesVersion", "1.24")  # wrong: the live API server says 1.34
        text = _preview_refused(cp, pulumi)
        assert "terway:typha.version: Typha v3.20.2 cannot sync on Kubernetes v1.34.4 (the live API server)" in text, text
    finally:
        pulumi.remove_config("terway:typha.version")
        pulumi.set_config("terway:cluster.kubernetesVersion", "1.34")
