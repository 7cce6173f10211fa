"""`python -m terway_stack fleet` under the real engine: three kwok clusters, three stacks (issue 20).

Stacks fleet-a (canary), fleet-b (wave 1) and fleet-c (wave 2), each on its own control plane, set
their wave with the config key `fleet:wave`. The fleet command drives them through Pulumi's Automation
API (the real CLI v3.259.0, file backend), exactly as a user runs it. What is real: everything the
lifecycle suite uses, three times over. What is not: Alibaba Cloud (pod vSwitches are adopted).

In file order: fleet-b's Terway DaemonSet is OnDelete, so `fleet up` stops in wave 1 with fleet-a done
and fleet-c untouched; fixed and resumed, only fleet-b and fleet-c run; `fleet drift` is silent on the
converged fleet and names stack, resource and key after hand edits; Ctrl-C cancels an in-flight up
and leaves no stack locked.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.controlplane import ADMIN_USER, control_plane  # noqa: E402
from e2e.pulumi_project import PulumiCli, adopted_stack_config, copy_project, init_stack  # noqa: E402

NODES = 3  # Typha gets 2 replicas: fewer than nodes, so its rollout has a free host port
WAVES = {"fleet-a": "canary", "fleet-b": "1", "fleet-c": "2"}
ADOPTED = {"cn-shanghai-f": "vsw-fleetf", "cn-shanghai-g": "vsw-fleetg"}
NS, DS = "kube-system", "terway-eniip"


@pytest.fixture(scope="module")
def clusters():
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(control_plane(nodes=NODES, timeout=240)) for name in WAVES}


@pytest.fixture(scope="module")
def pulumi(clusters, tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("project"))
    cli = PulumiCli(project, tmp_path_factory.mktemp("pulumi"), on_error=pytest.fail)
    for name, wave in WAVES.items():
        init_stack(cli, name, adopted_stack_config(name, NODES, "typha", ADOPTED), clusters[name].kubeconfig_inline())
        cli("config", "set", "--stack", name, "fleet:wave", wave)
    return cli


def fleet(pulumi: PulumiCli, *args: str, timeout: int = 1800) -> tuple[subprocess.CompletedProcess, dict]:
    report = pulumi.workdir / "fleet-report.json"
    report.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "terway_stack", "fleet", *args, "--report-json", str(report)],
        cwd=pulumi.workdir, env=pulumi.env, capture_output=True, text=True, timeout=timeout,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result, json.loads(report.read_text())


def statuses(report: dict) -> dict[str, str]:
    return {s["stack"]: s["status"] for s in report["stacks"]}


def set_update_strategy(cp, strategy: str) -> None:
    body = {"spec": {"updateStrategy": {"type": strategy, "rollingUpdate": None}}} if strategy == "OnDelete" else \
        {"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}}}}
    cp.apps().patch_namespaced_daemon_set(DS, NS, body, field_manager="platform-team")


def typha_exists(cp) -> bool:
    return any(d.metadata.name == "calico-typha" for d in cp.apps().list_namespaced_deployment(NS).items)


def test_1_up_stops_at_the_broken_wave_and_leaves_the_later_one_untouched(clusters, pulumi):
    set_update_strategy(clusters["fleet-b"], "OnDelete")
    c_eni_config = clusters["fleet-c"].core().read_namespaced_config_map("eni-config", NS).data
    since_c = clusters["fleet-c"].audit_offset()

    result, report = fleet(pulumi, "up", "--parallel", "1")

    assert result.returncode == 1, result.stdout + result.stderr
    assert statuses(report) == {"fleet-a": "converged", "fleet-b": "failed", "fleet-c": "untouched"}
    assert report["failure"]["stack"] == "fleet-b" and report["failure"]["wave"] == "wave 1"
    assert report["failure"]["gate"] == "operation"
    assert "OnDelete" in report["failure"]["reason"]
    assert "FAILED in wave 1 at stack fleet-b" in result.stderr
    a_gates = {g["gate"]: g["passed"] for g in report["stacks"][0]["gates"]}
    assert a_gates == {"typha-ready": True, "terway-rollout": True, "capacity": True, "follow-up-preview": True}
    # progress lines while it ran, per stack
    assert "fleet up [canary] fleet-a: up started" in result.stdout
    assert "fleet up [canary] fleet-a: gate typha-ready: ok" in result.stdout
    # fleet-c: not one write to its cluster, nothing in its stack
    assert clusters["fleet-c"].write_summary(since_c, user=ADMIN_USER) == {}
    assert not typha_exists(clusters["fleet-c"])
    assert clusters["fleet-c"].core().read_namespaced_config_map("eni-config", NS).data == c_eni_config
    assert typha_exists(clusters["fleet-a"])
    assert clusters["fleet-a"].core().read_namespaced_config_map("eni-config", NS).data["felix_relay_service"] == "calico-typha"


def test_2_fixed_and_resumed_only_the_remaining_stacks_run(clusters, pulumi):
    set_update_strategy(clusters["fleet-b"], "RollingUpdate")
    since_a = clusters["fleet-a"].audit_offset()

    result, report = fleet(pulumi, "up", "--parallel", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert statuses(report) == {"fleet-a": "skipped", "fleet-b": "converged", "fleet-c": "converged"}
    assert "fleet up [canary] fleet-a: already converged: skipped" in result.stdout
    assert "fleet-a: up started" not in result.stdout
    assert clusters["fleet-a"].write_summary(since_a, user=ADMIN_USER) == {}  # previews only (dry runs)
    for name in ("fleet-b", "fleet-c"):
        assert typha_exists(clusters[name])
        ds = clusters[name].apps().read_namespaced_daemon_set(DS, NS)
        assert ds.status.updated_number_scheduled == ds.status.desired_number_scheduled == NODES


def test_3_drift_on_a_clean_fleet_is_silent(pulumi):
    result, report = fleet(pulumi, "drift", "--parallel", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(statuses(report).values()) == {"clean"}
    assert "DRIFT" not in result.stdout


def test_4_drift_names_stack_resource_and_key_after_hand_edits(clusters, pulumi):
    b = clusters["fleet-b"]
    conf = json.loads(b.core().read_namespaced_config_map("eni-config", NS).data["eni_conf"])
    conf["vswitches"]["cn-shanghai-f"] = [v for v in conf["vswitches"]["cn-shanghai-f"] if v != ADOPTED["cn-shanghai-f"]]
    b.core().patch_namespaced_config_map("eni-config", NS, {"data": {"eni_conf": json.dumps(conf)}}, field_manager="kubectl-edit")
    clusters["fleet-c"].core().delete_namespaced_service("calico-typha", NS)

    result, report = fleet(pulumi, "drift", "--parallel", "3")

    assert result.returncode == 1, result.stdout + result.stderr
    assert statuses(report) == {"fleet-a": "clean", "fleet-b": "drifted", "fleet-c": "drifted"}
    changes = {s["stack"]: s["changes"] for s in report["stacks"]}
    b_keys = {(c["name"], key) for c in changes["fleet-b"] for key in c["keys"]}
    assert ("eni-config-eni-conf", "data.eni_conf.vswitches.cn-shanghai-f") in b_keys, changes["fleet-b"]
    assert [(c["op"], c["name"]) for c in changes["fleet-c"]] == [("create", "calico-typha-service")], changes["fleet-c"]
    assert "fleet-b: " in result.stderr and "data.eni_conf.vswitches.cn-shanghai-f" in result.stderr
    # drift is read-only: the hand edits are still there
    assert ADOPTED["cn-shanghai-f"] not in json.loads(b.core().read_namespaced_config_map("eni-config", NS).data["eni_conf"])["vswitches"]["cn-shanghai-f"]


def locks(pulumi: PulumiCli) -> list[Path]:
    state = Path(pulumi.env["PULUMI_BACKEND_URL"].removeprefix("file://"))
    return sorted(state.glob(".pulumi/locks/**/*.json"))


def test_5_ctrl_c_cancels_in_flight_ups_and_leaves_no_stack_locked(clusters, pulumi):
    # Mode direct deletes Typha, rewrites the relay key and rolls Terway: an up with work in flight.
    pulumi("config", "set", "--stack", "fleet-b", "terway:networkPolicy", "direct")
    process = subprocess.Popen(
        [sys.executable, "-m", "terway_stack", "fleet", "up", "--stacks", "fleet-b"],
        cwd=pulumi.workdir, env=pulumi.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "up started" in line:
            break
    time.sleep(3)  # the CLI is mid-operation
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    out, err = process.communicate(timeout=600)
    output = "".join(lines) + out + err
    assert process.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    assert locks(pulumi) == []
    # The stack is usable at once: the same command finishes the job.
    result, report = fleet(pulumi, "up", "--stacks", "fleet-b")
    assert result.returncode == 0, result.stdout + result.stderr
    assert statuses(report) == {"fleet-b": "converged"}
    assert "felix_relay_service" not in clusters["fleet-b"].core().read_namespaced_config_map("eni-config", NS).data
