"""The Typha objects as plain data: sizing, image, PDB version, metrics, and every field of every object."""
from __future__ import annotations

import pytest

from terway_stack.decide.advisories import DIRECT_MODE_NODE_LIMIT, network_policy_advisories
from terway_stack.decide.sizing import typha_replicas
from terway_stack.decide.typha_manifests import deployment_await_seconds, pdb_api_version, render_typha
from tests.typha_expectations import (
    LABELS,
    expected_crd,
    expected_deployment,
    expected_pdb,
    expected_service,
    prod_settings,
    settings_for,
    small_settings,
)

# nodeCount -> replicas: min(20, max(3, ceil(n / 200))), lowered below n so one node stays free.
SIZING_TABLE = [
    (1, 1),
    (2, 1),
    (3, 2),
    (4, 3),
    (100, 3),
    (600, 3),
    (601, 4),
    (1000, 5),
    (1200, 6),
    (4000, 20),
    (5000, 20),
]


# --- sizing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("node_count,replicas", SIZING_TABLE)
def test_sizing_table(node_count, replicas):
    assert typha_replicas(node_count) == replicas
    assert render_typha(settings_for(node_count=node_count)).deployment["spec"]["replicas"] == replicas


@pytest.mark.parametrize("node_count,replicas", SIZING_TABLE)
def test_replicas_leave_a_node_free_for_the_host_port(node_count, replicas):
    assert replicas < node_count or node_count == 1


def test_replica_override_within_range_is_rendered():
    settings = settings_for(node_count=1200, replicas=9)
    assert render_typha(settings).deployment["spec"]["replicas"] == 9


def test_await_budget_grows_with_replicas_but_never_below_the_provider_default():
    # v3.24.5 exits at once on SIGTERM: Kubernetes' 30 s grace + 60 s per replaced pod.
    assert deployment_await_seconds(1, 30) == 600
    assert deployment_await_seconds(20, 30) == 1800
    # v3.25+ sheds connections for 300 s, and each step may wait that long.
    assert deployment_await_seconds(3, 300) == 1080
    assert deployment_await_seconds(20, 300) == 7200


# --- image ---------------------------------------------------------------------------------------------


def _image(settings):
    return render_typha(settings).deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_default_image_is_the_regions_vpc_registry_at_the_default_version():
    assert _image(settings_for(region="cn-beijing")) == "registry-vpc.cn-beijing.aliyuncs.com/acs/typha:v3.24.5"


def test_version_override_changes_only_the_tag():
    assert _image(settings_for(version="v3.26.1")) == "registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.26.1"


def test_full_image_override_wins_over_region_and_version():
    settings = settings_for(version="v3.26.1", image="registry.example.com/calico/typha@sha256:abc123")
    assert _image(settings) == "registry.example.com/calico/typha@sha256:abc123"


# --- PodDisruptionBudget version -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "minor,api_version",
    [((1, 19), "policy/v1beta1"), ((1, 20), "policy/v1beta1"), ((1, 21), "policy/v1"), ((1, 30), "policy/v1")],
)
def test_pdb_api_version(minor, api_version):
    assert pdb_api_version(minor) == api_version


@pytest.mark.parametrize(
    "kubernetes_version,api_version",
    [("1.20", "policy/v1beta1"), ("v1.20.11-aliyun.1", "policy/v1beta1"), ("1.21", "policy/v1"), ("1.30", "policy/v1")],
)
def test_rendered_pdb_follows_the_cluster_version(kubernetes_version, api_version):
    assert render_typha(settings_for(kubernetes=kubernetes_version)).pdb == expected_pdb(api_version)


# --- metrics -------------------------------------------------------------------------------------------


def _container(settings):
    return render_typha(settings).deployment["spec"]["template"]["spec"]["containers"][0]


def test_metrics_off_by_default_leaves_no_metrics_port_or_env():
    container = _container(settings_for())
    assert [p["containerPort"] for p in container["ports"]] == [5473]
    assert not [e for e in container["env"] if "PROMETHEUS" in e["name"]]


def test_metrics_on_adds_env_port_and_scrape_annotations():
    settings = settings_for(metrics=True)
    container = _container(settings)
    assert {"name": "TYPHA_PROMETHEUSMETRICSENABLED", "value": "true"} in container["env"]
    assert {"name": "TYPHA_PROMETHEUSMETRICSPORT", "value": "9093"} in container["env"]
    assert {"name": "metrics", "containerPort": 9093, "hostPort": 9093, "protocol": "TCP"} in container["ports"]
    pod_annotations = render_typha(settings).deployment["spec"]["template"]["metadata"]["annotations"]
    assert pod_annotations["prometheus.io/port"] == "9093"


# --- every field of every object ------------------------------------------------------------------------


def test_prod_size_objects_field_by_field():
    manifests = render_typha(prod_settings())
    assert manifests.service == expected_service()
    assert manifests.deployment == expected_deployment(
        replicas=6, image="registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.24.5", await_seconds=600, metrics=False
    )
    assert manifests.pdb == expected_pdb("policy/v1")
    assert manifests.crd == expected_crd()


