"""The preflight decisions as plain data: what blocks a run before any write, what only warns."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terway_stack.decide import policy_keys as pk
from terway_stack.decide import preflight as pf
from terway_stack.decide.typha_compat import TERWAY_CALICO_CRDS, typha_access_checks

NS = "kube-system"
TERWAY_IMAGE = "registry-vpc.cn-shanghai.aliyuncs.com/acs/terway:v1.16.0"
RELAY_ENV = {
    "name": "FELIX_TYPHAK8SSERVICENAME",
    "valueFrom": {"configMapKeyRef": {"name": "eni-config", "key": "felix_relay_service", "optional": True}},
}


def daemon_set(env=(RELAY_ENV,), strategy="RollingUpdate", max_unavailable="10%", policy_image=TERWAY_IMAGE, policy=True):
    containers = [{"name": "terway", "image": TERWAY_IMAGE}]
    if policy:
        containers.append({"name": "policy", "image": policy_image, "env": list(env)})
    update = {"type": strategy}
    if strategy == "RollingUpdate":
        update["rollingUpdate"] = {"maxUnavailable": max_unavailable}
    return {"spec": {"updateStrategy": update, "template": {"spec": {"containers": containers}}}}


def configmap(data=None, managed_fields=None):
    metadata = {"name": "eni-config", "namespace": NS}
    if managed_fields is not None:
        metadata["managedFields"] = managed_fields
    base = {"eni_conf": json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-old"]}}), "disable_network_policy": "false"}
    return {"metadata": metadata, "data": {**base, **(data or {})}}


def settings(mode="typha", **extra):
    return pf.PreflightSettings(mode=mode, daemon_sets=extra.pop("daemon_sets", ("terway-eniip",)), **extra)


ALL_ALLOWED = {check: True for check in typha_access_checks()}


def facts(cm=None, daemon_sets=None, count=0, node_configs=None, version="v1.34.4", crds=TERWAY_CALICO_CRDS, access=None):
    """An ACK cluster as the e2e seed makes it: Terway's chart RBAC and Calico CRDs on Kubernetes 1.34."""
    return pf.LiveFacts(
        eni_config=cm if cm is not None else configmap(),
        daemon_sets={"terway-eniip": daemon_set()} if daemon_sets is None else daemon_sets,
        network_policy_count=count,
        node_configs=node_configs if node_configs is not None else {},
        kubernetes_version=version,
        calico_crds=frozenset(crds),
        typha_access=ALL_ALLOWED if access is None else access,
    )


def lines(result):
    return [str(p) for p in result.problems]


def test_the_seeded_ack_cluster_passes_in_every_mode():
    for mode in ("typha", "direct", "disabled"):
        result = pf.preflight(settings(mode), facts())
        assert result.problems == [] and result.not_run == []


# --------------------------------------------------------------------------- issue 11 §2: DaemonSets


def test_a_missing_daemonset_blocks_naming_the_key_and_the_daemonset():
    result = pf.preflight(
        settings(daemon_sets=("terway-eniip", "terway-missing")),
        facts(daemon_sets={"terway-eniip": daemon_set(), "terway-missing": None}),
    )
    assert lines(result) == [
        "terway:terway.daemonSets: DaemonSet kube-system/terway-missing not found (kubectl -n kube-system get daemonsets)"
    ]


def test_an_on_delete_daemonset_blocks_and_a_rolling_one_reports_its_max_unavailable():
    result = pf.preflight(settings("direct"), facts(daemon_sets={"terway-eniip": daemon_set(strategy="OnDelete")}))
    assert lines(result) == [
        "terway:terway.daemonSets: DaemonSet kube-system/terway-eniip uses updateStrategy OnDelete: a rolling restart "
        "would not replace its pods; switch it to RollingUpdate"
    ]
    ok = pf.preflight(settings("direct"), facts(daemon_sets={"terway-eniip": daemon_set(max_unavailable=2)}))
    assert ok.notes == [
        "DaemonSet kube-system/terway-eniip: RollingUpdate, maxUnavailable 2: a restart replaces at most that many "
        "Terway pods at a time"
    ]


# --------------------------------------------------------------------------- issue 10 §3: Terway can use the relay


