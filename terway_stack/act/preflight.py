"""The preflight gate: reads the cluster in ``check()`` and fails the run before anything writes.

The engine calls a resource's ``check()`` at every ``pulumi preview`` and ``pulumi up`` before the
resource's step, and every writing resource of the stack depends on this one, so a failure here
stops the run with nothing written. The reads (eni-config with its managedFields, the Terway
DaemonSets, NetworkPolicy objects when they matter, per-node Terway ConfigMaps when the stack adds
pod vSwitches) feed `decide.preflight.preflight`; each problem becomes one CheckFailure line.

A dynamic provider cannot log to the engine, so warnings and notes travel as outputs: ``check()``
returns them inside its checked inputs, the engine hands checked inputs back as the outputs of a
preview step (the dynamic provider does not support provider previews), and ``create``/``update``
record them. The program logs them with ``pulumi.log`` (declare/preflight.py).

The provider is pickled by reference to this module path: keep the path stable. It holds no state;
clients are made inside each call. Messages never contain the kubeconfig.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi.dynamic as dyn

from ..decide import preflight as decide
from ..decide.facts import ENI_CONFIG_NAME, ENI_CONFIG_NAMESPACE, NODE_CONFIG_LABEL, PREFLIGHT_KIND, PREFLIGHT_USER_AGENT
from ..decide.typha_compat import TERWAY_CALICO_CRDS, TYPHA_SERVICE_ACCOUNT, typha_access_checks
from .access_review import denied
from .dynamic import KubeconfigResource, RedactingProvider, redacted, changed_inputs, has_unknown, plain
from .kube import (
    NETWORK_POLICIES,
    NODES,
    KubeError,
    KubeStatusError,
    configmap_path,
    daemonset_path,
    in_parallel,
    kube_client,
    list_items,
    read,
    send,
)

SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

INPUT_KEYS = ("kind", "settings", "kubeconfig")
RESULT_KEYS = ("warnings", "notes")


def count_network_policies(client: Any) -> int:
    return sum(1 for _ in list_items(client, NETWORK_POLICIES, what="listing NetworkPolicies"))


def node_config_names(nodes: Mapping[str, Any]) -> list[str]:
    """Distinct ConfigMap names that nodes point at with the terway-config label."""
    names = set()
    for node in nodes.get("items") or []:
        value = ((node.get("metadata") or {}).get("labels") or {}).get(NODE_CONFIG_LABEL)
        if value:
            names.add(value)
    return sorted(names)


def read_node_configs(kubeconfig: str) -> dict[str, dict[str, Any]]:
    """name -> data of every per-node ConfigMap that some node selects (missing ones are skipped)."""
    with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
        return node_configs(client)


def node_configs(client: Any) -> dict[str, dict[str, Any]]:
    """read_node_configs over an open client."""
    nodes = read(client, NODES, what="listing nodes", query={"labelSelector": NODE_CONFIG_LABEL}) or {}
    configs = {}
    for name in node_config_names(nodes):
        cm = read(client, configmap_path(ENI_CONFIG_NAMESPACE, name), what=f"reading ConfigMap {ENI_CONFIG_NAMESPACE}/{name}")
        if cm is not None:
            configs[name] = cm.get("data") or {}
    return configs


def kubernetes_version(client: Any) -> str:
    return str((read(client, "/version", what="reading the server version") or {}).get("gitVersion") or "")


def existing_calico_crds(client: Any) -> frozenset[str]:
    found = in_parallel([lambda name=name: read(client, f"{CRDS}/{name}", what=f"reading CRD {name}") for name in TERWAY_CALICO_CRDS])
    return frozenset(name for name, definition in zip(TERWAY_CALICO_CRDS, found) if definition is not None)


def review_typha_service_account_access(client: Any) -> Optional[dict[tuple[str, str, str], bool]]:
    """SubjectAccessReviews: may the `terway` ServiceAccount (Typha's identity) do what Typha does?

    Reviews persist nothing (the API server answers in the response). This asks about another identity
    (Typha's reads); the stack's own writes are a separate check. The first review is asked alone: an
    identity that may not ask about another one gets one 403, not one per review. The rest go together.
    """
    namespace, name = TYPHA_SERVICE_ACCOUNT
    user = f"system:serviceaccount:{namespace}:{name}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]

    def allowed(verb: str, group: str, resource: str) -> bool:
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": groups, "resourceAttributes": {"verb": verb, "group": group, "resource": resource}},
        }
        status = send(
            client, "POST", SUBJECT_ACCESS_REVIEWS, body=body, what=f"reviewing {user}'s access ({verb} {resource})"
        ).get("status") or {}
        return bool(status.get("allowed"))

    checks = typha_access_checks()
    try:
        first = allowed(*checks[0])
        rest = in_parallel([lambda check=check: allowed(*check) for check in checks[1:]])
    except KubeStatusError as err:
        if err.status == 403:  # this identity may not ask about another one: listed as a check not run
            return None
        raise
    return dict(zip(checks, [first, *rest]))


def read_facts(kubeconfig: str, settings: decide.PreflightSettings) -> decide.LiveFacts:
    """Everything the checks need, read with plain GETs and LISTs and access reviews (never a write),
    over one client."""
    namespace = settings.namespace
    version, crds, access, configs = None, None, None, None
    with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
        configmap = read(
            client, configmap_path(namespace, ENI_CONFIG_NAME), what=f"reading ConfigMap {namespace}/{ENI_CONFIG_NAME}"
        )
        daemon_sets = {
            name: read(client, daemonset_path(namespace, name), what=f"reading DaemonSet {namespace}/{name}")
            for name in settings.daemon_sets
        }
        count = count_network_policies(client) if decide.needs_network_policy_count(settings, configmap) else None
        refused = denied(client, settings.accesses)
        if settings.mode == "typha":
            version = kubernetes_version(client)
            crds = existing_calico_crds(client)
            access = review_typha_service_account_access(client)
        if decide.needs_node_configs(settings):
            configs = node_configs(client)
    present = configmap is not None
    if configmap is None:
        configmap = {"data": {}}  # reported as missing; the other checks read it as empty
    return decide.LiveFacts(
        configmap, daemon_sets, count, configs, refused, eni_config_present=present,
        kubernetes_version=version, calico_crds=crds, typha_access=access,
    )


def run_checks(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[dyn.CheckFailure]]:
    """Checked inputs (with the results) and the failures; nothing is read while inputs are unknown."""
    inputs = {k: news.get(k) for k in INPUT_KEYS}
    kubeconfig, props = plain(news.get("kubeconfig")), news.get("settings")
    if has_unknown(kubeconfig) or has_unknown(props):
        return {**inputs, "warnings": [], "notes": []}, []  # a cluster being created: checked at `pulumi up`
    settings = decide.PreflightSettings.from_props(props)
    try:
        result = decide.preflight(settings, read_facts(kubeconfig, settings))
    except KubeError as err:
        return {**inputs, "warnings": [], "notes": []}, [dyn.CheckFailure("", f"preflight cannot read the cluster: {err}")]
    # Property "" keeps the engine from echoing an input (the kubeconfig is one) next to the reason.
    failures = [dyn.CheckFailure("", str(problem)) for problem in result.problems]
    # Messages kept as outputs (state) too: redacted like every other message of the provider.
    warnings, notes = [redacted(line) for line in result.warnings], [redacted(line) for line in result.notes]
    return {**inputs, "warnings": warnings, "notes": notes}, failures


class PreflightCheckProvider(RedactingProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        inputs, failures = run_checks(news)
        return dyn.CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        # Results count too: a same step would keep the previous run's warnings as outputs.
        keys = INPUT_KEYS + RESULT_KEYS
        changed = changed_inputs(olds, news, keys)
        return dyn.DiffResult(changes=bool(changed), replaces=[], stables=[k for k in keys if k not in changed])

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        return dyn.CreateResult(id_="preflight", outs={k: props.get(k) for k in INPUT_KEYS + RESULT_KEYS})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        return dyn.UpdateResult(outs={k: news.get(k) for k in INPUT_KEYS + RESULT_KEYS})

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        return dyn.ReadResult(id_=id_, outs={k: props.get(k) for k in INPUT_KEYS + RESULT_KEYS})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class PreflightCheck(KubeconfigResource, module="terway_stack", name="PreflightCheck"):
    """Fails check() when a read-only precondition of the stack does not hold; see the module docstring."""

    warnings: pulumi.Output[Optional[list]]
    notes: pulumi.Output[Optional[list]]

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        settings: decide.PreflightSettings,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        props = {
            "kind": PREFLIGHT_KIND,
            "settings": settings.as_props(),
        }
        super().__init__(PreflightCheckProvider(), name, props, kubeconfig, opts, output_keys=RESULT_KEYS)
