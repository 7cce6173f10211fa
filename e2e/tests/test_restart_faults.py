"""Issue 19's faults against a real kube-apiserver, with the real DaemonSet controller doing the rollouts:
no needless restart, a budget of every pod refused, a NotReady node that does not hold the rollout
open, a frozen API server that does not outlive the deadline, and an identity without write rights
stopped by the preflight's SelfSubjectAccessReviews.

The providers are used the way the engine uses them (through Pulumi's serializer). A frozen API
server is a TCP proxy in this file that stops forwarding; a NotReady node is a kwok node whose status
kwok may no longer write (a validating webhook) with Ready False, and whose Terway pod cannot go away,
as with a dead kubelet (DeadKubelet); the identity without write rights
is a ServiceAccount with get/list/watch only and a TokenRequest token.
"""
from __future__ import annotations

import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.admission_hook import AdmissionWebhook  # noqa: E402
from e2e.controlplane import ADMIN_USER  # noqa: E402
from e2e.identities import restricted_kubeconfig  # noqa: E402
from e2e.waiting import wait_until  # noqa: E402
from tests.engine_pickling import engine_copy  # noqa: E402
from terway_stack.act import preflight  # noqa: E402
from terway_stack.act import terway_rollout as tr  # noqa: E402
from terway_stack.act.kube import KubeError  # noqa: E402
from terway_stack.act.rollout_restart import RESTARTED_AT  # noqa: E402
from terway_stack.act.rollout_wait import RolloutError  # noqa: E402
from terway_stack.decide import facts  # noqa: E402
from terway_stack.decide.permissions import run_accesses  # noqa: E402
from terway_stack.decide.preflight import PreflightSettings  # noqa: E402

NODES = 10
NS, DS = "kube-system", "terway-eniip"
OUR_AGENT = facts.ROLLOUT_USER_AGENT.split("/")[0]
LAST_NODE = f"kwok-node-{NODES - 1}"
FINALIZER = "e2e.terway-stack.io/dead-kubelet"


def props(kubeconfig, **over):
    return {
        "kind": facts.ROLLOUT_KIND, "restartMethod": facts.ROLLOUT_METHOD, "daemonSet": DS, "namespace": NS,
        "trigger": f"trigger-{uuid.uuid4().hex[:8]}", "restartOn": "change", "timeoutSeconds": 240.0,
        "kubeconfig": kubeconfig, "writersChanged": [True], **over,
    }


def our_patches(cp, since):
    return [(e["verb"], e["objectRef"].get("resource")) for e in cp.write_events(since, user_agent=OUR_AGENT, ok_only=False)]


def set_max_unavailable(cp, value):
    cp.apps().patch_namespaced_daemon_set(DS, NS, {"spec": {"updateStrategy": {"rollingUpdate": {"maxUnavailable": value}}}})


def settled(cp):
    s = cp.apps().read_namespaced_daemon_set(DS, NS).status
    return s.number_available == NODES and not s.number_unavailable and s.updated_number_scheduled == NODES


@pytest.fixture(scope="module", autouse=True)
def two_at_a_time(cp):
    set_max_unavailable(cp, 2)  # 20% of 10: within the default share (25%)
    wait_until("the seeded DaemonSet to settle", lambda: settled(cp))


# --------------------------------------------------------------------------- needless restarts and the budget


def test_a_create_with_no_writer_change_restarts_nothing(cp, kubeconfig):
    since = cp.audit_offset()
    result = engine_copy(tr.TerwayRolloutProvider()).create(props(kubeconfig, writersChanged=[False, False]))
    assert result.outs["restarts"] == 0 and our_patches(cp, since) == []


def test_a_budget_of_every_pod_is_refused_before_anything_is_written(cp, kubeconfig):
    set_max_unavailable(cp, "100%")
    try:
        since = cp.audit_offset()
        with pytest.raises(RolloutError) as err:
            engine_copy(tr.TerwayRolloutProvider()).create(props(kubeconfig))
        assert "all 10 Terway pods" in str(err.value) and "terway:terway.confirmMaxUnavailable" in str(err.value)
        assert our_patches(cp, since) == []
        # The preflight says the same at preview.
        _, failures = preflight.run_checks({"kind": facts.PREFLIGHT_KIND, "kubeconfig": kubeconfig,
                                            "settings": PreflightSettings(mode="direct", daemon_sets=(DS,)).as_props()})
        assert any("maxUnavailable 100%" in f.reason for f in failures)
    finally:
        set_max_unavailable(cp, 2)


# --------------------------------------------------------------------------- permissions


@pytest.fixture(scope="module")
def read_only_kubeconfig(cp, kubeconfig):
    """A ServiceAccount that may get/list/watch everything and write nothing, with a TokenRequest token."""
    rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]
    return restricted_kubeconfig(cp, kubeconfig, NS, "terway-e2e-read-only", rules)


