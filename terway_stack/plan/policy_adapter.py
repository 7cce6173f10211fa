"""Runs the CrossGuard policies (the very functions the pack uses) on the offline plan's resources."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ..decide.problems import describe
from ..decide.settings import StackSettings
from ..decide.strict_json import describe_key
from ..policies.context import CONFIG_PROPERTIES
from ..policies.rules import RULES
from ..policies.context import context_from_settings
from ..policies.evaluate import evaluate_plan
from .mocks import Evaluation


def plan_violations(
    evaluation: Evaluation, settings: StackSettings, policy_config: Optional[Mapping[str, Any]] = None
) -> list[dict[str, Any]]:
    violations = evaluate_plan(evaluation.resources, context_from_settings(settings), policy_config)
    return [v.to_dict() for v in violations]


ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
ALL_POLICIES = "all"  # the engine's key for one enforcement level for every policy of the pack


def _schema_problem(value: Any, schema: Mapping[str, Any]) -> Optional[str]:
    """What breaks one property's JSON schema (the subset the pack's schemas use: type, minimum, enum)."""
    kind = schema.get("type")
    if kind == "integer":
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            return f"must be an integer, got {describe(value)}"
        if "minimum" in schema and value < schema["minimum"]:
            return f"must be at least {schema['minimum']}, got {describe(value)}"
    elif kind == "string" and not isinstance(value, str):
        return f"must be a string, got {describe(value)}"
    elif kind == "boolean" and not isinstance(value, bool):
        return f"must be true or false, got {describe(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{describe(value)} is not one of {', '.join(schema['enum'])}"
    return None


def _level_problem(level: Any) -> Optional[str]:
    if level not in ENFORCEMENT_LEVELS:
        return f"enforcement level {describe(level)} is not one of {', '.join(ENFORCEMENT_LEVELS)}"
    return None


def policy_config_problems(document: Any) -> list[tuple[str, str]]:
    """(where, why) of everything in a policy-pack config the engine would refuse, by the pack's own schema:
    policy names, enforcement levels, and each policy's properties (no others allowed)."""
    if not isinstance(document, dict):
        return [("", "must be a JSON object of policy name -> enforcement level or settings")]
    rules = {rule.name: rule for rule in RULES}
    problems: list[tuple[str, str]] = []
    for name, entry in document.items():
        rule = rules.get(name)
        if rule is None and name != ALL_POLICIES:
            problems.append((describe_key(name), f"is not a policy of this pack (its policies: {', '.join(rules)})"))
            continue
        if isinstance(entry, str):
            problem = _level_problem(entry)
            problems += [(describe_key(name), problem)] if problem else []
            continue
        if not isinstance(entry, dict):
            problems.append((describe_key(name), "must be an enforcement level or an object of settings"))
            continue
        for key, value in entry.items():
            where = f"{describe_key(name)}.{describe_key(key)}"
            if key == "enforcementLevel":
                problem = _level_problem(value)
            elif rule is not None and key in rule.config:
                problem = _schema_problem(value, CONFIG_PROPERTIES[key][1])
            else:
                allowed = ", ".join(("enforcementLevel", *(rule.config if rule else ())))
                problem = f"is not a setting of this policy (allowed: {allowed})"
            problems += [(where, problem)] if problem else []
    return problems