def test_typha_needs_the_policy_container_to_read_the_relay_key():
    old = daemon_set(env=[{"name": "DISABLE_POLICY", "value": "false"}])
    result = pf.preflight(settings(), facts(daemon_sets={"terway-eniip": old}))
    [line] = lines(result)
    assert line.startswith("DaemonSet kube-system/terway-eniip: its policy container does not take env FELIX_TYPHAK8SSERVICENAME")
    assert "upgrade Terway" in line
    # The same DaemonSet is fine when the stack does not use the relay.
    assert pf.preflight(settings("direct"), facts(daemon_sets={"terway-eniip": old})).problems == []


@pytest.mark.parametrize(
    "env",
    [
        {"name": "FELIX_TYPHAK8SSERVICENAME", "value": "calico-typha"},  # a literal ignores eni-config
        {"name": "FELIX_TYPHAK8SSERVICENAME", "valueFrom": {"configMapKeyRef": {"name": "other", "key": "felix_relay_service"}}},
        {"name": "FELIX_TYPHAK8SSERVICENAME", "valueFrom": {"configMapKeyRef": {"name": "eni-config", "key": "relay"}}},
    ],
)
def test_only_the_charts_configmapkeyref_counts_as_reading_the_relay(env):
    result = pf.preflight(settings(), facts(daemon_sets={"terway-eniip": daemon_set(env=[env])}))
    assert len(result.problems) == 1 and "upgrade Terway" in str(result.problems[0])


@pytest.mark.parametrize(
    "image, felix",
    [
        ("registry-vpc.cn-shanghai.aliyuncs.com/acs/terway:v1.16.0", "v3.24.5"),
        ("registry.aliyuncs.com/acs/terway:v1.0.10.333-gfd2b7b8-aliyun", "v3.5.2"),
        ("registry.aliyuncs.com/acs/terway:v1.2.0", "v3.20.2"),
        ("registry.aliyuncs.com/acs/terway:v1.4.4", "v3.20.2"),
        ("registry.aliyuncs.com/acs/terway:v1.5.1", "v3.24.5"),
        ("docker.io/calico/node:v3.26.1", "v3.26.1"),
        ("registry:5000/acs/calico-felix:v3.25.0-aliyun.2", "v3.25.0"),
        ("registry.aliyuncs.com/acs/terway:v1.99.0", None),  # newer than what this table knows
        ("registry.aliyuncs.com/acs/terway@sha256:" + "0" * 64, None),
        ("registry:5000/acs/terway", None),
        ("registry.aliyuncs.com/acs/other:v3.20.2", None),
    ],
)
def test_felix_version_from_the_policy_image(image, felix):
    assert pf.felix_version(image) == felix


def test_typha_and_felix_more_than_one_minor_apart_warn():
    result = pf.preflight(settings(typha_version="v3.26.4"), facts())
    assert result.problems == []
    assert result.warnings == [
        f"DaemonSet kube-system/terway-eniip: Felix is Calico v3.24.5 (image {TERWAY_IMAGE}) but Typha is v3.26.4: more "
        "than one minor version apart; set terway:typha.version to a v3.24.x release"
    ]
    assert pf.preflight(settings(typha_version="v3.24.1"), facts()).warnings == []
    assert pf.preflight(settings(typha_version="v3.25.2"), facts()).warnings == []  # one minor: an upgrade's skew
    assert pf.preflight(settings("direct", typha_version="v3.26.4"), facts()).warnings == []


def test_a_typha_that_cannot_sync_on_the_live_kubernetes_is_refused_naming_both():
    result = pf.preflight(settings(typha_version="v3.20.2"), facts(version="v1.34.4"))
    assert lines(result)[0].startswith(
        "terway:typha.version: Typha v3.20.2 cannot sync on Kubernetes v1.34.4 (the live API server): it lists "
        "EndpointSlices through discovery.k8s.io/v1beta1, which Kubernetes stopped serving in 1.25"
    )
    image = settings(typha_version="v3.22.0", typha_version_key="terway:typha.image")
    assert lines(pf.preflight(image, facts(version="v1.25.0")))[0].startswith("terway:typha.image: Typha v3.22.0 cannot sync")
    assert pf.preflight(settings(typha_version="v3.20.2"), facts(version="v1.24.6-aliyun.1")).problems == []
    assert pf.preflight(settings(typha_version="v3.23.0"), facts(version="v1.34.4")).problems == []
    assert pf.preflight(settings("direct", typha_version="v3.20.2"), facts(version="v1.34.4")).problems == []


