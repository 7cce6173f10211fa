"""How the real program writes kube-system/eni-config, under the real engine and provider (issues 10, 11).

Own control plane; one stack per scenario, run in file order:
- runbook: a cluster where an operator followed runbook 002 by hand before the stack (Typha objects
  and `felix_relay_service: calico-typha` written by other field managers). `up` adopts; a change to
  mode direct really removes the relay; back to typha; destroy really removes it. Each time the
  live ConfigMap and the audit-log order (key removed, then Terway restarted, then Typha deleted).
- concurrent: another manager edits eni_conf (a new vSwitch id, max_pool_size) after the program
  read eni-config and before the stack wrote it, the lost-update window of issue 11 §1; then, by a
  validating admission webhook, exactly between the writer's own GET and its PATCH (the write is
  refused with 409, the writer reads and merges again). Each edit is kept, and a second `up`
  changes and restarts nothing.
- disable key: absent stays absent (typha, and after destroy); "true" becomes "false" under a
  confirmed typha and is "true" again after destroy. A relay someone sets while the stack writes
  stops the run with nothing written.
- upgrade: a stack made by the ConfigMapPatch version of this program, updated to this one: the
  engine deletes the old patches after the new writers applied, and no key goes missing.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.admission_hook import EniConfigWriteHook, field_manager  # noqa: E402
from e2e.audit_log import field_manager_of  # noqa: E402
from e2e.controlplane import ADMIN_USER  # noqa: E402
from e2e.pulumi_project import PROJECT_FILES, PROJECT_FOLDERS, PulumiCli, copy_project, init_stack  # noqa: E402
from terway_stack.act import eni_config_writer as writer  # noqa: E402
from terway_stack.decide import facts  # noqa: E402

NODES = 4  # Typha replicas: 3
NS, DS, CM = "kube-system", "terway-eniip", "eni-config"
ADMIN = ADMIN_USER  # every request of the stack and of these tests
ROLLOUT_AGENT = "terway-stack-rollout"
WRITER_AGENT = facts.ENI_CONFIG_WRITER_USER_AGENT.split("/")[0]
RELAY, DISABLE = "felix_relay_service", "disable_network_policy"
# The last version that wrote eni-config with two ConfigMapPatch resources.
CONFIGMAP_PATCH_VERSION = "9caf04b"
OLD_MANAGERS = ("terway-stack-eni-config-vswitches", "terway-stack-eni-config-network-policy")


def confirms_policy_enforcement() -> dict:
    """The confirmation the preflight requires when a run turns policy on (declared once it exists)."""
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text()).get("config") or {}
    return {"terway:confirmNetworkPolicyEnforcement": True} if "confirmNetworkPolicyEnforcement" in declared else {}


def no_cloud_lookups(project: Path) -> dict:
    """No Alibaba Cloud here: skip the read-only look-ups, in versions of the program that have them."""
    declared = yaml.safe_load((project / "Pulumi.yaml").read_text()).get("config") or {}
    return {"terway:cloudLookups": False} if "cloudLookups" in declared else {}


def new_stack(cp, tmp_path_factory, name: str, config: dict, project: Path | None = None) -> PulumiCli:
    project = project or copy_project(tmp_path_factory.mktemp(f"project-{name}"))
    cli = PulumiCli(project, tmp_path_factory.mktemp(f"pulumi-{name}"), on_error=pytest.fail)
    base = {
        "alicloud:region": "cn-shanghai",
        "terway:cluster": {"name": name, "kubernetesVersion": "1.34", "nodeCount": NODES},
        "terway:terway": {"restartTimeoutSeconds": 300},
        **no_cloud_lookups(project),
    }
    return init_stack(cli, name, {**base, **config}, cp.kubeconfig_inline())


def data(cp) -> dict:
    return cp.core().read_namespaced_config_map(CM, NS).data or {}


def managers_of(cp, key: str) -> set[str]:
    cm = cp.api_client().sanitize_for_serialization(cp.core().read_namespaced_config_map(CM, NS))
    return {e["manager"] for e in cm["metadata"].get("managedFields") or [] if f'"f:{key}"' in json.dumps(e)}


def set_keys(cp, manager: str, **keys) -> None:
    """Another writer's edit (merge patch, as `kubectl edit` sends); None removes the key."""
    cp.core().patch_namespaced_config_map(CM, NS, {"data": keys}, field_manager=manager)


def restart_patches(cp, since: int) -> list[dict]:
    return cp.write_events(since, user_agent=ROLLOUT_AGENT, resource="daemonsets", name=DS, verbs=["patch"])


