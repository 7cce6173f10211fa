"""What the offline plan shows: one model, built once from the evaluation, rendered three ways.

`build_plan` turns what the program declared (under the mock runtime), the settings, the live
eni-config and the policy results into a `PlanModel`: an ordered list of sections. Each section holds
plain data and renders itself as JSON (the stable interface), as the terminal table and as Markdown
(the PR check's job summary), so the three forms cannot drift apart. A new section is one class with
`json`, `text` and `markdown`, added to `build_plan`.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence

from ..decide import eni_config as eni
from ..decide.settings import StackSettings
from ..decide.sizing import typha_replicas
from . import capacity_report
from . import markdown as md
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


def _quoted(value: Optional[str]) -> str:
    return "(absent)" if value is None else json.dumps(value)


def _json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# --- sections -------------------------------------------------------------------------------------------


class Section:
    """One part of the plan. `json_key` names it in the JSON document."""

    json_key: ClassVar[str]
    title: ClassVar[str]

    def json(self) -> Any:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def markdown(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class ResourceRow:
    type: str
    name: str
    summary: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class ResourcesSection(Section):
    rows: tuple[ResourceRow, ...]
    json_key: ClassVar[str] = "resources"
    title: ClassVar[str] = "Resources to declare"

    def json(self) -> list[dict[str, Any]]:
        return [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in self.rows]

    def text(self) -> str:
        return _table(f"{self.title} ({len(self.rows)})", ("TYPE", "NAME", "WHAT"), [(r.type, r.name, r.summary) for r in self.rows])

    def markdown(self) -> str:
        rows = [(md.code(r.type, cell=True), md.code(r.name, cell=True), md.text(r.summary)) for r in self.rows]
        return md.section(f"{self.title} ({len(self.rows)})", md.table(("type", "name", "what"), rows))


@dataclass(frozen=True)
class TyphaSizing:
    replicas: int
    how: str  # "computed" or "override"
    minimum: int
    image: str


@dataclass(frozen=True)
class NewVSwitch:
    zone: str
    cidr: str
    usable_ips: Optional[int]


@dataclass(frozen=True)
class SizingSection(Section):
    cluster: str
    kubernetes_version: str
    node_count: int
    network_policy: str
    typha: Optional[TyphaSizing]
    pod_vswitches_managed: bool
    new_vswitches: tuple[NewVSwitch, ...] = ()
    adopted_vswitches: tuple[tuple[str, str], ...] = ()  # (zone, vSwitch id)
    json_key: ClassVar[str] = "sizing"
    title: ClassVar[str] = "Sizing and capacity"

    @property
    def total_new_pod_ips(self) -> int:
        return sum(v.usable_ips or 0 for v in self.new_vswitches)

    def json(self) -> dict[str, Any]:
        return {
            "cluster": {"name": self.cluster, "kubernetesVersion": self.kubernetes_version, "nodeCount": self.node_count},
            "networkPolicy": self.network_policy,
            "typha": None
            if self.typha is None
            else {"replicas": self.typha.replicas, "how": self.typha.how, "minimum": self.typha.minimum, "image": self.typha.image},
            "podVSwitches": None
            if not self.pod_vswitches_managed
            else {
                "created": {v.zone: {"cidr": v.cidr, "usableIps": v.usable_ips} for v in self.new_vswitches},
                "adopted": dict(self.adopted_vswitches),
                "totalNewPodIps": self.total_new_pod_ips,
            },
        }

    def _lines(self, value: Callable[[Any], str] = str) -> list[str]:
        """The sizing in words; `value` formats each value that comes from the stack file."""
        lines = [
            f"Cluster {value(self.cluster)}: Kubernetes {value(self.kubernetes_version)}, {self.node_count} Linux nodes"
        ]
        if self.typha is not None:
            t = self.typha
            lines.append(
                f"Typha: {t.replicas} replicas ({t.how}; minimum {t.minimum} = max(3, ceil(nodes/200)), at most 20,"
                f" fewer than nodes), image {value(t.image)}"
            )
        else:
            lines.append(f"Network policy mode {value(self.network_policy)}: no Typha")
        for v in self.new_vswitches:
            usable = "?" if v.usable_ips is None else v.usable_ips
            lines.append(f"New pod vSwitch {value(v.zone)}: {value(v.cidr)}, {usable} usable pod IPs")
        for zone, vswitch_id in self.adopted_vswitches:
            lines.append(f"Adopted pod vSwitch {value(zone)}: {value(vswitch_id)} (wired into eni-config, not created)")
        if self.pod_vswitches_managed:
            lines.append(f"Total new pod IPs: {self.total_new_pod_ips}")
        return lines

    def text(self) -> str:
        return self.title + "\n" + "\n".join(f"  {line}" for line in self._lines())

    def markdown(self) -> str:
        return md.section("Typha sizing and pod IP capacity", md.bullets(self._lines(lambda v: md.code(str(v)))))


@dataclass(frozen=True)
class CapacitySection(Section):
    """Pod-IP capacity per zone: the `podIpCapacity` output (figures and wording from capacity_report)."""

    zones: dict[str, Any]
    json_key: ClassVar[str] = "capacity"
    title: ClassVar[str] = capacity_report.TITLE

    def json(self) -> dict[str, Any]:
        return dict(self.zones)

    def text(self) -> str:
        return capacity_report.capacity_section({capacity_report.OUTPUT: self.zones})

    def markdown(self) -> str:
        if not self.zones:
            return md.section("Pod IP capacity per zone", md.text(capacity_report.NO_ZONE.capitalize() + "."))
        rows = [
            tuple(md.code(cell, cell=True) if i == 0 else md.text(cell) for i, cell in enumerate(capacity_report.zone_row(z, f)))
            for z, f in self.zones.items()
        ]
        header = tuple(c.lower() for c in capacity_report.COLUMNS)
        notes = [f"{md.code(z)}: not computed: {md.text(n)}" for z, f in self.zones.items() for n in f.get("unknown") or []]
        return md.section(
            "Pod IP capacity per zone",
            md.text("Headroom = available + added - warm; worst case = nodes x max pods per node."),
            md.table(header, rows),
            md.bullets(notes),
        )


@dataclass(frozen=True)
class KeyChange:
    key: str
    before: Optional[str]
    after: Optional[str]

    @property
    def changes(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class EniConfigSection(Section):
    keys: tuple[KeyChange, ...]
    eni_conf_managed: bool
    eni_conf_diff: tuple[str, ...]
    restart_daemon_sets: tuple[str, ...]
    restart_timeout_seconds: int
    json_key: ClassVar[str] = "eniConfig"
    title: ClassVar[str] = "kube-system/eni-config (keys this stack manages; all other keys are left to their owners)"

    def json(self) -> dict[str, Any]:
        return {
            "keys": [{"key": k.key, "before": k.before, "after": k.after, "changes": k.changes} for k in self.keys],
            "eniConfManaged": self.eni_conf_managed,
            "eniConfDiff": list(self.eni_conf_diff),
            "restart": {"daemonSets": list(self.restart_daemon_sets), "timeoutSeconds": self.restart_timeout_seconds},
        }

    def _eni_conf_note(self) -> Optional[str]:
        if not self.eni_conf_managed:
            return "eni_conf: not managed (no terway:podVSwitches)"
        if not self.eni_conf_diff:
            return "eni_conf: unchanged (every pod vSwitch is already listed)"
        return None

    def _restart_line(self) -> str:
        return (
            f"Then: rolling restart of {', '.join(self.restart_daemon_sets)} (kubectl rollout restart; within the"
            f" DaemonSet's maxUnavailable, timeout {self.restart_timeout_seconds}s), only if these values change"
        )

    def text(self) -> str:
        lines = [
            f"{k.key}: {_quoted(k.before)} -> {_quoted(k.after)} ({'changes' if k.changes else 'unchanged'})" for k in self.keys
        ]
        lines.append(self._eni_conf_note() or "\n".join(self.eni_conf_diff))
        lines.append(self._restart_line())
        return self.title + "\n" + "\n".join("  " + line for block in lines for line in block.split("\n"))

    def markdown(self) -> str:
        rows = [
            (md.code(k.key, cell=True), md.code(_quoted(k.before), cell=True), md.code(_quoted(k.after), cell=True), "**changes**" if k.changes else "unchanged")
            for k in self.keys
        ]
        parts = [md.table(("key", "live", "planned", ""), rows)]
        note = self._eni_conf_note()
        parts.append(md.text(note) if note else md.fenced("\n".join(self.eni_conf_diff), "diff"))
        parts.append(md.text(self._restart_line()))
        return md.section("kube-system/eni-config", md.text("Keys this stack manages; all other keys are left to their owners."), *parts)


@dataclass(frozen=True)
class _LinesSection(Section):
    """A section that is a list of one-line messages."""

    items: tuple[str, ...]

    def json(self) -> list[str]:
        return list(self.items)

    def text(self) -> str:
        return _list(self.title, self.items)

    def _markdown(self, heading: str) -> str:
        return md.section(heading, md.bullets(md.text(i) for i in self.items) or "None.")


@dataclass(frozen=True)
class WarningsSection(_LinesSection):
    json_key: ClassVar[str] = "warnings"
    title: ClassVar[str] = "Warnings"

    def markdown(self) -> str:
        return self._markdown(f"{self.title} ({len(self.items)})")


@dataclass(frozen=True)
class ChecksNotRunSection(_LinesSection):
    """Preflight checks that need the cluster (decide/preflight.py); the plan ran the others."""

    json_key: ClassVar[str] = "checksNotRun"
    title: ClassVar[str] = "Live checks not run offline (pulumi preview runs them before any write)"

    def markdown(self) -> str:
        return self._markdown(self.title)


@dataclass(frozen=True)
class ViolationsSection(Section):
    items: tuple[dict[str, Any], ...]
    json_key: ClassVar[str] = "violations"
    title: ClassVar[str] = "Policy violations"

    @property
    def mandatory(self) -> int:
        return sum(1 for v in self.items if v["enforcement"] == "mandatory")

    def json(self) -> list[dict[str, Any]]:
        return list(self.items)

    def text(self) -> str:
        return _list(
            self.title,
            [f"[{v['enforcement']}] {v['policy']}: {v['message']}" + (f" ({v['resource']})" if v.get("resource") else "") for v in self.items],
        )

    def markdown(self) -> str:
        def line(v: Mapping[str, Any]) -> str:
            where = f" ({md.code(v['resource'])})" if v.get("resource") else ""
            level = md.text(str(v["enforcement"]))
            level = f"**{level}**" if v["enforcement"] == "mandatory" else level
            return f"{level} {md.code(v['policy'])}: {md.text(str(v['message']))}{where}"

        return md.section(f"{self.title} ({len(self.items)})", md.bullets(line(v) for v in self.items) or "None.")


@dataclass(frozen=True)
class OutputsSection(Section):
    values: dict[str, Any]
    json_key: ClassVar[str] = "outputs"
    title: ClassVar[str] = "Stack outputs"

    def json(self) -> dict[str, Any]:
        return self.values

    def text(self) -> str:
        return _table(self.title, ("NAME", "VALUE"), [(k, _json_value(v)) for k, v in self.values.items()])

    def markdown(self) -> str:
        rows = [(md.code(k, cell=True), md.code(_json_value(v), cell=True)) for k, v in self.values.items()]
        return md.section(self.title, md.table(("output", "value"), rows))


# --- the model --------------------------------------------------------------------------------------------

# The JSON document's first keys, in this order: a stable interface that scripts read.
JSON_LEADING_KEYS = ("resources", "outputs", "violations", "warnings", "capacity")
OFFLINE_NOTE = "Pulumi mock runtime: no cloud, no cluster"


@dataclass(frozen=True)
class PlanModel:
    stack: str
    sections: tuple[Section, ...]  # in display order

    def section(self, kind: type) -> Any:
        return next(s for s in self.sections if isinstance(s, kind))

    @property
    def mandatory_violations(self) -> int:
        return self.section(ViolationsSection).mandatory

    def as_json(self) -> dict[str, Any]:
        by_key = {s.json_key: s for s in self.sections}
        keys = [*JSON_LEADING_KEYS, *(k for k in by_key if k not in JSON_LEADING_KEYS)]
        return {"stack": self.stack, **{k: by_key[k].json() for k in keys}}

    def render_json(self) -> str:
        return json.dumps(self.as_json(), indent=2, sort_keys=False, ensure_ascii=False, default=str)

    def render_table(self) -> str:
        header = f"Offline plan for stack {self.stack!r} ({OFFLINE_NOTE})"
        return "\n\n".join([header, *(s.text() for s in self.sections)]) + "\n"

    def render_markdown(self) -> str:
        mandatory = self.mandatory_violations
        verdict = (
            f"**{mandatory} mandatory policy violation(s): this plan fails.**"
            if mandatory
            else "No mandatory policy violation."
        )
        header = f"## Offline plan: stack {md.code(self.stack)}\n\n{OFFLINE_NOTE}. {verdict}"
        return "\n\n".join([header, *(s.markdown() for s in self.sections)]) + "\n"


def eni_config_changes(resources: Sequence[RecordedResource], live_data: Mapping[str, Any]) -> tuple[list[KeyChange], list[str]]:
    """Managed keys of eni-config before (live) and after (what the stack writes), and the eni_conf diff."""
    written: dict[str, str] = {}
    for resource in resources:
        if resource.inputs.get("kind") == ENI_CONFIG_WRITER_KIND:
            written.update(resource.inputs.get("data") or {})
    keys: list[KeyChange] = []
    eni_conf_diff: list[str] = []
    for key in eni.MANAGED_KEYS:
        before = live_data.get(key)
        # The policy writer's data is the keys as they will be after the run: a key it leaves out
        # will be absent (removed if it was there).
        after = written.get(key, before if key == eni.ENI_CONF_KEY else None)
        if key == eni.ENI_CONF_KEY:
            eni_conf_diff = list(
                difflib.unified_diff(
                    (before or "").splitlines(), (after or "").splitlines(), "eni_conf (live)", "eni_conf (planned)", lineterm=""
                )
            )
        else:
            keys.append(KeyChange(key, before, after))
    return keys, eni_conf_diff


def _sizing(settings: StackSettings, outputs: Mapping[str, Any]) -> SizingSection:
    typha = None
    if settings.network_policy == "typha":
        typha = TyphaSizing(
            # What the program sized: from the --nodes list when given (nodeCount a floor), else nodeCount.
            replicas=int(outputs.get("typhaReplicas") or settings.typha_replicas),
            how="override" if settings.typha.replicas else "computed",
            minimum=typha_replicas(settings.cluster.node_count),
            image=settings.typha_image,
        )
    pods = settings.pod_vswitches
    usable = outputs.get("podVSwitchUsableIps") or {}
    return SizingSection(
        cluster=settings.cluster.name,
        kubernetes_version=settings.cluster.kubernetes_version,
        node_count=settings.cluster.node_count,
        network_policy=settings.network_policy,
        typha=typha,
        pod_vswitches_managed=pods is not None,
        new_vswitches=tuple(NewVSwitch(z, c, usable.get(z)) for z, c in pods.created_zones.items()) if pods else (),
        adopted_vswitches=tuple(pods.adopted_zones.items()) if pods else (),
    )


def build_plan(
    stack: str,
    settings: StackSettings,
    evaluation: Evaluation,
    live_data: Mapping[str, Any],
    violations: Sequence[Mapping[str, Any]],
    checks_not_run: Sequence[str] = (),
) -> PlanModel:
    # Registration order depends on async timing; reviewers and diffs need a stable one.
    resources = sorted(evaluation.resources, key=lambda r: (r.type, r.name))
    keys, eni_conf_diff = eni_config_changes(evaluation.resources, live_data)
    return PlanModel(
        stack,
        (
            ResourcesSection(tuple(ResourceRow(r.type, r.name, summarize(r), public_inputs(r.inputs)) for r in resources)),
            _sizing(settings, evaluation.outputs),
            CapacitySection(capacity_report.capacity_json(evaluation.outputs)),
            EniConfigSection(
                keys=tuple(keys),
                eni_conf_managed=settings.pod_vswitches is not None,
                eni_conf_diff=tuple(eni_conf_diff),
                restart_daemon_sets=tuple(settings.terway.daemon_sets),
                restart_timeout_seconds=settings.terway.restart_timeout_seconds,
            ),
            WarningsSection(tuple(evaluation.warnings)),
            ChecksNotRunSection(tuple(checks_not_run)),
            ViolationsSection(tuple(dict(v) for v in violations)),
            OutputsSection(dict(evaluation.outputs)),
        ),
    )


@dataclass
class PlanReport:
    """The CLI's entry point: builds the model once; `render(format)` picks the rendering."""

    stack: str
    settings: StackSettings
    evaluation: Evaluation
    live_data: Mapping[str, Any]
    violations: list[dict[str, Any]]
    checks_not_run: list[str] = field(default_factory=list)  # preflight checks that need the cluster
    model: PlanModel = field(init=False)

    FORMATS: ClassVar[tuple[str, ...]] = ("table", "json", "markdown")

    def __post_init__(self) -> None:
        self.model = build_plan(
            self.stack, self.settings, self.evaluation, self.live_data, self.violations, self.checks_not_run
        )

    def as_json(self) -> dict[str, Any]:
        return self.model.as_json()

    def render(self, format: str) -> str:
        if format == "json":
            return self.model.render_json() + "\n"
        if format == "markdown":
            return self.model.render_markdown()
        return self.model.render_table()

    def render_json(self) -> str:
        return self.model.render_json()

    def render_table(self) -> str:
        return self.model.render_table()

    def render_markdown(self) -> str:
        return self.model.render_markdown()


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
    if i.get("kind") == "terway-preflight":
        return "read-only checks of the cluster; every write waits for them"
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


def _list(title: str, items: Sequence[str]) -> str:
    return f"{title}\n" + ("\n".join(f"  - {i}" for i in items) if items else "  (none)")


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    if not rows:
        return f"{title}\n  (none)"
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return "\n".join([title, fmt.format(*header), *(fmt.format(*map(str, r)) for r in rows)])
