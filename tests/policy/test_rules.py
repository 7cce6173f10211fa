"""The pure rules and evaluate_plan: what the offline plan runs."""
from __future__ import annotations

import dataclasses

import pytest

from terway_stack.policies import (
    RULES,
    RULES_BY_NAME,
    UNKNOWN,
    PlanResource,
    PolicyContext,
    Violation,
    evaluate_plan,
    has_mandatory,
    with_policy_config,
)
from terway_stack.decide.live_objects import image_tag
from terway_stack.decide.config_types import kubernetes_minor
from terway_stack.policies.checks import effective_mode
from terway_stack.policies.plan_readers import registry_region

from . import stacks as s
from .cases import CASES, QUIET


def rule_findings(policy: str, stack, config=None):
    rule = RULES_BY_NAME[policy]
    return rule.findings(stack, with_policy_config(s.PROD, config or {}))


def test_every_policy_of_the_issue_is_covered_by_a_firing_case():
    assert {c.policy for c in CASES} == {r.name for r in RULES}


def test_compliant_stack_has_no_violations():
    assert evaluate_plan(s.compliant_stack(), s.PROD) == []


@pytest.mark.parametrize("policy", [r.name for r in RULES])
def test_each_rule_passes_the_compliant_stack(policy):
    assert rule_findings(policy, s.compliant_stack()) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_fires(case):
    findings = rule_findings(case.policy, case.mutate(s.compliant_stack()), case.config)
    assert any(case.fragment in f.message for f in findings), [f.message for f in findings]
    if case.resource:
        assert case.resource in {f.resource.name for f in findings if f.resource is not None}


@pytest.mark.parametrize("case", QUIET, ids=lambda c: c.id)
def test_rule_stays_quiet(case):
    assert rule_findings(case.policy, case.mutate(s.compliant_stack()), case.config) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_evaluate_plan_names_the_policy_and_its_enforcement(case):
    violations = evaluate_plan(case.mutate(s.compliant_stack()), s.PROD, {case.policy: case.config})
    mine = [v for v in violations if v.policy == case.policy]
    assert any(case.fragment in v.message for v in mine)
    assert {v.enforcement for v in mine} == {RULES_BY_NAME[case.policy].enforcement}
    if case.resource:
        assert case.resource in {v.resource for v in mine}


def test_mandatory_violation_decides_the_exit_code():
    broken = s.setting(s.SWITCH_F, ("cidrBlock",), "10.0.32.0/20")(s.compliant_stack())
    assert has_mandatory(evaluate_plan(broken, s.PROD))
    advisory_only = s.setting(s.POLICY_PATCH, ("data",), {"disable_network_policy": "true"})(s.compliant_stack())
    violations = evaluate_plan(advisory_only, s.PROD)
    assert [v.policy for v in violations] == ["network-policy-disabled"]
    assert not has_mandatory(violations)


def test_policy_config_can_change_enforcement_or_disable_a_policy():
    broken = s.setting(s.SWITCH_F, ("cidrBlock",), "10.0.32.0/20")(s.compliant_stack())
    downgraded = evaluate_plan(broken, s.PROD, {"pod-vswitch-cidr": {"enforcementLevel": "advisory"}})
    assert [(v.policy, v.enforcement) for v in downgraded] == [("pod-vswitch-cidr", "advisory")]
    assert evaluate_plan(broken, s.PROD, {"pod-vswitch-cidr": "disabled"}) == []
    upgraded = evaluate_plan(
        s.setting(s.POLICY_PATCH, ("data",), {"disable_network_policy": "true"})(s.compliant_stack()),
        s.PROD, {"network-policy-disabled": "mandatory"},
    )
    assert has_mandatory(upgraded)


def test_violation_serialises_for_the_plan_json():
    violation = Violation("typha-pdb", "mandatory", "msg", None)
    assert violation.to_dict() == {"policy": "typha-pdb", "enforcement": "mandatory", "message": "msg", "resource": None}


def test_unknown_values_skip_only_the_checks_that_need_them():
    stack = s.chain(
        s.setting(s.SWITCH_F, ("cidrBlock",), UNKNOWN),
        s.setting("calico-typha", ("spec", "replicas"), UNKNOWN, "kubernetes:apps/v1:Deployment"),
        s.setting("snat-cn-shanghai-f", ("sourceVswitchId",), UNKNOWN),
        s.setting(s.POLICY_PATCH, ("data", "felix_relay_service"), UNKNOWN),
    )(s.compliant_stack())
    assert evaluate_plan(stack, s.PROD) == []