def writer_patches(cp, since: int, ok_only: bool = True) -> list[dict]:
    return cp.write_events(since, user_agent=WRITER_AGENT, resource="configmaps", name=CM, verbs=["patch"], ok_only=ok_only)


def typha_deletes(cp, since: int) -> list[dict]:
    return cp.write_events(since, user=ADMIN, resource="deployments", name="calico-typha", verbs=["delete"])


def assert_relay_gone_then_restart_then_typha_deleted(cp, since: int) -> None:
    writes, restarts, deletes = writer_patches(cp, since), restart_patches(cp, since), typha_deletes(cp, since)
    assert writes and len(restarts) == 1 and len(deletes) == 1, (writes, restarts, deletes)
    # Every eni-config write of the run, the relay removal included, came before Terway restarted.
    assert writes[-1]["stageTimestamp"] <= restarts[0]["requestReceivedTimestamp"]
    assert restarts[0]["stageTimestamp"] <= deletes[0]["requestReceivedTimestamp"]


# --------------------------------------------------------------------------- runbook-seeded cluster

RUNBOOK_TYPHA = [
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "calico-typha", "namespace": NS, "labels": {"k8s-app": "calico-typha"}},
     "spec": {"ports": [{"port": 5473, "protocol": "TCP", "targetPort": "calico-typha", "name": "calico-typha"}],
              "selector": {"k8s-app": "calico-typha"}}},
    {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "calico-typha", "namespace": NS, "labels": {"k8s-app": "calico-typha"}},
     "spec": {"replicas": 3, "revisionHistoryLimit": 2, "selector": {"matchLabels": {"k8s-app": "calico-typha"}},
              "template": {"metadata": {"labels": {"k8s-app": "calico-typha"}},
                           "spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "hostNetwork": True,
                                    "tolerations": [{"operator": "Exists"}], "serviceAccountName": "terway",
                                    "priorityClassName": "system-cluster-critical",
                                    "containers": [{"name": "calico-typha",
                                                    "image": "registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.20.2",
                                                    "ports": [{"containerPort": 5473, "name": "calico-typha", "protocol": "TCP"}]}]}}}},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
     "metadata": {"name": "calico-typha", "namespace": NS, "labels": {"k8s-app": "calico-typha"}},
     "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"k8s-app": "calico-typha"}}}},
]


def seed_runbook(cp) -> None:
    """Runbook 002 by hand: `kubectl apply -f calico-typha.yaml`, then `kubectl edit cm eni-config`."""
    from kubernetes import client

    core, apps, policy = cp.core(), cp.apps(), client.PolicyV1Api(cp.api_client())
    service, deployment, pdb = RUNBOOK_TYPHA
    manager = "kubectl-client-side-apply"
    core.create_namespaced_service(NS, service, field_manager=manager)
    apps.create_namespaced_deployment(NS, deployment, field_manager=manager)
    policy.create_namespaced_pod_disruption_budget(NS, pdb, field_manager=manager)
    set_keys(cp, "kubectl-edit", **{RELAY: "calico-typha"})


@pytest.fixture(scope="module")
def runbook(cp, tmp_path_factory):
    seed_runbook(cp)
    return new_stack(cp, tmp_path_factory, "runbook", {"terway:networkPolicy": "typha"})


def test_runbook_1_up_adopts_the_hand_made_relay(cp, runbook):
    assert managers_of(cp, RELAY) == {"kubectl-edit"}
    runbook("up", "--yes", "--skip-preview")
    assert data(cp)[RELAY] == "calico-typha"
    # Co-owned now: a release of either manager alone would leave it in place.
    assert managers_of(cp, RELAY) == {"kubectl-edit", writer.POLICY_MANAGER}
    assert cp.apps().read_namespaced_deployment("calico-typha", NS).status.ready_replicas == 3


def test_runbook_2_mode_direct_removes_the_co_owned_relay_before_restart_and_typha_delete(cp, runbook):
    runbook.set_config("terway:networkPolicy", "direct")
    since = cp.audit_offset()
    runbook("up", "--yes", "--skip-preview")
    assert RELAY not in data(cp)
    assert data(cp)[DISABLE] == "false"  # seeded by ACK, already "on": untouched
    assert_relay_gone_then_restart_then_typha_deleted(cp, since)


