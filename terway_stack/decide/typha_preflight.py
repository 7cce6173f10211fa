"""The preflight's checks of what Typha needs in mode typha: its version on the live Kubernetes, the
Calico CRDs it reads, what its identity (ServiceAccount terway) may do, and a datapath where Felix runs.

Pure functions over what act/preflight.py read; decide/preflight.py calls them. Kept apart from the
general preflight so that each file holds one job.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .config_types import kubernetes_release
from .facts import ENI_CONFIG
from .policy_keys import relay_blocking_reasons
from .problems import Problem
from .typha_compat import TERWAY_CALICO_CRDS, TERWAY_CHART, TERWAY_CLUSTER_ROLE, TYPHA_SERVICE_ACCOUNT, sync_problem

if TYPE_CHECKING:  # the general preflight imports this module: types only, no cycle at run time
    from .preflight import LiveFacts, PreflightResult, PreflightSettings

_TYPHA_MODE_KEY = "terway:networkPolicy"


def typha_version_problems(settings: PreflightSettings, kubernetes_version: str) -> list[Problem]:
    """The configured (or default) Typha cannot feed Felix on the live Kubernetes."""
    live = kubernetes_release(kubernetes_version)
    reason = sync_problem(settings.typha_version, live, f"{kubernetes_version} (the live API server)") if live else None
    return [Problem(settings.typha_version_key, reason)] if reason else []


def calico_crd_problems(existing: frozenset[str]) -> list[Problem]:
    missing = [crd for crd in TERWAY_CALICO_CRDS if crd not in existing]
    return [
        Problem(
            _TYPHA_MODE_KEY,
            f"typha needs CustomResourceDefinition {crd}, which {TERWAY_CHART} installs: it is missing, so Typha "
            "would never become ready (it starts from ClusterInformation). Reinstall or upgrade Terway; the stack "
            "does not create Calico CRDs the chart owns",
        )
        for crd in missing
    ]


def _resource_name(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def typha_access_problems(access: Mapping[tuple[str, str, str], bool]) -> list[Problem]:
    """What the `terway` ServiceAccount, Typha's identity, is not allowed to do (SubjectAccessReview)."""
    namespace, name = TYPHA_SERVICE_ACCOUNT
    denied = [check for check, allowed in access.items() if not allowed]
    by_resource: dict[str, list[str]] = {}
    for verb, group, resource in denied:
        by_resource.setdefault(_resource_name(group, resource), []).append(verb)
    return [
        Problem(
            _TYPHA_MODE_KEY,
            f"typha runs as ServiceAccount {namespace}/{name}, which may not {'/'.join(verbs)} {resource} "
            f"(SubjectAccessReview): Typha would never become ready. {TERWAY_CHART} grants it in ClusterRole "
            f"{TERWAY_CLUSTER_ROLE}; with DataPathV2 the chart leaves serviceaccounts out, and Felix does not run there",
        )
        for resource, verbs in sorted(by_resource.items())
    ]


def datapath_problems(settings: PreflightSettings, data: Mapping[str, Any]) -> list[Problem]:
    """Mode typha where Felix does not run: Typha would serve nothing (and, on DataPathV2, never be ready)."""
    if settings.mode != "typha":
        return []
    return [
        Problem(
            _TYPHA_MODE_KEY,
            f"typha cannot work here: {ENI_CONFIG} {reason}, so Typha would have no Felix to serve; "
            "use networkPolicy direct or disabled",
        )
        for reason in relay_blocking_reasons(data)
    ]


def typha_needs(settings: PreflightSettings, facts: LiveFacts, result: PreflightResult) -> None:
    """Mode typha: Typha's version on this Kubernetes, the CRDs it reads, and its identity's permissions."""
    if settings.mode != "typha":
        return
    checks = (
        (facts.kubernetes_version, lambda v: typha_version_problems(settings, v), "Typha version vs the live Kubernetes"),
        (facts.calico_crds, calico_crd_problems, "Calico CRDs Typha reads"),
        (facts.typha_access, typha_access_problems, f"permissions of ServiceAccount {'/'.join(TYPHA_SERVICE_ACCOUNT)}"),
    )
    for fact, check, what in checks:
        if fact is None:
            result.not_run.append(f"{what} (needs the cluster)")
        else:
            result.problems += check(fact)
