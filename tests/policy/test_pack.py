"""The CrossGuard pack, fed ResourceValidationArgs / StackValidationArgs shaped like the engine's."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import pulumi_policy
import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from terway_stack.policies import RULES, UNKNOWN, PolicyContext
from terway_stack.policies.pack import RETAIN_NOT_VISIBLE, build_policies, engine_context, from_stack_args, to_plain

from . import stacks as s
from .cases import CASES, QUIET

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def policies():
    return {p.name: p for p in build_policies(lambda: s.PROD)}


def messages(violations):
    return [m for m, _ in violations]


def test_one_policy_per_rule_with_its_kind_and_enforcement(policies):
    assert list(policies) == [r.name for r in RULES]
    for rule in RULES:
        policy = policies[rule.name]
        assert isinstance(policy, StackValidationPolicy if rule.is_stack_rule else ResourceValidationPolicy)
        expected = EnforcementLevel.ADVISORY if rule.enforcement == "advisory" else EnforcementLevel.MANDATORY
        assert policy.enforcement_level == expected
        assert policy.description == rule.description


def test_tunable_threshold_is_in_the_config_schema(policies):
    schema = policies["network-policy-direct-at-scale"].config_schema.properties
    assert schema["directModeNodeLimit"]["type"] == "integer"
    assert schema["directModeNodeLimit"]["default"] == 100
    assert set(schema) == {"nodeCount", "networkPolicyMode", "directModeNodeLimit"}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_compliant_stack_passes(policies, rule):
    violations, not_applicable = run(policies, rule.name, s.compliant_stack())
    assert violations == []
    # The engine never sends retainOnDelete, so that one policy says so instead of guessing.
    assert not_applicable == ([RETAIN_NOT_VISIBLE] if rule.name == "eni-conf-retained" else [])


def run(policies, name, stack, config=None):
    return s.run_pack_policy(policies[name], stack, config)


@pytest.mark.parametrize("case", [c for c in CASES if c.engine_visible], ids=lambda c: c.id)
def test_policy_fires(policies, case):
    violations, _ = run(policies, case.policy, case.mutate(s.compliant_stack()), case.config)
    assert any(case.fragment in m for m in messages(violations)), violations
    if case.resource:
        urns = {u for _, u in violations}
        assert any(u and u.endswith("::" + case.resource) for u in urns), urns


@pytest.mark.parametrize("case", QUIET, ids=lambda c: c.id)
def test_policy_stays_quiet(policies, case):
    assert run(policies, case.policy, case.mutate(s.compliant_stack()), case.config)[0] == []


def test_eni_conf_retained_fires_once_the_options_carry_it(policies):
    """Future-proofing: if pulumi_policy adds retain_on_delete to PolicyResourceOptions, the rule applies."""
    patch = s.eni_config_patch(s.ENI_CONF_PATCH, {"eni_conf": s.ENI_CONF}, retain=None)
    violations = []
    for retain in (False, True):
        args = s.resource_args(patch)
        args.opts.retain_on_delete = retain
        policies["eni-conf-retained"].validate(args, lambda m, u=None: violations.append((retain, m)))
    assert [retain for retain, _ in violations] == [False]
    assert "not retainOnDelete" in violations[0][1]


def test_preview_unknowns_do_not_abort_or_fire(policies):
    stack = s.chain(
        s.setting(s.SWITCH_F, ("cidrBlock",), UNKNOWN),
        s.setting("snat-cn-shanghai-f", ("sourceVswitchId",), UNKNOWN),
        s.setting("snat-cn-shanghai-g", ("sourceVswitchId",), UNKNOWN),
        s.setting("calico-typha", ("spec", "replicas"), UNKNOWN, "kubernetes:apps/v1:Deployment"),
        s.setting(s.ENI_CONF_PATCH, ("data", "eni_conf"), UNKNOWN),
    )(s.compliant_stack())
    for rule in RULES:
        assert run(policies, rule.name, stack)[0] == [], rule.name


def test_snat_entry_is_tied_to_its_vswitch_by_property_dependencies_in_preview(policies):
    # In preview the vSwitch has no id yet; only the dependency says which vSwitch an entry serves.
    stack = s.chain(
        s.setting("snat-cn-shanghai-f", ("sourceVswitchId",), UNKNOWN),
        s.setting("snat-cn-shanghai-g", ("sourceVswitchId",), UNKNOWN),
        s.adding(s.snat_entry("snat-cn-shanghai-g-again", s.SWITCH_G, UNKNOWN)),
    )(s.compliant_stack())
    [(message, urn)] = run(policies, "pod-vswitch-snat", stack)[0]
    assert "vSwitch pod-vsw-cn-shanghai-g is the source of 2 SNAT entries" in message
    assert urn.endswith("::snat-cn-shanghai-g-again")


def test_numbers_arrive_as_floats_and_read_as_whole_numbers(policies):
    args = s.resource_args(s.typha_deployment(replicas=3))
    assert isinstance(args.props["spec"]["replicas"], float)
    violations = []
    policies["typha-replicas"].validate(args, lambda m, u=None: violations.append(m))
    assert violations == ["3 Typha replicas is below the minimum 6 for 1200 nodes (one per 200 nodes, at least 3, fewer than nodes)"]


def test_to_plain_marks_unknowns():
    props = s.engine_props({"a": UNKNOWN, "b": [1, UNKNOWN], "c": {"d": "x"}})
    assert to_plain(props) == {"a": UNKNOWN, "b": [1.0, UNKNOWN], "c": {"d": "x"}}


def test_stack_args_keep_dependencies():
    resources = from_stack_args(s.stack_args(s.compliant_stack()))
    snat = next(r for r in resources if r.name == "snat-cn-shanghai-f")
    assert snat.property_dependencies == {"sourceVswitchId": [s.SWITCH_F]}
    assert snat.urn == "urn:pulumi:prod::terway::alicloud:vpc/snatEntry:SnatEntry::snat-cn-shanghai-f"


def test_engine_context_reads_the_stack_config_the_engine_passes(monkeypatch):
    config = {
        "terway:cluster": json.dumps({"name": "prod", "kubernetesVersion": "1.30", "nodeCount": 1200}),
        "terway:networkPolicy": "direct",
        "terway:podVSwitches": json.dumps({"vpcId": "vpc-a", "zones": {}, "snat": {"snatTableId": "stb-a", "snatIps": ["1.2.3.4"]}}),
        "terway:terway": json.dumps({"daemonSets": ["terway-eniip", "terway-eniip-ds2"]}),
        "alicloud:region": "cn-shanghai",
    }
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    assert engine_context() == PolicyContext(
        node_count=1200, kubernetes_version="1.30", region="cn-shanghai", typha_version="v3.24.5",
        network_policy_mode="direct", snat_configured=True, terway_daemon_sets=("terway-eniip", "terway-eniip-ds2"),
    )


def test_policy_config_overrides_the_stack_config(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"terway:cluster": json.dumps({"nodeCount": 50})}))
    [policy] = [p for p in build_policies() if p.name == "network-policy-direct-at-scale"]
    stack = s.setting(s.POLICY_PATCH, ("data",), {"disable_network_policy": "false"})(s.compliant_stack())
    assert s.run_pack_policy(policy, stack)[0] == []  # 50 nodes from the stack config
    violations, _ = s.run_pack_policy(policy, stack, {"nodeCount": 500, "directModeNodeLimit": 300})
    assert "mode direct with 500 nodes (above 300)" in violations[0][0]


def test_policy_main_only_builds_the_pack(monkeypatch):
    built = {}

    def fake_pack(**kwargs):  # the real PolicyPack serves gRPC forever
        built.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", fake_pack)
    runpy.run_path(str(REPO / "policy"), run_name="__main__")
    assert built["name"] == "terway-stack"
    assert [p.name for p in built["policies"]] == [r.name for r in RULES]
    assert built["enforcement_level"] == EnforcementLevel.MANDATORY


def test_policy_pack_project_file():
    text = (REPO / "policy" / "PulumiPolicy.yaml").read_text()
    assert "name: python" in text and "virtualenv: ../venv" in text
    assert "-r ../requirements.txt" in (REPO / "policy" / "requirements.txt").read_text()
