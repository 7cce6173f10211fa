"""The requests a run makes, as the preflight reviews them (decide/permissions.py), and how a denial reads."""
from __future__ import annotations

from terway_stack.decide import preflight as pf
from terway_stack.decide.permissions import Access, denial_problem, eni_config_writes, manifest_writes, run_accesses

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "calico-typha", "namespace": "kube-system"}}
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "bgppeers.crd.projectcalico.org"}}


def test_an_applied_object_needs_create_without_its_name_and_patch_with_it():
    create, patch = manifest_writes(SERVICE, "Typha")
    assert create.attributes() == {"verb": "create", "group": "", "resource": "services", "namespace": "kube-system"}
    assert patch.attributes() == {"verb": "patch", "group": "", "resource": "services", "namespace": "kube-system",
                                  "name": "calico-typha"}
    assert [a.target() for a in manifest_writes(CRD, "Typha")] == [
        "customresourcedefinitions.apiextensions.k8s.io (cluster-wide)",
        "customresourcedefinitions.apiextensions.k8s.io bgppeers.crd.projectcalico.org",
    ]


def test_the_run_reviews_typha_first_then_eni_config_then_the_restart_and_its_reads():
    accesses = run_accesses([SERVICE], ["terway-eniip"], "kube-system")
    assert [(a.verb, a.resource) for a in accesses] == [
        ("create", "services"), ("patch", "services"), ("patch", "configmaps"), ("patch", "daemonsets"),
        ("list", "pods"), ("list", "nodes"), ("list", "controllerrevisions"),
    ]
    assert all(Access.from_props(a.as_props()) == a for a in accesses)


def test_a_denial_is_one_line_naming_verb_object_and_why():
    [write] = eni_config_writes()
    text = str(denial_problem(write, "no RBAC policy\nmatched"))
    assert text.startswith("kubernetes:kubeconfig: this identity may not patch configmaps kube-system/eni-config")
    assert "Nothing was written" in text and "\n" not in text and "no RBAC policy matched" in text


def test_offline_the_review_is_listed_as_not_run_and_online_each_denial_is_a_problem():
    settings = pf.PreflightSettings(mode="direct", daemon_sets=("terway-eniip",),
                                    accesses=tuple(eni_config_writes()))
    offline = pf.preflight(settings, pf.LiveFacts(eni_config={"data": {}}))
    assert any("SelfSubjectAccessReview" in line for line in offline.not_run) and not offline.problems
    online = pf.preflight(settings, pf.LiveFacts(eni_config={"data": {}}, denied=[(settings.accesses[0], "")],
                                                 eni_config_present=True))
    assert [p.path for p in online.problems] == ["kubernetes:kubeconfig"]
    assert pf.PreflightSettings.from_props(settings.as_props()) == settings
