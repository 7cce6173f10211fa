"""TyphaRelay under Pulumi's mock runtime: every input and option of every Typha resource, as the engine sees them."""
from __future__ import annotations

import re

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from terway_stack.decide.settings import parse_settings
from terway_stack.decide.typha_live import TyphaLive
from terway_stack.declare.typha import TyphaRelay
from terway_stack.plan.mocks import evaluate
from tests.typha_expectations import (
    expected_crd,
    expected_deployment,
    expected_pdb,
    expected_service,
    prod_settings,
    settings_for,
    small_settings,
)

# URN tails: the stack and project part depends on which test set up the mock runtime first.
STACK_URN_TAIL = "::pulumi:pulumi:Stack::"
RELAY_URN_TAIL = "::pulumi:pulumi:Stack$terway:index:TyphaRelay::typha"
PROVIDER_URN_TAIL = "::pulumi:pulumi:Stack$pulumi:providers:kubernetes::k8s::"
GATE_URN_TAIL = "::pulumi:pulumi:Stack$kubernetes:core/v1:ConfigMap::gate"

CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
SERVICE = "kubernetes:core/v1:Service"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
PDB_V1 = "kubernetes:policy/v1:PodDisruptionBudget"
PDB_V1BETA1 = "kubernetes:policy/v1beta1:PodDisruptionBudget"
TYPHA_TYPES = {"terway:index:TyphaRelay", CRD, SERVICE, DEPLOYMENT, PDB_V1, PDB_V1BETA1}


@pytest.fixture
def registrations(monkeypatch):
    """(type, name) -> the RegisterResource request: the options (parent, provider, retainOnDelete,
    dependencies) the engine receives, which Mocks.new_resource is not shown."""
    seen = {}
    register = pulumi_mocks.MockMonitor.RegisterResource

    def spy(self, request):
        seen[(request.type, request.name)] = request
        return register(self, request)

    monkeypatch.setattr(pulumi_mocks.MockMonitor, "RegisterResource", spy)
    return seen


def relay_program(settings, provider_option="providers", with_gate=False, live=None):
    def program():
        provider = k8s.Provider("k8s", kubeconfig="fake")
        opts = {"providers": [provider]} if provider_option == "providers" else {"provider": provider}
        if with_gate:
            gate_opts = pulumi.ResourceOptions(provider=provider)
            gate = k8s.core.v1.ConfigMap("gate", metadata={"name": "gate"}, opts=gate_opts)
            opts["depends_on"] = [gate]
        extra = {"live": live} if live is not None else {}
        relay = TyphaRelay("typha", settings, opts=pulumi.ResourceOptions(**opts), **extra)
        return {"typhaReplicas": relay.replicas, "typhaServiceName": relay.service_name}

    return program


def stack_like_program(settings):
    """The relay exists only in mode typha, as the stack builds it."""

    def program():
        provider = k8s.Provider("k8s", kubeconfig="fake")
        relay = (
            TyphaRelay("typha", settings, opts=pulumi.ResourceOptions(providers=[provider]))
            if settings.network_policy == "typha"
            else None
        )
        return {
            "typhaReplicas": relay.replicas if relay else 0,
            "typhaServiceName": relay.service_name if relay else None,
        }

    return program


def by_type(evaluation):
    return {r.type: r for r in evaluation.resources}


# --- inputs ------------------------------------------------------------------------------------------


def test_prod_size_inputs_of_every_typha_resource():
    evaluation = evaluate(relay_program(prod_settings()), config={})
    resources = by_type(evaluation)
    assert resources[SERVICE].inputs == expected_service()
    assert resources[DEPLOYMENT].inputs == expected_deployment(
        replicas=6, image="registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.24.5", await_seconds=600, metrics=False
    )
    assert resources[PDB_V1].inputs == expected_pdb("policy/v1")
    assert resources[CRD].inputs == expected_crd()
    assert PDB_V1BETA1 not in resources
    assert evaluation.outputs == {"typhaReplicas": 6, "typhaServiceName": "calico-typha"}


