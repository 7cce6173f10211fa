"""The wave driver against a stand-in for the Automation API layer (it imitates FleetOps: previews,
ups and cluster health per stack, scripted per test). The real layer runs in e2e/tests/test_fleet.py."""
import json
import threading
import time
from dataclasses import dataclass, field

from terway_stack.fleet.automation import Operation
from terway_stack.fleet.model import StepChange
from terway_stack.fleet.report import FleetReport
from terway_stack.fleet.runner import FleetRunner, HealthFacts, Interrupt
from terway_stack.fleet.selection import plan_waves

from .k8s_objects import daemon_set, deployment, zone

PENDING = [StepChange("update", "pulumi-python:dynamic/terway_stack:TerwayRollout", "terway-eniip-restart", ("trigger",))]


@dataclass
class StandInOps:
    """Stacks start unconverged; an up converges them unless the stack is in `broken` (up fails) or in
    `unhealthy` (the rollout never completes)."""

    broken: set = field(default_factory=set)
    unhealthy: set = field(default_factory=set)
    converged: set = field(default_factory=set)
    up_seconds: float = 0.0
    calls: list = field(default_factory=list)
    cancelled: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    block_up: bool = False

    def preview(self, stack, progress, refresh=False):
        self.calls.append(("preview", stack, refresh))
        if refresh:
            return Operation([] if stack in self.converged else PENDING, {"same": 10})
        return Operation([] if stack in self.converged else PENDING, {"same": 10})

    def up(self, stack, progress):
        with self.lock:
            self.calls.append(("up", stack))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.block_up:
                self.release.wait(10)
                if self.cancelled:
                    return Operation(error="update canceled")
            time.sleep(self.up_seconds)
            if stack in self.broken:
                return Operation(error=f"DaemonSet kube-system/terway-eniip uses updateStrategy OnDelete ({stack})")
            self.converged.add(stack)
            return Operation(summary={"update": 1, "same": 9})
        finally:
            with self.lock:
                self.in_flight -= 1

    def health(self, stack):
        rolled = daemon_set(updated=3) if stack in self.unhealthy else daemon_set()
        outputs = {"networkPolicyMode": "typha", "typhaServiceName": "calico-typha",
                   "terwayDaemonSets": ["terway-eniip"], "podIpCapacity": {"cn-shanghai-f": zone()}}
        return HealthFacts(outputs, deployment(), {"terway-eniip": rolled})

    def cancel_all(self):
        self.cancelled += 1
        self.release.set()
        return 1


def run(ops, command="up", parallel=1, waves=None):
    lines = []
    waves = waves or plan_waves({"a": "canary", "b": "1", "c": "2"})
    report = FleetRunner(ops, command, parallel=parallel, emit=lines.append).run(waves)
    return report, lines


def test_a_failing_middle_wave_stops_the_run_and_leaves_the_later_wave_untouched():
    ops = StandInOps(broken={"b"})
    report, lines = run(ops)
    assert [(o.stack, o.status) for o in report.outcomes] == [("a", "converged"), ("b", "failed"), ("c", "untouched")]
    assert ("up", "c") not in ops.calls and ("preview", "c", False) not in ops.calls
    document = report.as_json()
    assert document["result"] == "failed"
    assert document["failure"]["stack"] == "b" and document["failure"]["gate"] == "operation"
    assert "updateStrategy OnDelete" in document["failure"]["reason"]
    assert "FAILED in wave 1 at stack b, gate operation" in report.headline()
    assert any(line.startswith("fleet up [canary] a: up started") for line in lines)
    assert any(line.startswith("fleet up [canary] a: gate terway-rollout: ok") for line in lines)


def test_resume_skips_converged_stacks_and_runs_only_the_rest():
    ops = StandInOps(broken={"b"})
    run(ops)
    ops.broken.clear()
    ops.calls.clear()
    report, lines = run(ops)
    assert [(o.stack, o.status) for o in report.outcomes] == [("a", "skipped"), ("b", "converged"), ("c", "converged")]
    assert [c for c in ops.calls if c[0] == "up"] == [("up", "b"), ("up", "c")]
    assert "fleet up [canary] a: already converged: skipped" in lines
    assert report.result == "ok"


def test_a_failed_health_gate_names_the_gate_and_reason():
    ops = StandInOps(unhealthy={"a"})
    report, _ = run(ops)
    failure = report.as_json()["failure"]
    assert failure == {"stack": "a", "wave": "canary", "gate": "terway-rollout",
                       "reason": failure["reason"]}
    assert "rollout not complete: 3/6 updated" in failure["reason"]
    assert [o.status for o in report.outcomes] == ["failed", "untouched", "untouched"]


def test_parallelism_is_bounded_inside_a_wave():
    ops = StandInOps(up_seconds=0.2)
    waves = plan_waves({s: None for s in "abcdef"}, canary=1)
    report, _ = run(ops, parallel=2, waves=waves)
    assert report.result == "ok"
    assert ops.max_in_flight == 2


def test_an_interrupt_cancels_in_flight_operations_once_and_starts_nothing_new():
    ops = StandInOps(block_up=True)
    waves = plan_waves({s: None for s in "abcd"}, canary=0)
    interrupt = Interrupt(ops)
    runner = FleetRunner(ops, "up", parallel=2, emit=lambda _l: None, interrupt=interrupt)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("report", runner.run(waves)))
    thread.start()
    while ops.in_flight < 2:
        time.sleep(0.01)
    interrupt()
    interrupt()  # a second Ctrl-C does not signal the CLIs again (that would abort them, leaving locks)
    thread.join(10)
    report: FleetReport = result["report"]
    assert ops.cancelled == 1
    assert report.result == "interrupted"
    assert sorted((o.stack, o.status) for o in report.outcomes) == [
        ("a", "interrupted"), ("b", "interrupted"), ("c", "untouched"), ("d", "untouched")]
    assert sorted(c for c in ops.calls if c[0] == "up") == [("up", "a"), ("up", "b")]


def test_drift_runs_every_stack_and_reports_each_drifted_one():
    ops = StandInOps(converged={"a", "c"})
    report, lines = run(ops, command="drift")
    assert [(o.stack, o.status) for o in report.outcomes] == [("a", "clean"), ("b", "drifted"), ("c", "clean")]
    assert report.result == "drift"
    assert "b: terway-eniip-restart (trigger)" in report.headline()
    assert "fleet drift [wave 1] b: DRIFT update pulumi-python:dynamic/terway_stack:TerwayRollout terway-eniip-restart (trigger)" in lines
    assert json.loads(report.render_json())["stacks"][1]["changes"][0]["keys"] == ["trigger"]
