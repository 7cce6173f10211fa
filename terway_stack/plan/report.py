"""What the offline plan shows: one model, built once from the evaluation, rendered three ways.

`build_plan` turns what the program declared (under the mock runtime), the settings, the live
eni-config and the policy results into a `PlanModel`: an ordered list of sections. Each section holds
plain data and renders itself as JSON (the stable interface), as the terminal table and as Markdown
(the PR check's job summary), so the three forms cannot drift apart. A new section is one class with
`json`, `text` and `markdown` (plan/sections.py; the resources section is plan/resources.py), added
to `build_plan`.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

from ..decide.facts import ENI_CONF_KEY, ENI_CONFIG_WRITER_KIND, MANAGED_KEYS
from ..decide.settings import StackSettings
from ..decide.sizing import typha_replicas
from ..outputs_contract import POD_IP_CAPACITY, POD_VSWITCH_USABLE_IPS
from . import markdown as md
from .mocks import Evaluation, RecordedResource
from .resources import ResourceRow, ResourcesSection, public_inputs, summarize
from .sections import (
    CapacitySection,
    ChecksNotRunSection,
    EniConfigSection,
    KeyChange,
    NewVSwitch,
    OutputsSection,
    Section,
    SizingSection,
    TyphaSizing,
    ViolationsSection,
    WarningsSection,
)

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
    for key in MANAGED_KEYS:
        before = live_data.get(key)
        # The policy writer's data is the keys as they will be after the run: a key it leaves out
        # will be absent (removed if it was there).
        after = written.get(key, before if key == ENI_CONF_KEY else None)
        if key == ENI_CONF_KEY:
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
    usable = outputs.get(POD_VSWITCH_USABLE_IPS) or {}
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
            CapacitySection(dict(evaluation.outputs.get(POD_IP_CAPACITY) or {})),
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
