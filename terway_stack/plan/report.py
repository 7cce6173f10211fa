"""What the offline plan shows: the stable JSON document and the table a reviewer reads."""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ..decide import eni_config as eni
from ..decide.settings import StackSettings
from ..decide.sizing import typha_replicas
from .capacity_report import capacity_json, capacity_section
from .mocks import Evaluation, RecordedResource

DYNAMIC_PROVIDER_KEY = "__provider"
ENI_CONFIG_WRITER_KIND = "terway-eni-config-writer"  # act/eni_config_writer.py KIND
REDACTED = "[secret]"
_SECRET_KEYS = {"kubeconfig"}


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # the engine's marker for a secret value


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return REDACTED
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def public_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs fit to print: no secret values (nor a kubeconfig, however passed), no pickled provider blob."""
    shown = {}
    for key, value in sorted(inputs.items()):
        if key in _SECRET_KEYS:
            shown[key] = REDACTED
        elif key == DYNAMIC_PROVIDER_KEY:
            shown[key] = "[serialized dynamic provider]"
        else:
            shown[key] = _redacted(value)
    return shown


@dataclass(frozen=True)
class KeyChange:
    key: str
    before: Optional[str]
    after: Optional[str]


@dataclass
class EniConfigDiff:
    keys: list[KeyChange] = field(default_factory=list)
    eni_conf_diff: list[str] = field(default_factory=list)


def eni_config_diff(resources: list[RecordedResource], live_data: Mapping[str, Any]) -> EniConfigDiff:
    """Managed keys of eni-config before (live) and after (the stack's patches)."""
    written: dict[str, str] = {}
    for resource in resources:
        if resource.inputs.get("kind") == ENI_CONFIG_WRITER_KIND:
            written.update(resource.inputs.get("data") or {})
    diff = EniConfigDiff()
    for key in eni.MANAGED_KEYS:
        before = live_data.get(key)
        # The policy writer's data is the keys as they will be after the run: a key it leaves out
        # will be absent (removed if it was there).
        after = written.get(key, before if key == eni.ENI_CONF_KEY else None)
        if key == eni.ENI_CONF_KEY:
            diff.eni_conf_diff = list(
                difflib.unified_diff(
                    (before or "").splitlines(), (after or "").splitlines(), "eni_conf (live)", "eni_conf (planned)", lineterm=""
                )
            )
        else:
            diff.keys.append(KeyChange(key, before, after))
    return diff


@dataclass
class PlanReport:
    stack: str
    settings: StackSettings
    evaluation: Evaluation
    live_data: Mapping[str, Any]
    violations: list[dict[str, Any]]

    @property
    def resources(self) -> list[RecordedResource]:
        # Registration order depends on async timing; reviewers and diffs need a stable one.
        return sorted(self.evaluation.resources, key=lambda r: (r.type, r.name))

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [
                {"type": r.type, "name": r.name, "inputs": public_inputs(r.inputs)} for r in self.resources
            ],
            "outputs": self.evaluation.outputs,
            "violations": self.violations,
            "warnings": self.evaluation.warnings,
            "capacity": capacity_json(self.evaluation.outputs),
        }

    def render_json(self) -> str:
        return json.dumps(self.as_json(), indent=2, sort_keys=False, ensure_ascii=False, default=str)

    def render_table(self) -> str:
        sections = [
            f"Offline plan for stack {self.stack!r} (Pulumi mock runtime: no cloud, no cluster)",
            self._resources_section(),
            self._sizing_section(),
            capacity_section(self.evaluation.outputs),
            self._eni_config_section(),
            self._list_section("Warnings", self.evaluation.warnings),
            self._list_section(
                "Policy violations",
                [f"[{v['enforcement']}] {v['policy']}: {v['message']}" + (f" ({v['resource']})" if v.get("resource") else "") for v in self.violations],
            ),
            self._outputs_section(),
        ]
        return "\n\n".join(s for s in sections if s) + "\n"

    def _resources_section(self) -> str:
        rows = [(r.type, r.name, summarize(r)) for r in self.resources]
        return _table(f"Resources to declare ({len(rows)})", ("TYPE", "NAME", "WHAT"), rows)

    def _sizing_section(self) -> str:
        s = self.settings
        lines = [f"Cluster {s.cluster.name}: Kubernetes {s.cluster.kubernetes_version}, {s.cluster.node_count} Linux nodes"]
        if s.network_policy == "typha":
            computed = typha_replicas(s.cluster.node_count)
            how = "override" if s.typha.replicas else "computed"
            lines.append(
                f"Typha: {s.typha_replicas} replicas ({how}; minimum {computed} = max(3, ceil(nodes/200)), at most 20,"
                f" fewer than nodes), image {s.typha_image}"
            )
        else:
            lines.append(f"Network policy mode {s.network_policy}: no Typha")
        pods = s.pod_vswitches
        if pods:
            usable = self.evaluation.outputs.get("podVSwitchUsableIps") or {}
            for zone, cidr in pods.created_zones.items():
                lines.append(f"New pod vSwitch {zone}: {cidr}, {usable.get(zone, '?')} usable pod IPs")
            for zone, vswitch_id in pods.adopted_zones.items():
                lines.append(f"Adopted pod vSwitch {zone}: {vswitch_id} (wired into eni-config, not created)")
            lines.append(f"Total new pod IPs: {sum(usable.values()) if usable else 0}")
        return "Sizing and capacity\n" + "\n".join(f"  {line}" for line in lines)

    def _eni_config_section(self) -> str:
        diff = eni_config_diff(self.evaluation.resources, self.live_data)
        lines = []
        for change in diff.keys:
            state = "unchanged" if change.before == change.after else "changes"
            lines.append(f"{change.key}: {_quoted(change.before)} -> {_quoted(change.after)} ({state})")
        if self.settings.pod_vswitches is None:
            lines.append("eni_conf: not managed (no terway:podVSwitches)")
        elif diff.eni_conf_diff:
            lines.extend(diff.eni_conf_diff)
        else:
            lines.append("eni_conf: unchanged (every pod vSwitch is already listed)")
        restarts = ", ".join(self.settings.terway.daemon_sets)
        lines.append(
            f"Then: rolling restart of {restarts} (kubectl rollout restart; within the DaemonSet's maxUnavailable,"
            f" timeout {self.settings.terway.restart_timeout_seconds}s), only if these values change"
        )
        return "kube-system/eni-config (keys this stack manages; all other keys are left to their owners)\n" + "\n".join(
            f"  {line}" for line in lines
        )

    def _outputs_section(self) -> str:
        rows = [(k, json.dumps(v, ensure_ascii=False, default=str)) for k, v in self.evaluation.outputs.items()]
        return _table("Stack outputs", ("NAME", "VALUE"), rows)

    @staticmethod
    def _list_section(title: str, items: list[str]) -> str:
        return f"{title}\n" + ("\n".join(f"  - {i}" for i in items) if items else "  (none)")