def test_missing_calico_crds_are_refused_one_line_each_naming_the_crd():
    crds = [c for c in TERWAY_CALICO_CRDS if not c.startswith(("clusterinformations", "ippools"))]
    assert lines(pf.preflight(settings(), facts(crds=crds))) == [
        f"terway:networkPolicy: typha needs CustomResourceDefinition {crd}, which Terway's chart (charts/terway 1.13.0) "
        "installs: it is missing, so Typha would never become ready (it starts from ClusterInformation). Reinstall "
        "or upgrade Terway; the stack does not create Calico CRDs the chart owns"
        for crd in ("ippools.crd.projectcalico.org", "clusterinformations.crd.projectcalico.org")
    ]
    assert pf.preflight(settings("direct"), facts(crds=[])).problems == []


def test_what_terway_may_not_do_is_refused_naming_the_permission():
    datapath_v2 = {check: check[2] != "serviceaccounts" for check in typha_access_checks()}
    assert lines(pf.preflight(settings(), facts(access=datapath_v2))) == [
        "terway:networkPolicy: typha runs as ServiceAccount kube-system/terway, which may not list/watch serviceaccounts "
        "(SubjectAccessReview): Typha would never become ready. Terway's chart (charts/terway 1.13.0) grants it in "
        "ClusterRole terway-pod-reader; with DataPathV2 the chart leaves serviceaccounts out, and Felix does not run there"
    ]
    no_role = {check: False for check in typha_access_checks()}
    result = lines(pf.preflight(settings(), facts(access=no_role)))
    assert any("may not get/create/update/list/watch clusterinformations.crd.projectcalico.org" in line for line in result)
    assert any("may not list/watch endpointslices.discovery.k8s.io" in line for line in result)
    assert pf.preflight(settings("disabled"), facts(access=no_role)).problems == []


def test_offline_lists_what_typha_needs_as_not_run():
    result = pf.preflight(settings(), pf.LiveFacts(eni_config=configmap()))
    assert result.not_run[-3:] == [
        "Typha version vs the live Kubernetes (needs the cluster)",
        "Calico CRDs Typha reads (needs the cluster)",
        "permissions of ServiceAccount kube-system/terway (needs the cluster)",
    ]


@pytest.mark.parametrize(
    "conf,reason",
    [
        ({"type": "terway", "eniip_virtual_type": "IPVlan"}, "sets eniip_virtual_type ipvlan"),
        ({"type": "terway", "eniip_virtual_type": "datapathv2"}, "sets eniip_virtual_type datapathv2"),
        ({"type": "terway", "network_policy_provider": "ebpf"}, "sets network_policy_provider ebpf"),
    ],
)
def test_mode_typha_is_refused_where_felix_does_not_run(conf, reason):
    cm = configmap({"10-terway.conf": json.dumps(conf)})
    [line] = lines(pf.preflight(settings(), facts(cm=cm)))
    assert line.startswith(f"terway:networkPolicy: typha cannot work here: kube-system/eni-config 10-terway.conf {reason}")
    assert line.endswith("so Typha would have no Felix to serve; use networkPolicy direct or disabled")
    assert pf.preflight(settings("direct"), facts(cm=cm)).problems == []


def test_unknown_felix_version_and_no_policy_container_warn():
    digest = daemon_set(policy_image="registry/acs/terway@sha256:" + "1" * 64)
    [warning] = pf.preflight(settings(typha_version="v3.24.5"), facts(daemon_sets={"terway-eniip": digest})).warnings
    assert "cannot tell the Felix (Calico) version" in warning
    eni = daemon_set(policy=False)
    result = pf.preflight(settings(daemon_sets=("terway-eni",)), facts(daemon_sets={"terway-eni": eni}))
    assert result.problems == []
    assert result.warnings == ["DaemonSet kube-system/terway-eni has no policy container: Felix does not run there, Typha has no effect on it"]


def test_ebpf_policy_provider_makes_the_relay_ineffective():
    conf = {"cniVersion": "0.4.0", "type": "terway", "network_policy_provider": "ebpf"}
    reasons = pk.relay_ineffective_reasons(["terway-eniip"], {"10-terway.conf": json.dumps(conf)})
    assert reasons == ["10-terway.conf sets network_policy_provider ebpf: policy is enforced by Cilium, Felix does not run"]
    listed = {"plugins": [{"type": "terway", "network_policy_provider": "ebpf"}, {"type": "cilium-cni"}]}
    assert len(pk.relay_ineffective_reasons(["terway-eniip"], {"10-terway.conflist": json.dumps(listed)})) == 1
    iptables = {**conf, "network_policy_provider": "iptables"}
    assert pk.relay_ineffective_reasons(["terway-eniip"], {"10-terway.conf": json.dumps(iptables)}) == []