def test_an_identity_that_may_not_write_is_stopped_by_the_preflight_naming_each_write(cp, kubeconfig, read_only_kubeconfig):
    from terway_stack.decide.settings import parse_settings
    from terway_stack.decide.typha_manifests import render_typha

    text, user, token = read_only_kubeconfig
    settings = parse_settings({"alicloud:region": "cn-shanghai", "cluster": {
        "name": "e2e", "kubernetesVersion": "1.34", "nodeCount": NODES}})
    typha = render_typha(settings)
    accesses = run_accesses([typha.crd, typha.service, typha.deployment, typha.pdb], [DS], NS)
    request = {"kind": facts.PREFLIGHT_KIND, "settings": PreflightSettings(mode="typha", daemon_sets=(DS,), accesses=tuple(accesses),
                                                                     replace_existing_relay=True).as_props()}
    since = cp.audit_offset()
    _, failures = preflight.run_checks({**request, "kubeconfig": text})
    reasons = "\n".join(f.reason for f in failures)
    for denied in ("patch configmaps kube-system/eni-config", "patch daemonsets.apps kube-system/terway-eniip",
                   "create services in namespace kube-system", "patch deployments.apps kube-system/calico-typha",
                   "create customresourcedefinitions.apiextensions.k8s.io (cluster-wide)",
                   "patch poddisruptionbudgets.policy kube-system/calico-typha"):
        assert f"kubernetes:kubeconfig: this identity may not {denied}" in reasons, reasons
    assert "may not list pods" not in reasons and token not in reasons
    assert cp.write_events(since, user=user, ok_only=False) == []  # reviews and reads only
    # The admin may do all of it: the same review passes.
    _, admin_failures = preflight.run_checks({**request, "kubeconfig": kubeconfig})
    assert not [f for f in admin_failures if "may not" in f.reason]


# --------------------------------------------------------------------------- a frozen API server