def test_runbook_3_back_to_typha(cp, runbook):
    # Runbook habit: the operator sets the key by hand again before the stack gets to it.
    set_keys(cp, "kubectl-edit", **{RELAY: "calico-typha"})
    runbook.set_config("terway:networkPolicy", "typha")
    since = cp.audit_offset()
    runbook("up", "--yes", "--skip-preview")
    assert data(cp)[RELAY] == "calico-typha"
    assert managers_of(cp, RELAY) == {"kubectl-edit", writer.POLICY_MANAGER}
    assert len(restart_patches(cp, since)) == 1


def test_runbook_4_destroy_removes_the_relay_before_restart_and_typha_delete(cp, runbook):
    assert managers_of(cp, RELAY) == {"kubectl-edit", writer.POLICY_MANAGER}
    since = cp.audit_offset()
    runbook("destroy", "--yes", "--skip-preview")
    assert RELAY not in data(cp)
    assert data(cp)[DISABLE] == "false"
    assert_relay_gone_then_restart_then_typha_deleted(cp, since)


# --------------------------------------------------------------------------- concurrent edit

ADOPTED = {"cn-shanghai-f": "vsw-e2econcf", "cn-shanghai-g": "vsw-e2econcg"}


class EditAfterProgramRead:
    """Waits in the audit log for the program's read of eni-config (the Kubernetes provider's GET),
    then edits eni_conf as the ACK console would: a new vSwitch id and a new max_pool_size."""

    def __init__(self, cp, since: int, console_id: str):
        self.cp, self.since, self.console_id = cp, since, console_id
        self.read_event: dict | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and self.read_event is None:
            for ev in self.cp.audit_events(self.since):
                ref = ev.get("objectRef") or {}
                if ev.get("verb") == "get" and ref.get("name") == CM and "pulumi" in (ev.get("userAgent") or ""):
                    self.read_event = ev
                    break
            time.sleep(0.02)
        if self.read_event is not None:
            conf = json.loads(data(self.cp)["eni_conf"])
            conf["vswitches"]["cn-shanghai-f"].append(self.console_id)
            conf["max_pool_size"] = 25
            set_keys(self.cp, "aliyun-console", eni_conf=json.dumps(conf, indent=2))
        self.done.set()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.done.wait(timeout=300)


@pytest.fixture(scope="module")
def concurrent(cp, tmp_path_factory):
    zones = {z: {"vswitchId": v} for z, v in ADOPTED.items()}
    return new_stack(cp, tmp_path_factory, "concurrent", {"terway:networkPolicy": "direct", "terway:podVSwitches": {"zones": zones}})


def test_concurrent_1_an_edit_between_the_read_and_the_write_is_kept(cp, concurrent):
    outcome = None
    for attempt in range(3):  # bounded: the edit must land inside the window, the audit log proves it did
        console_id = f"vsw-console{attempt}"
        since = cp.audit_offset()
        with EditAfterProgramRead(cp, since, console_id) as edit:
            concurrent("up", "--yes", "--skip-preview")
        assert edit.read_event is not None, "the program never read eni-config through the Kubernetes provider"
        console = cp.write_events(since, field_manager="aliyun-console", resource="configmaps", name=CM)
        # The stack's write of eni_conf, whatever writes it (so the test reads the same on older code).
        stack_writes = cp.write_events(since, resource="configmaps", name=CM, predicate=lambda ev: field_manager_of(ev) in (
            writer.ENI_CONF_MANAGER, OLD_MANAGERS[0]))
        assert len(console) == 1 and stack_writes
        in_window = (
            edit.read_event["stageTimestamp"] <= console[0]["requestReceivedTimestamp"]
            and console[0]["stageTimestamp"] <= stack_writes[-1]["requestReceivedTimestamp"]
        )
        if in_window:
            outcome = (since, console_id)
            break
        # The edit came after our write: undo our ids so the next try has something to write.
        conf = json.loads(data(cp)["eni_conf"])
        conf["vswitches"] = {z: [i for i in ids if i not in ADOPTED.values()] for z, ids in conf["vswitches"].items()}
        set_keys(cp, "aliyun-console", eni_conf=json.dumps(conf))
    assert outcome is not None, "the console edit never fell between the program's read and the stack's write"
    since, console_id = outcome
    conf = json.loads(data(cp)["eni_conf"])
    assert console_id in conf["vswitches"]["cn-shanghai-f"] and conf["max_pool_size"] == 25
    for zone, vswitch_id in ADOPTED.items():
        assert conf["vswitches"][zone].count(vswitch_id) == 1
    assert len(restart_patches(cp, since)) == 1


def test_concurrent_2_a_second_up_converges(cp, concurrent):
    since = cp.audit_offset()
    concurrent("up", "--yes", "--skip-preview", "--expect-no-changes")
    assert restart_patches(cp, since) == [] and writer_patches(cp, since, ok_only=False) == []


