"""The Kubernetes requests a run makes that need rights beyond the preflight's own reads.

The preflight asks the API server (SelfSubjectAccessReview) about each of them before the first
write, so an identity that may read but not write stops `pulumi preview` with the verb and the
object, and nothing is written. The list is derived from what the stack declares: the Typha objects
from their rendered manifests, the eni-config writers, and the Terway restarts with the reads the
rollout makes after its patch (a denial there would leave a restart nobody waits for).

Verbs are those of the real requests: pulumi-kubernetes writes with server-side apply (`patch`,
which creates a missing object and then also needs `create`); the eni-config writers send only
PATCH requests (apply and JSON patch); the restart patches the DaemonSet like
`kubectl rollout restart`. A create request carries no object name, so RBAC rules restricted by
`resourceNames` never allow it: its review is asked without the name, as the API server would.
Plain data, no Pulumi import; the reviews themselves are made in act/access_review.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from .facts import ENI_CONFIG_NAME, ENI_CONFIG_NAMESPACE
from .problems import Problem

KUBECONFIG_KEY = "kubernetes:kubeconfig"

# kind -> plural resource name, for the kinds the stack writes.
_RESOURCES = {
    "Service": "services",
    "Deployment": "deployments",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "CustomResourceDefinition": "customresourcedefinitions",
    "ConfigMap": "configmaps",
    "DaemonSet": "daemonsets",
}


@dataclass(frozen=True)
class Access:
    """One request the run makes, as a SelfSubjectAccessReview's resourceAttributes."""

    verb: str
    resource: str
    group: str = ""
    namespace: Optional[str] = None
    name: Optional[str] = None
    why: str = ""

    def attributes(self) -> dict[str, str]:
        attrs = {"verb": self.verb, "group": self.group, "resource": self.resource}
        if self.namespace:
            attrs["namespace"] = self.namespace
        if self.name:
            attrs["name"] = self.name
        return attrs

    def target(self) -> str:
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        where = "/".join(p for p in (self.namespace, self.name) if p)
        if not self.name:
            where = f"in namespace {self.namespace}" if self.namespace else "(cluster-wide)"
        return f"{resource} {where}"

    def as_props(self) -> dict[str, Any]:
        return {"verb": self.verb, "resource": self.resource, "group": self.group,
                "namespace": self.namespace, "name": self.name, "why": self.why}

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "Access":
        return cls(verb=props["verb"], resource=props["resource"], group=props.get("group") or "",
                   namespace=props.get("namespace") or None, name=props.get("name") or None,
                   why=props.get("why") or "")


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def manifest_writes(manifest: Mapping[str, Any], why: str) -> list[Access]:
    """Server-side apply of one object: patch it by name, and create it (no name) when it is new."""
    meta = manifest["metadata"]
    common = dict(resource=_RESOURCES[manifest["kind"]], group=_group(manifest["apiVersion"]),
                  namespace=meta.get("namespace"), why=why)
    return [Access("create", **common), Access("patch", name=meta["name"], **common)]


def eni_config_writes(namespace: str = ENI_CONFIG_NAMESPACE, name: str = ENI_CONFIG_NAME) -> list[Access]:
    return [Access("patch", "configmaps", namespace=namespace, name=name,
                   why="the stack's eni-config keys are written with PATCH requests")]


def restart_accesses(daemon_sets: Sequence[str], namespace: str) -> list[Access]:
    """The restart's patch, and the reads its wait makes after it (pods, nodes, revisions)."""
    accesses = [
        Access("patch", "daemonsets", "apps", namespace, ds, "the rolling restart of Terway patches its pod template")
        for ds in daemon_sets
    ]
    why = "the restart waits on Terway's pods, their nodes and the DaemonSet's revisions"
    accesses += [
        Access("list", "pods", namespace=namespace, why=why),
        Access("list", "nodes", why=why),
        Access("list", "controllerrevisions", "apps", namespace, why=why),
    ]
    return accesses


def run_accesses(typha_manifests: Iterable[Mapping[str, Any]], daemon_sets: Sequence[str], namespace: str) -> list[Access]:
    """Every request of a run the preflight reviews, in the order the run makes them."""
    accesses: list[Access] = []
    for manifest in typha_manifests:
        accesses += manifest_writes(manifest, "Typha for networkPolicy typha")
    accesses += eni_config_writes(namespace)
    accesses += restart_accesses(daemon_sets, namespace)
    return accesses


def denial_problem(access: Access, reason: str = "") -> Problem:
    """One line: which request this identity may not make, and why the run needs it."""
    reason = "".join(c if c.isprintable() else " " for c in reason or "")[:200].strip()
    because = f" (the API server says: {reason})" if reason else ""
    return Problem(
        KUBECONFIG_KEY,
        f"this identity may not {access.verb} {access.target()}{because}; {access.why}. "
        "Nothing was written: grant it, or use a kubeconfig with these rights",
    )
