"""The offline-plan path: programs under the shared mock runtime, their recorded resources, evaluate_plan."""
from __future__ import annotations

from pathlib import Path

import pytest

from terway_stack.declare.config_source import load_settings
from terway_stack.plan.mocks import RecordedResource, evaluate
from terway_stack.plan.stack_files import load_stack_config
from terway_stack.policies import context_from_settings, context_from_stack_config, evaluate_plan, has_mandatory

REPO = Path(__file__).resolve().parents[2]


def plan(stack: str, break_it=None):
    from terway_stack.program import run

    config = load_stack_config(REPO / f"Pulumi.{stack}.yaml", REPO)
    evaluation = evaluate(lambda: run(config, environ={}), config, stack=stack)
    resources = break_it(evaluation.resources) if break_it else evaluation.resources
    return config, evaluate_plan(resources, context_from_settings(load_settings(config)))


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_shipped_stacks_comply(stack):
    assert plan(stack)[1] == []


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_context_is_the_same_from_raw_config_and_validated_settings(stack):
    config = load_stack_config(REPO / f"Pulumi.{stack}.yaml", REPO)
    assert context_from_stack_config(config) == context_from_settings(load_settings(config))


def test_a_vswitch_without_its_snat_entry_fails_the_plan():
    # SNAT entries name their vSwitch by the mock runtime's placeholder id.
    def drop_one_snat_entry(resources):
        entries = [r for r in resources if r.type == "alicloud:vpc/snatEntry:SnatEntry"]
        return [r for r in resources if r is not entries[0]]

    _, violations = plan("prod", drop_one_snat_entry)
    assert [v.policy for v in violations] == ["pod-vswitch-snat"]
    assert has_mandatory(violations)


def test_a_deleting_restart_fails_the_plan():
    def restart_by_deleting(resources):
        for r in resources:
            if r.inputs.get("kind") == "terway-rollout-restart":
                r.inputs["restartMethod"] = "delete-pods"
        return resources

    _, violations = plan("prod", restart_by_deleting)
    assert {v.policy for v in violations} == {"terway-rolling-restart"}


def test_recorded_options_reach_the_retain_rule():
    """RecordedResource.options as mocks.py documents them (engine names)."""
    patch = RecordedResource(
        "kubernetes:core/v1:ConfigMapPatch",
        "eni-config-vswitches",
        {"metadata": {"name": "eni-config", "namespace": "kube-system"}, "data": {"eni_conf": "{}"}},
        options={"retainOnDelete": False},
    )
    [violation] = [v for v in evaluate_plan([patch], context_from_stack_config({})) if v.policy == "eni-conf-retained"]
    assert violation.resource == "eni-config-vswitches"