def test_small_objects_field_by_field():
    manifests = render_typha(small_settings())
    assert manifests.service == expected_service()
    assert manifests.deployment == expected_deployment(
        replicas=3, image="registry-vpc.cn-hangzhou.aliyuncs.com/acs/typha:v3.26.1", await_seconds=1080, metrics=True,
        graceful=True,
    )
    assert manifests.pdb == expected_pdb("policy/v1beta1")
    assert manifests.crd == expected_crd()


def test_objects_are_listed_in_declaration_order():
    manifests = render_typha(prod_settings())
    assert [o["kind"] for o in manifests.objects()] == [
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "CustomResourceDefinition",
    ]


def test_await_is_never_skipped():
    # The eni-config writers wait on this Deployment being ready; skipAwait would break that ordering.
    for manifest in render_typha(prod_settings()).objects():
        assert "pulumi.com/skipAwait" not in manifest["metadata"]["annotations"]


def test_rendering_returns_fresh_objects():
    first, second = render_typha(prod_settings()), render_typha(prod_settings())
    first.deployment["spec"]["selector"]["matchLabels"]["k8s-app"] = "changed"
    assert second.deployment["spec"]["selector"]["matchLabels"] == LABELS
    assert first.service["spec"]["selector"] == LABELS


# --- advisories ------------------------------------------------------------------------------------------


def test_direct_mode_limit_is_the_runbooks_100_nodes():
    assert DIRECT_MODE_NODE_LIMIT == 100


@pytest.mark.parametrize("node_count", [1, 10, 99])
def test_typha_below_100_nodes_works_but_is_not_needed(node_count):
    (advisory,) = network_policy_advisories(settings_for(node_count=node_count, mode="typha"))
    assert f"typha on {node_count} nodes" in advisory
    assert "works but is not needed" in advisory


@pytest.mark.parametrize("node_count", [100, 101, 1200])
def test_typha_from_100_nodes_is_silent(node_count):
    assert network_policy_advisories(settings_for(node_count=node_count, mode="typha")) == []


@pytest.mark.parametrize("node_count", [101, 1200])
def test_direct_above_100_nodes_warns_of_api_server_load(node_count):
    (advisory,) = network_policy_advisories(settings_for(node_count=node_count, mode="direct"))
    assert f"direct on {node_count} nodes" in advisory
    assert "overloads" in advisory and "API server" in advisory


@pytest.mark.parametrize("node_count", [1, 100])
def test_direct_up_to_100_nodes_is_silent(node_count):
    assert network_policy_advisories(settings_for(node_count=node_count, mode="direct")) == []


@pytest.mark.parametrize("node_count", [3, 1200])
def test_disabled_always_warns_that_policies_stop_being_enforced(node_count):
    (advisory,) = network_policy_advisories(settings_for(node_count=node_count, mode="disabled"))
    assert "NetworkPolicies will stop being enforced" in advisory


# --- where and how Typha runs (issue 10 §4) -------------------------------------------------------------


def _pod_spec(settings=None):
    return render_typha(settings or prod_settings()).deployment["spec"]["template"]["spec"]


def test_typha_keeps_off_virtual_kubelet_nodes_as_terways_daemonset_does():
    # Terway's chart: nodeAffinity required, `type NotIn [virtual-kubelet]`. Typha tolerates every taint,
    # so only this term keeps it off ECI nodes.
    required = _pod_spec()["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    [term] = required["nodeSelectorTerms"]
    assert {"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]} in term["matchExpressions"]
    assert _pod_spec()["tolerations"] == [{"operator": "Exists"}]  # the runbook's: why the affinity is needed


def test_typha_keeps_its_zone_spreading_next_to_the_node_affinity():
    assert set(_pod_spec(small_settings())["affinity"]) == {"nodeAffinity", "podAntiAffinity"}


def test_typha_runs_as_calicos_manifest_does_non_root_no_escalation_runtime_default_seccomp():
    spec = _pod_spec()
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["securityContext"]["fsGroup"] == 65534
    [container] = spec["containers"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == 999 and context["runAsUser"] != 0
    assert context["allowPrivilegeEscalation"] is False
    assert "privileged" not in context and context["capabilities"] == {"drop": ["ALL"]}
    # No port below 1024 that would need NET_BIND_SERVICE once every capability is dropped.
    assert all(port["containerPort"] >= 1024 for port in container["ports"])


def test_graceful_shutdown_settings_only_for_releases_that_have_them():
    """v3.24.5 (measured) exits at once on SIGTERM and logs TYPHA_SHUTDOWNTIMEOUTSECS as unknown; v3.25+ sheds."""
    old = render_typha(settings_for(version="v3.24.5")).deployment["spec"]["template"]["spec"]
    assert old["terminationGracePeriodSeconds"] == 30
    assert "TYPHA_SHUTDOWNTIMEOUTSECS" not in [e["name"] for e in old["containers"][0]["env"]]
    new = render_typha(settings_for(version="v3.26.4")).deployment["spec"]["template"]["spec"]
    assert new["terminationGracePeriodSeconds"] == 300
    assert {"name": "TYPHA_SHUTDOWNTIMEOUTSECS", "value": "300"} in new["containers"][0]["env"]
