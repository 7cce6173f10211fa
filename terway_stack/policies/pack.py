"""CrossGuard (pulumi_policy) wrappers around terway_stack.policies.rules.

Importing this module starts nothing; policy/__main__.py hands `build_policies()` to PolicyPack.

How engine data becomes PlanResource:
- props arrive wrapped in pulumi_policy's unknown-checking proxies; `to_plain` copies them and turns
  every value the engine cannot know during preview into UNKNOWN, so a rule skips exactly the check
  that needs it instead of the whole policy being abandoned.
- resource options: pulumi_policy 1.21's PolicyResourceOptions (and the engine's
  AnalyzerResourceOptions message) carry protect, ignoreChanges, deleteBeforeReplace, aliases,
  customTimeouts, additionalSecretOutputs and parent, but not retainOnDelete. So `retainOnDelete`
  is left out of the options ("not visible"), and eni-conf-retained reports itself not applicable
  under the engine; the offline plan, which records the option, enforces it.
- stack policies see property dependencies (input -> resources), which is how a SNAT entry is tied
  to a vSwitch whose id is unknown until it is created.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional

from pulumi.runtime import config as runtime_config
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, _is_unknown

from ..decide.facts import ENI_CONF_KEY
from .context import PolicyContext, config_schema_properties, context_from_stack_config, with_policy_config
from .model import ADVISORY, UNKNOWN, PlanResource
from .plan_readers import writes_eni_config
from .rules import RULES, Rule

RETAIN_NOT_VISIBLE = (
    "the engine does not pass retainOnDelete to policy packs (pulumi_policy 1.21 PolicyResourceOptions has "
    "no such field); the offline plan and the unit tests enforce this policy"
)


def to_plain(value: Any) -> Any:
    """A plain copy of engine props; unknown preview values become UNKNOWN."""
    if isinstance(value, Mapping):
        return {key: _item(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_item(value, index) for index in range(len(value))]
    return UNKNOWN if _is_unknown(value) else value


def _item(container: Any, key: Any) -> Any:
    try:
        return to_plain(container[key])
    except UnknownValueError:
        return UNKNOWN


def _options(opts: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"protect": bool(getattr(opts, "protect", False))}
    retain = getattr(opts, "retain_on_delete", None)  # absent in pulumi_policy 1.21
    if retain is not None:
        options["retainOnDelete"] = bool(retain)
    return options


def from_validation_args(args: ResourceValidationArgs) -> PlanResource:
    return PlanResource(
        type=args.resource_type, name=args.name, props=to_plain(args.props), options=_options(args.opts), urn=args.urn
    )


def from_stack_args(args: StackValidationArgs) -> list[PlanResource]:
    resources = []
    for r in args.resources:
        options = _options(r.opts)
        options["dependsOn"] = sorted(d.name for d in r.dependencies)
        deps = {prop: [d.name for d in found] for prop, found in r.property_dependencies.items()}
        resources.append(
            PlanResource(r.resource_type, r.name, to_plain(r.props), options, urn=r.urn, property_dependencies=deps)
        )
    return resources


def engine_context() -> PolicyContext:
    """The stack's configuration, which the engine passes to the pack process as PULUMI_CONFIG."""
    return context_from_stack_config(runtime_config.get_config_env())


def _not_applicable_reason(rule: Rule, resource: PlanResource) -> Optional[str]:
    if (
        rule.name == "eni-conf-retained"
        and writes_eni_config(resource)
        and isinstance(resource.props.get("data"), Mapping)
        and ENI_CONF_KEY in resource.props["data"]
        and "retainOnDelete" not in resource.options
    ):
        return RETAIN_NOT_VISIBLE
    return None


def _resource_validation(rule: Rule, base_context: Callable[[], PolicyContext]):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = from_validation_args(args)
        reason = _not_applicable_reason(rule, resource)
        if reason:
            args.not_applicable(reason)
        context = with_policy_config(base_context(), args.get_config())
        for message in rule.resource_check(resource, context):
            report_violation(message, None)

    return validate


def _stack_validation(rule: Rule, base_context: Callable[[], PolicyContext]):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        context = with_policy_config(base_context(), args.get_config())
        for finding in rule.stack_check(from_stack_args(args), context):
            report_violation(finding.message, finding.resource.urn if finding.resource is not None else None)

    return validate


def _level(rule: Rule) -> EnforcementLevel:
    return EnforcementLevel.ADVISORY if rule.enforcement == ADVISORY else EnforcementLevel.MANDATORY


def build_policy(rule: Rule, base_context: Callable[[], PolicyContext] = engine_context) -> Policy:
    schema = PolicyConfigSchema(config_schema_properties(rule.config)) if rule.config else None
    if rule.is_stack_rule:
        return StackValidationPolicy(
            name=rule.name, description=rule.description, validate=_stack_validation(rule, base_context),
            enforcement_level=_level(rule), config_schema=schema,
        )
    return ResourceValidationPolicy(
        name=rule.name, description=rule.description, validate=_resource_validation(rule, base_context),
        enforcement_level=_level(rule), config_schema=schema,
    )


def build_policies(base_context: Callable[[], PolicyContext] = engine_context) -> list[Policy]:
    """One CrossGuard policy per rule, in RULES order."""
    return [build_policy(rule, base_context) for rule in RULES]
