"""Thin layer over Pulumi's Automation API (`pulumi.automation`): one LocalWorkspace on the project
directory and the stacks' backend (PULUMI_BACKEND_URL / `pulumi login`, as the CLI finds it).

Each operation runs the Pulumi CLI as a child in its own session, so a terminal's Ctrl-C reaches only
this process; `cancel_all` then sends each in-flight CLI exactly one SIGINT, which is Pulumi's graceful
cancel (finish in-flight steps, write state, release the stack's lock). A second SIGINT would make the
CLI exit at once and could leave the stack locked, so it is never sent.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult, PulumiCommand
from pulumi.automation.errors import CommandError, create_command_error

from .drift import step_changes
from .model import StepChange

Progress = Callable[[str], None]


class _CancellableCommand(PulumiCommand):
    """The Pulumi CLI, started in a new session and tracked until it exits."""

    def __init__(self, root: Optional[str] = None, version: Any = None, skip_version_check: bool = True):
        super().__init__(root, version, skip_version_check)
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self._signalled: set[int] = set()
        self.cancelled = False

    def run(self, args, cwd, additional_env, on_output=None, on_error=None) -> CommandResult:
        if "--non-interactive" not in args:
            args = ["--non-interactive", *args]
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        with self._lock:
            if self.cancelled:
                raise CommandError(CommandResult(stdout="", stderr="cancelled before it started", code=130))
            process = subprocess.Popen(
                [self.command, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                encoding="utf-8", start_new_session=True,
            )
            self._running.add(process)
        out: list[str] = []
        err: list[str] = []

        def pump(stream, sink: list[str], callback) -> None:
            for line in iter(stream.readline, ""):
                line = line.rstrip()
                sink.append(line)
                if callback:
                    callback(line)
            stream.close()

        readers = [threading.Thread(target=pump, args=(process.stdout, out, on_output), daemon=True),
                   threading.Thread(target=pump, args=(process.stderr, err, on_error), daemon=True)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        code = process.wait()
        with self._lock:
            self._running.discard(process)
        result = CommandResult(stdout="\n".join(out), stderr="\n".join(err), code=code)
        if code != 0:
            raise create_command_error(result)
        return result

    def cancel_all(self) -> int:
        """One SIGINT to every running CLI, never a second; no new one starts. Returns how many were signalled."""
        with self._lock:
            self.cancelled = True
            running = [p for p in self._running if p.poll() is None and p.pid not in self._signalled]
            self._signalled.update(p.pid for p in running)
        for process in running:
            try:
                process.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass
        return len(running)

    def running(self) -> int:
        with self._lock:
            return sum(1 for p in self._running if p.poll() is None)


@dataclass
class Operation:
    """What one preview/up did or would do."""

    changes: list[StepChange] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    error: str = ""
    warnings: list[str] = field(default_factory=list)


def _state(meta: Any) -> Optional[dict[str, Any]]:
    if meta is None:
        return None
    return {"inputs": dict(meta.inputs or {}), "outputs": dict(meta.outputs or {})}


def step_dict(meta: Any) -> dict[str, Any]:
    """An engine StepEventMetadata as the plain dict `drift.step_changes` reads."""
    op = getattr(meta.op, "value", meta.op)
    return {
        "op": str(op), "urn": meta.urn, "type": meta.type,
        "old": _state(meta.old), "new": _state(meta.new),
        "diffs": list(meta.diffs or []), "detailedDiff": dict(meta.detailed_diff or {}),
    }


class _Collector:
    """Engine events of one operation: steps, error and warning diagnostics, progress lines."""

    def __init__(self, progress: Progress, applying: bool):
        self.applying = applying  # an up: say when each resource is done (a preview only plans)
        self.steps: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.progress = progress

    def __call__(self, event: Any) -> None:
        if event.resource_pre_event is not None:
            self.steps.append(step_dict(event.resource_pre_event.metadata))
        elif event.res_outputs_event is not None and self.applying:
            meta = event.res_outputs_event.metadata
            op = str(getattr(meta.op, "value", meta.op))
            if op not in ("same", "read", "refresh"):
                self.progress(f"{op} {meta.type} {meta.urn.rsplit('::', 1)[-1]}: done")
        elif event.diagnostic_event is not None:
            diag = event.diagnostic_event
            message = " ".join((diag.message or "").split())
            if diag.severity == "error" and message:
                self.errors.append(message)
            elif diag.severity == "warning" and message:
                self.warnings.append(message)


def _reason(err: Exception, collector: _Collector) -> str:
    if collector.errors:
        return " | ".join(dict.fromkeys(collector.errors))[:2000]
    text = str(getattr(err, "stderr", "") or err).strip().splitlines()
    return " ".join(text[-5:])[:2000] or type(err).__name__


class FleetWorkspace:
    """The project's stacks, through one LocalWorkspace. Safe to use from worker threads."""

    def __init__(self, project_dir: Path, env: Optional[Mapping[str, str]] = None):
        self.command = _CancellableCommand()
        self.workspace = auto.LocalWorkspace(
            work_dir=str(project_dir), pulumi_command=self.command, env_vars=dict(env or {})
        )
        self._select = threading.Lock()
        self._stacks: dict[str, auto.Stack] = {}
        self._kubeconfigs: dict[str, str] = {}

    # --- listing and selection ------------------------------------------------------------------

    def stack_names(self) -> list[str]:
        return sorted(s.name for s in self.workspace.list_stacks())

    def wave_value(self, stack: str, key: str) -> Optional[str]:
        """The stack's config value under `key`, else its stack tag `key`, else None."""
        try:
            return str(self.workspace.get_config(stack, key).value)
        except CommandError:
            pass
        try:
            return self.workspace.get_tag(stack, key)
        except CommandError:
            return None

    def _stack(self, name: str) -> auto.Stack:
        # Selected once per run: every operation then names its stack (--stack) itself. `stack select`
        # writes the workspace's current stack, so one at a time.
        with self._select:
            if name not in self._stacks:
                self._stacks[name] = auto.Stack.select(name, self.workspace)
            return self._stacks[name]

    # --- operations -------------------------------------------------------------------------------

    def preview(self, stack: str, progress: Progress, refresh: bool = False) -> Operation:
        collector = _Collector(progress, applying=False)
        try:
            result = self._stack(stack).preview(refresh=refresh, on_event=collector, diff=False)
        except CommandError as err:
            return Operation(error=_reason(err, collector), warnings=collector.warnings)
        summary = {str(getattr(k, "value", k)): v for k, v in (result.change_summary or {}).items()}
        return Operation(step_changes(collector.steps), summary, warnings=collector.warnings)

    def up(self, stack: str, progress: Progress) -> Operation:
        collector = _Collector(progress, applying=True)
        try:
            result = self._stack(stack).up(on_event=collector)
        except CommandError as err:
            return Operation(error=_reason(err, collector), warnings=collector.warnings)
        summary = dict(result.summary.resource_changes or {})
        return Operation(step_changes(collector.steps), summary, warnings=collector.warnings)

    def outputs(self, stack: str) -> dict[str, Any]:
        return {k: v.value for k, v in self._stack(stack).outputs().items()}

    def config(self, stack: str, key: str) -> Optional[str]:
        try:
            return str(self.workspace.get_config(stack, key).value)
        except CommandError:
            return None

    def cancel_all(self) -> int:
        return self.command.cancel_all()