def inject_on_first_eni_conf_write(cp, console_id: str):
    """An on_write for EniConfigWriteHook: at the eni_conf writer's first PATCH, the console's edit."""
    injected = threading.Event()

    def on_write(request: dict) -> None:
        if field_manager(request) == writer.ENI_CONF_MANAGER and not injected.is_set():
            injected.set()
            conf = json.loads(data(cp)["eni_conf"])
            conf["vswitches"]["cn-shanghai-f"].append(console_id)
            conf["max_pool_size"] = 30
            set_keys(cp, "aliyun-console", eni_conf=json.dumps(conf, indent=2))

    return injected, on_write


def test_concurrent_3_an_edit_between_the_writers_read_and_its_write_is_refused_then_merged(cp, concurrent, tmp_path):
    concurrent.set_config("terway:podVSwitches.zones.cn-shanghai-g.vswitchId", "vsw-e2econcg2")
    since = cp.audit_offset()
    injected, on_write = inject_on_first_eni_conf_write(cp, "vsw-webhook1")
    with EniConfigWriteHook(cp, tmp_path, on_write) as hook:
        concurrent("up", "--yes", "--skip-preview")
    assert injected.is_set(), f"the writer's PATCH never reached the webhook (calls: {hook.calls})"
    events = [ev for ev in cp.audit_events(since)
              if (ev.get("userAgent") or "").startswith(WRITER_AGENT) and (ev.get("objectRef") or {}).get("name") == CM]
    assert [(ev["verb"], ev["responseStatus"]["code"]) for ev in events] == [("get", 200), ("patch", 409), ("get", 200), ("patch", 200)]
    [console] = cp.write_events(since, field_manager="aliyun-console", resource="configmaps", name=CM)
    read, refused = events[0], events[1]
    assert read["stageTimestamp"] <= console["requestReceivedTimestamp"]
    assert console["stageTimestamp"] <= refused["stageTimestamp"]
    conf = json.loads(data(cp)["eni_conf"])
    assert "vsw-webhook1" in conf["vswitches"]["cn-shanghai-f"] and conf["max_pool_size"] == 30
    assert "vsw-e2econcg2" in conf["vswitches"]["cn-shanghai-g"]
    assert len(restart_patches(cp, since)) == 1
    since = cp.audit_offset()
    concurrent("up", "--yes", "--skip-preview", "--expect-no-changes")
    assert restart_patches(cp, since) == [] and writer_patches(cp, since, ok_only=False) == []


def test_concurrent_4_destroy_keeps_eni_conf(cp, concurrent):
    concurrent("destroy", "--yes", "--skip-preview")
    conf = json.loads(data(cp)["eni_conf"])
    assert all(v in conf["vswitches"][z] for z, v in ADOPTED.items())


# --------------------------------------------------------------------------- disable_network_policy


@pytest.fixture(scope="module")
def policy_stack(cp, tmp_path_factory):
    return new_stack(cp, tmp_path_factory, "policykey", {"terway:networkPolicy": "typha", **confirms_policy_enforcement()})


def test_disable_1_absent_stays_absent_in_typha_mode_and_after_destroy(cp, policy_stack):
    set_keys(cp, "ack-addon-manager", **{DISABLE: None, RELAY: None})
    policy_stack("up", "--yes", "--skip-preview")
    assert DISABLE not in data(cp) and data(cp)[RELAY] == "calico-typha"
    policy_stack("destroy", "--yes", "--skip-preview")
    assert DISABLE not in data(cp) and RELAY not in data(cp)


def test_disable_2_true_is_false_under_confirmed_typha_and_true_again_after_destroy(cp, policy_stack):
    set_keys(cp, "ack-addon-manager", **{DISABLE: "true"})
    policy_stack("up", "--yes", "--skip-preview")
    assert data(cp)[DISABLE] == "false" and data(cp)[RELAY] == "calico-typha"
    since = cp.audit_offset()
    policy_stack("destroy", "--yes", "--skip-preview")
    assert data(cp)[DISABLE] == "true" and RELAY not in data(cp)
    assert_relay_gone_then_restart_then_typha_deleted(cp, since)
    set_keys(cp, "ack-addon-manager", **{DISABLE: "false"})