def test_unknown_context_keeps_cluster_dependent_checks_quiet():
    stack = s.replacing("calico-typha", s.typha_deployment(replicas=3), "kubernetes:apps/v1:Deployment")(
        s.compliant_stack()
    )
    assert evaluate_plan(stack, PolicyContext()) == []


def test_snat_is_required_when_entries_exist_and_config_is_silent():
    stack = s.without("snat-cn-shanghai-g")(s.compliant_stack())
    context = dataclasses.replace(s.PROD, snat_configured=None)
    assert [v.resource for v in evaluate_plan(stack, context)] == [s.SWITCH_G]
    no_snat_at_all = s.without("alicloud:vpc/snatEntry:SnatEntry")(s.compliant_stack())
    assert evaluate_plan(no_snat_at_all, context) == []


def test_retain_on_delete_not_visible_is_not_a_violation_of_the_pure_rule():
    stack = s.replacing(s.ENI_CONF_PATCH, s.eni_config_patch(s.ENI_CONF_PATCH, {"eni_conf": "{}"}, retain=None))(
        s.compliant_stack()
    )
    assert evaluate_plan(stack, s.PROD) == []


def test_a_relay_service_outside_kube_system_does_not_count():
    stack = s.setting("calico-typha", ("metadata", "namespace"), "calico-system", "kubernetes:core/v1:Service")(
        s.compliant_stack()
    )
    assert [v.policy for v in evaluate_plan(stack, s.PROD)] == ["felix-relay-service"]


@pytest.mark.parametrize(
    ("data", "configured", "mode"),
    [
        ({"felix_relay_service": "calico-typha", "disable_network_policy": "false"}, None, "typha"),
        ({"disable_network_policy": "true"}, "typha", "disabled"),
        ({"disable_network_policy": "0"}, None, "direct"),
        ({"eni_conf": "{}"}, "direct", "direct"),
        ({"disable_network_policy": UNKNOWN}, "typha", "typha"),
        ({"felix_relay_service": UNKNOWN, "disable_network_policy": "false"}, "typha", "typha"),
        ({"felix_relay_service": UNKNOWN, "disable_network_policy": "false"}, None, None),
    ],
)
def test_effective_mode_prefers_what_the_patch_writes(data, configured, mode):
    patch = s.eni_config_patch("p", data, retain=True)
    assert effective_mode([patch], PolicyContext(network_policy_mode=configured)) == mode


@pytest.mark.parametrize(
    ("image", "region"),
    [
        ("registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.20.2", "cn-shanghai"),
        ("registry.ap-southeast-1.aliyuncs.com/acs/typha:v3.20.2", "ap-southeast-1"),
        ("prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com/calico/typha:v3.26.1", "cn-hangzhou"),
        ("registry-intl.eu-central-1.aliyuncs.com/acs/typha:v3.20.2", "eu-central-1"),
        ("quay.io/calico/typha:v3.20.2", None),
        ("typha:v3.20.2", None),
    ],
)
def test_registry_region(image, region):
    assert registry_region(image) == region


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.20.2", "v3.20.2"),
        ("localhost:5000/typha:v3.26.1@sha256:abc", "v3.26.1"),
        ("localhost:5000/typha", None),
    ],
)
def test_image_tag(image, tag):
    assert image_tag(image) == tag


@pytest.mark.parametrize(
    ("version", "minor"), [("1.30", 30), ("v1.20.11-aliyun.1", 20), ("1.24.6", 24), ("2.1", None), (None, None)]
)
def test_kubernetes_minor(version, minor):
    assert kubernetes_minor(version) == minor


def test_evaluate_plan_accepts_recorded_resources():
    class Recorded:  # the shape of terway_stack.plan.mocks.RecordedResource
        type = "alicloud:vpc/switch:Switch"
        name = "small"
        inputs = {"cidrBlock": "10.0.0.0/24"}
        options = {"retainOnDelete": False}
        id = "vsw-plan1"

    [violation] = evaluate_plan([Recorded()], PolicyContext())
    assert (violation.policy, violation.resource) == ("pod-vswitch-cidr", "small")
    assert PlanResource.from_recorded(Recorded()).id == "vsw-plan1"