# --------------------------------------------------------------------------- issue 10 §1: someone else's relay


MANAGED = [
    {"manager": "ack-addon-manager", "operation": "Apply", "fieldsV1": {"f:data": {"f:eni_conf": {}}}},
    {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:felix_relay_service": {}}}},
]


def test_a_relay_naming_another_service_blocks_naming_value_manager_and_the_setting():
    cm = configmap({"felix_relay_service": "my-typha"}, MANAGED)
    assert lines(pf.preflight(settings(), facts(cm))) == [
        "kube-system/eni-config:felix_relay_service: is 'my-typha' (field manager(s) kubectl-edit (Update)), another relay "
        "than calico-typha; networkPolicy typha would point Felix at calico-typha instead. Set "
        "terway:typha.replaceExistingRelay true to take it over"
    ]
    assert pf.preflight(settings(replace_existing_relay=True), facts(cm)).problems == []


@pytest.mark.parametrize("value", [None, "", "calico-typha"])
def test_no_relay_or_ours_passes(value):
    data = {} if value is None else {"felix_relay_service": value}
    assert pf.preflight(settings(), facts(configmap(data, MANAGED))).problems == []


def test_relay_managers_come_from_managed_fields_or_are_said_to_be_unknown():
    assert pf.relay_managers(configmap({}, MANAGED)) == ["kubectl-edit (Update)"]
    [line] = lines(pf.preflight(settings(), facts(configmap({"felix_relay_service": "x"}))))
    assert "field managers not known (the saved ConfigMap has no metadata.managedFields)" in line


# --------------------------------------------------------------------------- issue 10 §2: policy never switched on silently


# Terway compares the value exactly: " false " and "false\n" turn policy OFF (cmd/terway-cli/common.go).
@pytest.mark.parametrize("live", ["true", "yes", "1", "True", " false ", "false\n"])
@pytest.mark.parametrize("mode", ["typha", "direct"])
def test_switching_policy_on_needs_confirmation_and_says_how_many_policies(live, mode):
    cm = configmap({"disable_network_policy": live})
    [line] = lines(pf.preflight(settings(mode), facts(cm, count=7)))
    assert line == (
        f"kube-system/eni-config:disable_network_policy: is {live!r}: NetworkPolicy is off, and networkPolicy {mode} turns "
        "it on. 7 NetworkPolicy objects (all namespaces) will start being enforced when Terway restarts. Set "
        "terway:confirmNetworkPolicyEnforcement true to go ahead"
    )
    assert pf.preflight(settings(mode, confirm_network_policy_enforcement=True), facts(cm, count=7)).problems == []


@pytest.mark.parametrize("live", [None, "false", "0", ""])  # " false " is off: Terway compares exactly
def test_policy_already_on_or_mode_disabled_needs_no_confirmation(live):
    data = {} if live is None else {"disable_network_policy": live}
    cm = configmap(data)
    if live is None:
        del cm["data"]["disable_network_policy"]
    assert pf.preflight(settings("typha"), facts(cm)).problems == []
    assert pf.preflight(settings("disabled"), facts(configmap({"disable_network_policy": "true"}))).problems == []


def test_network_policies_are_counted_only_when_policy_would_turn_on():
    assert pf.needs_network_policy_count(settings("typha"), configmap({"disable_network_policy": "true"}))
    assert not pf.needs_network_policy_count(settings("typha"), configmap())
    assert not pf.needs_network_policy_count(settings("disabled"), configmap({"disable_network_policy": "true"}))


# --------------------------------------------------------------------------- per-node configs and eni_conf shape


def per_node(vswitches):
    return {"eni_conf": json.dumps({"vswitches": vswitches})}


def test_per_node_config_overriding_a_zone_that_gets_a_new_vswitch_blocks_before_it_is_created():
    wanted = {"cn-shanghai-f": [pf.PENDING_ID], "cn-shanghai-g": ["vsw-adopted"]}
    nodes = {"big": per_node({"cn-shanghai-f": ["vsw-1"]}), "gpu": per_node({"cn-shanghai-g": ["vsw-2"]})}
    result = pf.preflight(settings(wanted_vswitches=wanted, manages_vswitches=True), facts(node_configs=nodes))
    assert [p.path for p in result.problems] == [
        "kube-system/gpu:eni_conf.vswitches.cn-shanghai-g",
        "kube-system/big:eni_conf.vswitches.cn-shanghai-f",
    ]
    assert "vsw-adopted" in str(result.problems[0])
    assert "terway:podVSwitches.zones.cn-shanghai-f.cidr" in str(result.problems[1])
    ok = {"gpu": per_node({"cn-shanghai-g": ["vsw-2", "vsw-adopted"]}), "other": per_node({"cn-shanghai-h": ["x"]})}
    assert pf.preflight(settings(wanted_vswitches=wanted, manages_vswitches=True), facts(node_configs=ok)).problems == []


def test_malformed_live_eni_conf_blocks_when_the_stack_manages_vswitches():
    cm = configmap({"eni_conf": '{"vswitches": "vsw-a"}'})
    [line] = lines(pf.preflight(settings(manages_vswitches=True, wanted_vswitches={"cn-shanghai-f": ["vsw-a1"]}), facts(cm)))
    assert line.startswith("kube-system/eni-config:eni_conf.vswitches: must map each zone")
    assert pf.preflight(settings(), facts(cm)).problems == []


# --------------------------------------------------------------------------- offline: what could not be checked


def test_offline_runs_the_eni_config_checks_and_lists_the_rest():
    cm = configmap({"felix_relay_service": "my-typha", "disable_network_policy": "true"})
    result = pf.preflight(
        settings(wanted_vswitches={"cn-shanghai-f": [pf.PENDING_ID]}, manages_vswitches=True),
        pf.LiveFacts(eni_config=cm),
    )
    assert [p.path for p in result.problems] == [
        "kube-system/eni-config:felix_relay_service",
        "kube-system/eni-config:disable_network_policy",
    ]
    assert "not counted: the cluster was not read" in str(result.problems[1])
    assert result.not_run == [
        "NetworkPolicy objects: not counted (needs the cluster)",
        "field managers of felix_relay_service: not known (no metadata.managedFields)",
        "Terway DaemonSets terway-eniip: exist, RollingUpdate and maxUnavailable, policy container reads "
        "felix_relay_service, Felix version (needs the cluster)",
        "Typha version vs the live Kubernetes (needs the cluster)",
        "Calico CRDs Typha reads (needs the cluster)",
        "permissions of ServiceAccount kube-system/terway (needs the cluster)",
        "per-node configs (nodes labelled terway-config) overriding cn-shanghai-f (needs the cluster)",
    ]


def test_settings_travel_through_props_unchanged():
    original = settings(
        wanted_vswitches={"cn-shanghai-f": ["vsw-1"]}, manages_vswitches=True, replace_existing_relay=True,
        confirm_network_policy_enforcement=True, typha_version="v3.24.5",
    )
    assert pf.PreflightSettings.from_props(json.loads(json.dumps(original.as_props()))) == original


# --------------------------------------------------------------------------- hostile live objects


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@given(ds=json_values, data=st.dictionaries(st.sampled_from(["eni_conf", "felix_relay_service", "disable_network_policy", "x"]), st.text(max_size=12)))
def test_any_live_shape_gives_problems_not_exceptions(ds, data):
    cm = {"metadata": {"managedFields": [{"manager": "m", "fieldsV1": {"f:data": {"f:felix_relay_service": {}}}}]}, "data": data}
    daemon_sets = {"terway-eniip": ds if isinstance(ds, dict) else None}
    for mode in ("typha", "direct", "disabled"):
        result = pf.preflight(settings(mode, manages_vswitches=True), pf.LiveFacts(copy.deepcopy(cm), daemon_sets, 0, {}))
        assert all(isinstance(p, pf.Problem) for p in result.problems)


def test_malformed_per_node_config_is_named_even_when_every_wanted_vswitch_is_new():
    result = pf.preflight(
        settings(wanted_vswitches={"cn-shanghai-f": [pf.PENDING_ID]}, manages_vswitches=True),
        facts(node_configs={"broken": {"eni_conf": "{not json"}}),
    )
    assert [p.path for p in result.problems] == ["kube-system/broken:eni_conf"]


def test_a_configmap_without_metadata_is_read_as_no_managers():
    cm = {"metadata": None, "data": {"felix_relay_service": "x", "disable_network_policy": "false"}}
    [line] = lines(pf.preflight(settings(), pf.LiveFacts(eni_config=cm)))
    assert "field managers not known" in line