class FreezableProxy:
    """Forwards TCP to the API server until frozen; then holds every connection open, answering nothing."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.frozen.is_set():
                continue  # accepted and never answered (kept referenced by nothing: the peer waits)
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    return
                while self.frozen.is_set():
                    time.sleep(0.2)  # the bytes are held for ever
                sink.sendall(data)
        except OSError:
            return

    def close(self):
        self.listener.close()


def test_a_frozen_api_server_ends_the_restart_at_its_deadline_and_a_rerun_does_not_restart_again(cp, kubeconfig):
    server = yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["server"]
    host, port = server.split("://", 1)[1].rsplit(":", 1)
    proxy = FreezableProxy(host, int(port))
    config = yaml.safe_load(kubeconfig)
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    via_proxy = yaml.safe_dump(config)
    request, outcome = props(via_proxy, timeoutSeconds=20.0), {}

    def run():
        try:
            outcome["result"] = engine_copy(tr.TerwayRolloutProvider()).create(request)
        except (RolloutError, KubeError) as err:
            outcome["error"] = str(err)

    since = cp.audit_offset()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    wait_until("our restart patch", lambda: our_patches(cp, since) == [("patch", "daemonsets")], timeout=60)
    proxy.frozen.set()  # the API server stops answering mid-rollout
    worker.join(180)  # a hang guard; the deadline is 20 s
    proxy.close()
    assert not worker.is_alive(), "the restart outlived its deadline while the API server was frozen"
    assert "did not finish its rolling restart within 20s" in outcome["error"]
    assert "The last request failed" in outcome["error"] and "run `pulumi up` again" in outcome["error"]
    # The rerun (same trigger) sees the restart already applied: it waits, it does not patch again.
    wait_until("the rollout to settle", lambda: settled(cp))
    since = cp.audit_offset()
    again = engine_copy(tr.TerwayRolloutProvider()).create({**request, "kubeconfig": kubeconfig})
    assert our_patches(cp, since) == [] and again.outs["restarts"] == 0


# --------------------------------------------------------------------------- a NotReady node


class DeadKubelet(AdmissionWebhook):
    """One node as if its kubelet had died: kwok may no longer write its status (a validating webhook
    refuses every status write to it but the test's own), its Ready condition is False, and its Terway
    pod is NotReady and cannot go away (a finalizer; kwok leaves a pod annotated status=custom alone)."""

    configuration_name = "terway-e2e-dead-kubelet"
    webhook_name = "dead-kubelet.terway-e2e.example.com"

    def __init__(self, cp, workdir, node: str):
        super().__init__(cp, workdir)
        self.node, self.pod = node, None
        self.calls: list[bool] = []  # whether each status write the API server showed us was allowed

    def rules(self) -> list[dict]:
        return [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"],
                 "resources": ["nodes/status"], "scope": "Cluster"}]

    def match_conditions(self) -> list[dict]:
        return [{"name": "node", "expression": f'object.metadata.name == "{self.node}"'}]

    def admit(self, request: dict):
        allowed = (request.get("userInfo") or {}).get("username") == ADMIN_USER
        self.calls.append(allowed)
        return None if allowed else "the kubelet is dead (e2e)"

    def __enter__(self) -> "DeadKubelet":
        super().__enter__()
        self._stop_node()
        return self

    def _stop_node(self) -> None:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        core = self.cp.core()
        ready = {"type": "Ready", "status": "False", "reason": "E2eKubeletDead", "message": "e2e",
                 "lastHeartbeatTime": now, "lastTransitionTime": now}
        wait_until("the node to stay NotReady", lambda: self._set_not_ready(ready) and not self._node_ready(), timeout=60)
        [pod] = [p for p in core.list_namespaced_pod(NS, label_selector=f"app={DS}").items if p.spec.node_name == self.node]
        self.pod = pod.metadata.name
        core.patch_namespaced_pod(self.pod, NS, {"metadata": {"annotations": {"kwok.x-k8s.io/status": "custom"},
                                                              "finalizers": [FINALIZER]}})
        core.patch_namespaced_pod_status(self.pod, NS, {"status": {"conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": now}]}})
        wait_until("the DaemonSet to count the pod unavailable",
                 lambda: (self.cp.apps().read_namespaced_daemon_set(DS, NS).status.number_unavailable or 0) >= 1)
        time.sleep(3)
        assert not self._node_ready() and False in self.calls  # kwok tried, and was refused

    def _set_not_ready(self, ready: dict) -> bool:
        self.cp.core().patch_node_status(self.node, {"status": {"conditions": [ready]}})
        time.sleep(1)
        return True

    def _node_ready(self) -> bool:
        node = self.cp.core().read_node(self.node)
        return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        if self.pod:
            self.cp.core().patch_namespaced_pod(self.pod, NS, {"metadata": {"finalizers": None}})
        # The kubelet comes back: report Ready as it would, rather than wait for kwok's next heartbeat
        # (under load that took longer than the wait, and the suite's later tests need the node Ready).
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.cp.core().patch_node_status(self.node, {"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "e2e",
             "lastHeartbeatTime": now, "lastTransitionTime": now}]}})
        wait_until("the node to be back", self._node_ready)


def test_a_notready_node_is_named_and_does_not_hold_the_rollout_open(cp, kubeconfig, capsys, tmp_path):
    with DeadKubelet(cp, tmp_path, LAST_NODE):
        since = cp.audit_offset()
        provider = engine_copy(tr.TerwayRolloutProvider())
        result = provider.create(props(kubeconfig))
        pods = cp.core().list_namespaced_pod(NS, label_selector=f"app={DS}").items
        template = cp.apps().read_namespaced_daemon_set(DS, NS).spec.template.metadata.annotations[RESTARTED_AT]
        # A rerun (same trigger, e.g. the state was lost) waits and finishes; it does not restart again.
        again = provider.create(props(kubeconfig, trigger=result.outs["trigger"]))
    assert result.outs["restarts"] == 1 and result.outs["notUpdatedNodes"] == [LAST_NODE]
    progress = capsys.readouterr().err
    assert f"rollout complete on every Ready node (9/10 pods); not updated on NotReady node {LAST_NODE}" in progress
    # Every Ready node really runs the new template.
    ready_nodes = {p.spec.node_name for p in pods if p.spec.node_name != LAST_NODE
                   and (p.metadata.annotations or {}).get(RESTARTED_AT) == template}
    assert len(ready_nodes) == NODES - 1
    assert again.outs["restarts"] == 0 and again.outs["notUpdatedNodes"] == [LAST_NODE]
    assert our_patches(cp, since) == [("patch", "daemonsets")]



# --------------------------------------------------------------------------- eni-config deleted mid-write


def test_an_eni_config_deleted_between_read_and_write_is_not_recreated_with_only_our_keys(cp, kubeconfig):
    """A server-side apply creates a missing object; the writer must not leave a ConfigMap holding only
    eni_conf where Terway's eni-config was (it removes what it created, by uid, and says so)."""
    from e2e.ack_seed import eni_config_manifest
    from terway_stack.act import eni_config_writer as writer
    from terway_stack.act.configmap_writes import ConfigMapMissing

    def delete_it(_cm):
        cp.core().delete_namespaced_config_map("eni-config", NS)

    try:
        with pytest.raises(ConfigMapMissing) as err:
            writer.write_eni_conf(kubeconfig, NS, "eni-config", {"cn-shanghai-f": ["vsw-e2emidwrite"]}, after_read=delete_it)
        assert "nothing was written" in str(err.value) and "run `pulumi up` again" in str(err.value)
        assert "eni-config" not in {c.metadata.name for c in cp.core().list_namespaced_config_map(NS).items}
    finally:
        if "eni-config" not in {c.metadata.name for c in cp.core().list_namespaced_config_map(NS).items}:
            cp.core().create_namespaced_config_map(NS, eni_config_manifest())