def test_disable_3_a_relay_set_by_someone_during_the_write_stops_the_run_with_nothing_written(cp, policy_stack, tmp_path):
    """The preview checks were made against the values read at the start: a relay naming another
    service that appears while the stack writes is not overwritten. The run stops, says so, and asks
    for another run; no traceback."""
    set_keys(cp, "ack-addon-manager", **{RELAY: None})

    def someone_sets_a_relay(request: dict) -> None:
        if field_manager(request) == writer.POLICY_MANAGER and RELAY not in data(cp):
            set_keys(cp, "kubectl-edit", **{RELAY: "my-own-typha"})

    since = cp.audit_offset()
    with EniConfigWriteHook(cp, tmp_path, someone_sets_a_relay) as hook:
        result = policy_stack("up", "--yes", "--skip-preview", check=False)
    output = result.stdout + result.stderr
    assert writer.POLICY_MANAGER in hook.calls
    assert result.returncode != 0
    assert 'kube-system/eni-config:felix_relay_service changed from null to "my-own-typha" since this run read it; ' \
        "nothing was written" in output, output
    # No traceback of ours. (When a resource fails while others are still in flight, the engine cancels
    # the program and the language host prints its own KeyboardInterrupt traceback: not from this code.)
    assert [line for line in output.splitlines() if 'File "' in line and "terway_stack" in line] == [], output
    assert "Exception calling application: kube-system/eni-config:felix_relay_service changed" in output
    assert data(cp)[RELAY] == "my-own-typha"
    assert [ev["responseStatus"]["code"] for ev in writer_patches(cp, since, ok_only=False)] == [409]
    assert restart_patches(cp, since) == []
    set_keys(cp, "kubectl-edit", **{RELAY: None})
    policy_stack("destroy", "--yes", "--skip-preview")


# --------------------------------------------------------------------------- upgrade from ConfigMapPatch


def old_project(target: Path) -> Path:
    """This project as it was at CONFIGMAP_PATCH_VERSION, with ./venv pointing at the running one."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", CONFIGMAP_PATCH_VERSION, *PROJECT_FILES, *PROJECT_FOLDERS],
        capture_output=True, check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    (target / "venv").symlink_to(Path(sys.prefix))
    return target


def test_upgrade_from_configmap_patches_loses_no_key(cp, tmp_path_factory):
    project = old_project(tmp_path_factory.mktemp("project-upgrade"))
    set_keys(cp, "ack-addon-manager", **{DISABLE: "true", RELAY: None})
    zones = {"cn-shanghai-f": {"vswitchId": "vsw-e2eupgradef"}}
    stack = new_stack(cp, tmp_path_factory, "upgrade", {"terway:networkPolicy": "disabled", "terway:podVSwitches": {"zones": zones}},
                      project=project)
    stack("up", "--yes", "--skip-preview")
    assert data(cp)[DISABLE] == "true"
    stack.set_config("terway:networkPolicy", "typha")
    stack("up", "--yes", "--skip-preview")
    # The old version: the relay is owned by its ConfigMapPatch manager alone.
    assert data(cp)[RELAY] == "calico-typha" and managers_of(cp, RELAY) == {OLD_MANAGERS[1]}

    for name in PROJECT_FOLDERS:
        shutil.rmtree(project / name)
    for name in PROJECT_FILES:
        (project / name).unlink()
    copy_project_files(project)
    stack_file = project / "Pulumi.upgrade.yaml"
    settings = yaml.safe_load(stack_file.read_text())
    settings["config"].update(no_cloud_lookups(project))
    stack_file.write_text(yaml.safe_dump(settings))
    since = cp.audit_offset()
    stack("up", "--yes", "--skip-preview")
    after = data(cp)
    assert after[RELAY] == "calico-typha" and after[DISABLE] == "false"
    assert writer.POLICY_MANAGER in managers_of(cp, DISABLE)  # taken over from the old patch at once
    assert "vsw-e2eupgradef" in json.loads(after["eni_conf"])["vswitches"]["cn-shanghai-f"]
    # The engine did release the old policy patch, after the new writer had applied.
    released = cp.write_events(since, field_manager=OLD_MANAGERS[1], resource="configmaps", name=CM)
    ours = writer_patches(cp, since)
    assert released and ours and ours[0]["stageTimestamp"] <= released[-1]["requestReceivedTimestamp"]
    assert OLD_MANAGERS[1] not in managers_of(cp, RELAY)
    # Nothing restarted: the effective values did not change.
    assert restart_patches(cp, since) == []
    stack("destroy", "--yes", "--skip-preview")
    assert RELAY not in data(cp)


def copy_project_files(target: Path) -> None:
    for name in PROJECT_FILES:
        shutil.copy(REPO / name, target / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
