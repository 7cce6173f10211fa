"""The policies as pure functions over plain data: no Pulumi runtime, no I/O.

Each rule is either
- a resource rule: `check(resource: PlanResource, context: PolicyContext) -> Iterable[str]`, one message
  per problem with that resource (CrossGuard: a ResourceValidationPolicy), or
- a stack rule: `check(resources: Sequence[PlanResource], context) -> Iterable[Finding]`, for what
  only the whole stack shows, e.g. a missing object (CrossGuard: a StackValidationPolicy).

The checks are in checks.py, the readers of plan resources they share in plan_readers.py. `RULES`
lists them in report order; terway_stack.policies.evaluate_plan runs them for the offline plan
and terway_stack.policies.pack wraps the very same functions for the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from .checks import (
    check_direct_at_scale,
    check_eni_conf_retained,
    check_eni_config_managed_keys,
    check_felix_relay_service,
    check_pod_vswitch_cidr,
    check_pod_vswitch_snat,
    check_policy_disabled,
    check_terway_rolling_restart,
    check_typha_felix_version,
    check_typha_image_region,
    check_typha_pdb,
    check_typha_replicas,
    check_typha_shutdown_grace,
)
from .context import PolicyContext
from .model import ADVISORY, MANDATORY, Finding, PlanResource

ResourceCheck = Callable[[PlanResource, PolicyContext], Iterable[str]]
StackCheck = Callable[[Sequence[PlanResource], PolicyContext], Iterable[Finding]]


# --- registry --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    name: str
    enforcement: str  # default; teams may override per policy
    description: str
    config: tuple[str, ...]  # PolicyContext properties the rule reads (PolicyConfigSchema)
    resource_check: Optional[ResourceCheck] = None
    stack_check: Optional[StackCheck] = None

    @property
    def is_stack_rule(self) -> bool:
        return self.stack_check is not None

    def findings(self, resources: Sequence[PlanResource], context: PolicyContext) -> list[Finding]:
        if self.stack_check is not None:
            return list(self.stack_check(resources, context))
        return [Finding(m, r) for r in resources for m in self.resource_check(r, context)]


RULES: tuple[Rule, ...] = (
    Rule("pod-vswitch-cidr", MANDATORY,
         "Pod vSwitches are /16 to /19 and lie inside the VPC CIDR when it is known.",
         ("vpcCidr",), resource_check=check_pod_vswitch_cidr),
    Rule("pod-vswitch-snat", MANDATORY,
         "Every new pod vSwitch has a SNAT entry when SNAT is configured; no vSwitch is in two SNAT entries.",
         ("snatConfigured",), stack_check=check_pod_vswitch_snat),
    Rule("typha-replicas", MANDATORY,
         "Typha replicas are at least the computed minimum for the node count and at most 20.",
         ("nodeCount",), resource_check=check_typha_replicas),
    Rule("typha-pdb", MANDATORY,
         "Typha has a PodDisruptionBudget with maxUnavailable 1 in an apiVersion the cluster serves.",
         ("kubernetesVersion",), stack_check=check_typha_pdb),
    Rule("typha-shutdown-grace", MANDATORY,
         "Typha's terminationGracePeriodSeconds is at least TYPHA_SHUTDOWNTIMEOUTSECS.",
         (), resource_check=check_typha_shutdown_grace),
    Rule("felix-relay-service", MANDATORY,
         "felix_relay_service names a Typha Service declared in kube-system and never comes with "
         "disable_network_policy \"true\".",
         (), stack_check=check_felix_relay_service),
    Rule("eni-config-managed-keys", MANDATORY,
         "The eni-config writers carry only eni_conf, felix_relay_service and disable_network_policy.",
         (), resource_check=check_eni_config_managed_keys),
    Rule("eni-conf-retained", MANDATORY,
         "The eni-config writer owning eni_conf is retained on delete.",
         (), resource_check=check_eni_conf_retained),
    Rule("terway-rolling-restart", MANDATORY,
         "Terway is restarted only by the rolling-restart resource, never by deleting pods.",
         (), stack_check=check_terway_rolling_restart),
    Rule("network-policy-direct-at-scale", ADVISORY,
         "Network policy mode direct is not used above the node limit (default 100).",
         ("nodeCount", "networkPolicyMode", "directModeNodeLimit"), stack_check=check_direct_at_scale),
    Rule("network-policy-disabled", ADVISORY,
         "Network policy mode disabled stops NetworkPolicy enforcement.",
         ("networkPolicyMode",), stack_check=check_policy_disabled),
    Rule("typha-image-region", ADVISORY,
         "The Typha image comes from the stack's own region's registry.",
         ("region",), resource_check=check_typha_image_region),
    Rule("typha-felix-version", ADVISORY,
         "Typha runs the same Calico version as Felix in the cluster, where that is known.",
         ("felixVersion", "typhaVersion"), resource_check=check_typha_felix_version),
)

RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