def _quoted(value: Optional[str]) -> str:
    return "(absent)" if value is None else json.dumps(value)


def summarize(resource: RecordedResource) -> str:
    """One line a reviewer can judge a resource by."""
    i = resource.inputs
    t = resource.type
    if t == "alicloud:vpc/switch:Switch":
        return f"{i.get('cidrBlock')} in {i.get('zoneId')} of {i.get('vpcId')}"
    if t == "alicloud:vpc/snatEntry:SnatEntry":
        return f"SNAT {i.get('sourceVswitchId')} via {i.get('snatIp')} on {i.get('snatTableId')}"
    if i.get("kind") == ENI_CONFIG_WRITER_KIND:
        managed = eni.POLICY_KEYS if i.get("role") == "policy-keys" else (i.get("data") or {}).keys()
        keys = ", ".join(sorted(managed))
        retained = " (retained on delete)" if resource.options.get("retainOnDelete") else ""
        return f"write keys [{keys}] of {i.get('namespace')}/{i.get('configMap')} as {i.get('fieldManager')}{retained}"
    if i.get("kind") == "terway-rollout-restart":
        when = "when the managed keys change" if i.get("restartOn") == "change" else "after the policy keys are released (destroy)"
        return f"rolling restart of {i.get('namespace')}/{i.get('daemonSet')} {when}"
    if i.get("kind") == "terway-per-node-config-check":
        zones = ", ".join(sorted(i.get("wantedVSwitches") or {}))
        return f"fail before writing if a per-node eni-config overrides {zones} without the new vSwitch"
    if t == "kubernetes:apps/v1:Deployment":
        spec = i.get("spec") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
        return f"{spec.get('replicas')} replicas of {containers[0].get('image')}"
    metadata = i.get("metadata") or {}
    if metadata.get("name"):
        return "/".join(p for p in (metadata.get("namespace"), metadata.get("name")) if p)
    return ""


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    if not rows:
        return f"{title}\n  (none)"
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return "\n".join([title, fmt.format(*header), *(fmt.format(*map(str, r)) for r in rows)])