def test_small_inputs_of_every_typha_resource():
    evaluation = evaluate(relay_program(small_settings()), config={})
    resources = by_type(evaluation)
    assert resources[SERVICE].inputs == expected_service()
    assert resources[DEPLOYMENT].inputs == expected_deployment(
        replicas=3, image="registry-vpc.cn-hangzhou.aliyuncs.com/acs/typha:v3.26.1", await_seconds=1080, metrics=True,
        graceful=True,
    )
    assert resources[PDB_V1BETA1].inputs == expected_pdb("policy/v1beta1")
    assert resources[CRD].inputs == expected_crd()
    assert PDB_V1 not in resources
    assert evaluation.outputs == {"typhaReplicas": 3, "typhaServiceName": "calico-typha"}


@pytest.mark.parametrize("kubernetes,pdb_type", [("1.20", PDB_V1BETA1), ("1.21", PDB_V1), ("1.30", PDB_V1)])
def test_pdb_resource_type_follows_the_cluster_version(kubernetes, pdb_type):
    evaluation = evaluate(relay_program(settings_for(kubernetes=kubernetes)), config={})
    pdbs = [r for r in evaluation.resources if r.type in (PDB_V1, PDB_V1BETA1)]
    assert [(r.type, r.name) for r in pdbs] == [(pdb_type, "calico-typha-pdb")]


@pytest.mark.parametrize("node_count,replicas", [(2, 1), (4, 3), (601, 4), (5000, 20)])
def test_exported_replicas_match_the_deployment(node_count, replicas):
    evaluation = evaluate(relay_program(settings_for(node_count=node_count)), config={})
    assert by_type(evaluation)[DEPLOYMENT].inputs["spec"]["replicas"] == replicas
    assert evaluation.outputs["typhaReplicas"] == replicas


def test_resource_set_and_logical_names_are_fixed():
    evaluation = evaluate(relay_program(prod_settings()), config={})
    assert sorted((r.type, r.name) for r in evaluation.resources) == sorted(
        [
            ("pulumi:providers:kubernetes", "k8s"),
            ("terway:index:TyphaRelay", "typha"),
            (CRD, "calico-bgppeers-crd"),
            (SERVICE, "calico-typha-service"),
            (DEPLOYMENT, "calico-typha-deployment"),
            (PDB_V1, "calico-typha-pdb"),
        ]
    )


# --- options -----------------------------------------------------------------------------------------


CHILDREN = [
    (CRD, "calico-bgppeers-crd"),
    (SERVICE, "calico-typha-service"),
    (DEPLOYMENT, "calico-typha-deployment"),
    (PDB_V1, "calico-typha-pdb"),
]


@pytest.mark.parametrize("provider_option", ["providers", "provider"])
def test_children_are_parented_to_the_relay_and_use_its_provider(registrations, provider_option):
    evaluate(relay_program(prod_settings(), provider_option=provider_option), config={})
    assert STACK_URN_TAIL in registrations[("terway:index:TyphaRelay", "typha")].parent
    for key in CHILDREN:
        request = registrations[key]
        assert request.parent.endswith(RELAY_URN_TAIL), key
        assert PROVIDER_URN_TAIL in request.provider, key


def test_only_the_crd_is_retained_on_delete(registrations):
    evaluate(relay_program(prod_settings()), config={})
    retained = {key for key in CHILDREN if registrations[key].retainOnDelete}
    assert retained == {(CRD, "calico-bgppeers-crd")}
    for key in CHILDREN:
        assert not registrations[key].protect, key
        assert not registrations[key].deleteBeforeReplace, key