def stack_kubeconfig(workspace: FleetWorkspace, stack: str, environ: Mapping[str, str] = os.environ) -> str:
    """The kubeconfig the stack's program uses: its config (text or path, `kubernetes:context` pinned),
    else KUBECONFIG, else ~/.kube/config; read by the program's own rules."""
    from ..declare.cluster import CONTEXT_KEY, KUBECONFIG_KEY, _kubeconfig_text, _pin_context

    config = {key: workspace.config(stack, key) for key in (KUBECONFIG_KEY, CONTEXT_KEY)}
    text, source = _kubeconfig_text(config, environ)
    return _pin_context(text, config.get(CONTEXT_KEY), source)


class FleetOps(FleetWorkspace):
    """The workspace plus the cluster reads the health gates need."""

    def health(self, stack: str):
        from .cluster_reads import read_health_objects
        from .runner import HealthFacts

        outputs = self.outputs(stack)
        typha = outputs.get("typhaServiceName") if outputs.get("networkPolicyMode") == "typha" else None
        daemon_sets = list(outputs.get("terwayDaemonSets") or [])
        if stack not in self._kubeconfigs:  # config does not change during a run
            self._kubeconfigs[stack] = stack_kubeconfig(self, stack)
        deployment, found = read_health_objects(self._kubeconfigs[stack], typha, daemon_sets)
        return HealthFacts(outputs, deployment, found)
