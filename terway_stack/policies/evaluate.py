"""Run every rule over a plan: the entry point of the offline plan.

    evaluate_plan(resources, context, policy_config=None) -> list[Violation]

resources: PlanResource objects, or anything shaped like terway_stack.plan.mocks.RecordedResource
    (type, name, inputs, options, id); reads (`.get()` of live objects) should be left out.
context: PolicyContext, usually `context_from_stack_config(<the stack's config>)`.
policy_config: the same document `pulumi preview --policy-pack-config FILE` takes:
    {"<policy name>": {"enforcementLevel": "advisory|mandatory|disabled", "<property>": value, ...}}
    or {"<policy name>": "<enforcement level>"}.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from .context import PolicyContext, with_policy_config
from .model import DISABLED, MANDATORY, PlanResource, Violation
from .rules import RULES, Rule

PolicyConfig = Mapping[str, Any]


def policy_settings(policy_config: Optional[PolicyConfig], rule: Rule) -> tuple[str, Mapping[str, Any]]:
    """(enforcement level, properties) for one rule from a policy-pack config document."""
    entry = (policy_config or {}).get(rule.name, (policy_config or {}).get("all"))  # "all": every policy
    if isinstance(entry, str):
        return _level(entry, rule), {}
    entry = dict(entry or {})
    return _level(entry.pop("enforcementLevel", None), rule), entry


def _level(value: Optional[str], rule: Rule) -> str:
    if not value:
        return rule.enforcement
    # "remediate" has nothing to remediate here, so it blocks like mandatory, as the engine does.
    return MANDATORY if value == "remediate" else value


def _as_plan_resource(resource: Any) -> PlanResource:
    return resource if isinstance(resource, PlanResource) else PlanResource.from_recorded(resource)


def evaluate_plan(
    resources: Iterable[Any], context: PolicyContext, policy_config: Optional[PolicyConfig] = None
) -> list[Violation]:
    plan = [_as_plan_resource(r) for r in resources]
    violations = []
    for rule in RULES:
        enforcement, properties = policy_settings(policy_config, rule)
        if enforcement == DISABLED:
            continue
        rule_context = with_policy_config(context, properties)
        for finding in rule.findings(plan, rule_context):
            name = finding.resource.name if finding.resource is not None else None
            violations.append(Violation(rule.name, enforcement, finding.message, name))
    return violations


def has_mandatory(violations: Iterable[Violation]) -> bool:
    """The offline plan exits 1 when this is true."""
    return any(v.enforcement == MANDATORY for v in violations)