def test_a_typha_object_missing_live_is_replaced_delete_before_replace_and_only_that_one(registrations):
    # The Deployment was deleted by hand; the Service and PDB are there, the Service recreated earlier.
    live = TyphaLive(missing=("Deployment",), relay="calico-typha", recreated_at={"Service": "2026-01-02T03:04:05Z"})
    evaluation = evaluate(relay_program(prod_settings(), live=live), config={})
    request = registrations[(DEPLOYMENT, "calico-typha-deployment")]
    assert request.deleteBeforeReplace
    assert list(request.replaceOnChanges) == ['metadata.annotations["terway-stack/recreated-at"]']
    resources = by_type(evaluation)
    stamp = resources[DEPLOYMENT].inputs["metadata"]["annotations"]["terway-stack/recreated-at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
    # A present object keeps the value it holds (no change next run) and is never replaced by this.
    service = resources[SERVICE].inputs["metadata"]["annotations"]
    assert service["terway-stack/recreated-at"] == "2026-01-02T03:04:05Z"
    assert "terway-stack/recreated-at" not in resources[PDB_V1].inputs["metadata"]["annotations"]
    for key in [(SERVICE, "calico-typha-service"), (PDB_V1, "calico-typha-pdb"), (CRD, "calico-bgppeers-crd")]:
        assert not registrations[key].deleteBeforeReplace and not list(registrations[key].replaceOnChanges), key


def test_children_wait_for_what_the_relay_depends_on(registrations):
    evaluate(relay_program(prod_settings(), with_gate=True), config={})
    for key in [("terway:index:TyphaRelay", "typha"), *CHILDREN]:
        (dependency,) = registrations[key].dependencies
        assert dependency.endswith(GATE_URN_TAIL), key


def test_without_dependencies_children_depend_on_nothing(registrations):
    evaluate(relay_program(prod_settings()), config={})
    for key in CHILDREN:
        assert list(registrations[key].dependencies) == [], key


def test_deployment_keeps_the_ready_await_and_typha_objects_force_adoption_but_the_crd_does_not():
    evaluation = evaluate(relay_program(prod_settings()), config={})
    for resource in evaluation.resources:
        if resource.type in TYPHA_TYPES - {"terway:index:TyphaRelay"}:
            annotations = resource.inputs["metadata"]["annotations"]
            # ACK lists *.crd.projectcalico.org as system resources: never taken over by force.
            crd = resource.type == "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
            assert annotations.get("pulumi.com/patchForce") == (None if crd else "true"), resource.type
            assert "pulumi.com/skipAwait" not in annotations, resource.type


# --- modes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["disabled", "direct"])
def test_no_typha_object_without_the_relay(mode):
    evaluation = evaluate(stack_like_program(settings_for(node_count=1200, mode=mode)), config={})
    assert [r.type for r in evaluation.resources] == ["pulumi:providers:kubernetes"]
    assert not TYPHA_TYPES & {r.type for r in evaluation.resources}
    assert evaluation.outputs == {"typhaReplicas": 0, "typhaServiceName": None}


def test_typha_mode_declares_all_four_objects():
    evaluation = evaluate(stack_like_program(settings_for(node_count=1200, mode="typha")), config={})
    assert {r.type for r in evaluation.resources} >= {CRD, SERVICE, DEPLOYMENT, PDB_V1}


def test_relay_attributes_are_plain_values_for_other_components():
    captured = {}

    def program():
        provider = k8s.Provider("k8s", kubeconfig="fake")
        settings = parse_settings(
            {"cluster": {"name": "c", "kubernetesVersion": "1.30", "nodeCount": 1000}, "alicloud:region": "cn-shanghai"}
        )
        relay = TyphaRelay("typha", settings, opts=pulumi.ResourceOptions(providers=[provider]))
        captured.update(
            replicas=relay.replicas,
            service_name=relay.service_name,
            deployment=relay.deployment,
            pdb=relay.pdb,
        )
        return {}

    evaluate(program, config={})
    assert captured["replicas"] == 5 and isinstance(captured["replicas"], int)
    assert captured["service_name"] == "calico-typha"
    assert isinstance(captured["deployment"], k8s.apps.v1.Deployment)
    assert isinstance(captured["pdb"], k8s.policy.v1.PodDisruptionBudget)


def test_recorded_options_show_the_crd_retained_and_the_gate_dependency():
    # The same option record the offline plan and the policy pack read.
    evaluation = evaluate(relay_program(small_settings(), with_gate=True), config={})
    options = {(r.type, r.name): r.options for r in evaluation.resources}
    assert options[(CRD, "calico-bgppeers-crd")]["retainOnDelete"] is True
    deleted_on_destroy = [
        (SERVICE, "calico-typha-service"),
        (DEPLOYMENT, "calico-typha-deployment"),
        (PDB_V1BETA1, "calico-typha-pdb"),
    ]
    for key in deleted_on_destroy:
        assert options[key]["retainOnDelete"] is False, key
    for key in [(CRD, "calico-bgppeers-crd"), *deleted_on_destroy]:
        assert options[key]["dependsOn"] == ["gate"], key
