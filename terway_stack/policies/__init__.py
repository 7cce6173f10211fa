"""Policy as code for terway-stack: the same rules for the offline plan, the CrossGuard pack and tests.

Offline plan:

    from terway_stack.policies import context_from_stack_config, evaluate_plan, has_mandatory
    violations = evaluate_plan(evaluation.resources, context_from_settings(settings))  # or ..._stack_config(config)
    exit_code = 1 if has_mandatory(violations) else 0

`evaluate_plan(resources, context: PolicyContext, policy_config=None) -> list[Violation]`; see
terway_stack/policies/evaluate.py. The CrossGuard objects live in terway_stack.policies.pack, which
is not imported here so that the plan does not need pulumi_policy loaded.
"""
from .context import PolicyContext, context_from_settings, context_from_stack_config, with_policy_config
from .evaluate import evaluate_plan, has_mandatory
from .model import ADVISORY, MANDATORY, UNKNOWN, PlanResource, Violation
from .rules import RULES, RULES_BY_NAME

__all__ = [
    "ADVISORY",
    "MANDATORY",
    "RULES",
    "RULES_BY_NAME",
    "UNKNOWN",
    "PlanResource",
    "PolicyContext",
    "Violation",
    "context_from_settings",
    "context_from_stack_config",
    "evaluate_plan",
    "has_mandatory",
    "with_policy_config",
]
