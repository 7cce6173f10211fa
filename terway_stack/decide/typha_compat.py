"""What a Calico Typha release needs from the cluster, and what it does, as measured with the real one.

Every fact here was measured by running calico-typha built from upstream source against a real
kube-apiserver 1.34 (shared/third_party/README.md, "Calico Typha"; e2e/tests/test_typha_real.py
repeats it), or read from the upstream source named next to it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .facts import TYPHA_SHUTDOWN_ENV

# Typha runs as this ServiceAccount (the runbook's Deployment), relying on Terway's RBAC for it.
TYPHA_SERVICE_ACCOUNT = ("kube-system", "terway")
# Terway's chart (AliyunContainerService/terway, charts/terway, chart version 1.13.0 at commit
# 89aadf8b: templates/terwayd/clusterrole.yaml and clusterrolebinding.yaml) grants it.
TERWAY_CLUSTER_ROLE = "terway-pod-reader"
TERWAY_CHART = "Terway's chart (charts/terway 1.13.0)"

# The requests Typha v3.24.5 made as `terway` against kube-apiserver 1.34 under the chart's role,
# from the audit log: (verb, API group, resource). The connection rebalancer GETs Endpoints.
TYPHA_REQUESTS: tuple[tuple[str, str, str], ...] = (
    *((verb, "", resource) for resource in ("nodes", "pods", "namespaces", "serviceaccounts", "services")
      for verb in ("list", "watch")),
    ("get", "", "endpoints"),
    ("list", "discovery.k8s.io", "endpointslices"),
    ("watch", "discovery.k8s.io", "endpointslices"),
    ("list", "networking.k8s.io", "networkpolicies"),
    ("watch", "networking.k8s.io", "networkpolicies"),
    ("get", "crd.projectcalico.org", "clusterinformations"),
    ("create", "crd.projectcalico.org", "clusterinformations"),
    ("update", "crd.projectcalico.org", "clusterinformations"),
)

# The Calico CRDs Terway's chart installs (templates/terwayd/daemonset.yaml of the same chart). With
# them Typha v3.24.5 became ready in under a second; without ClusterInformation it never opens its
# health port ("Failed to initialize datastore"). ACK lists *.crd.projectcalico.org as system resources.
TERWAY_CALICO_CRDS: tuple[str, ...] = tuple(
    f"{plural}.crd.projectcalico.org"
    for plural in (
        "felixconfigurations", "bgpconfigurations", "ippools", "hostendpoints", "clusterinformations",
        "globalnetworkpolicies", "globalnetworksets", "networkpolicies",
    )
)

# BGPPeer: the CRD runbook 002 adds (the chart has none); the stack creates it where it is missing.
BGPPEER_CRD = "bgppeers.crd.projectcalico.org"


def typha_access_checks() -> tuple[tuple[str, str, str], ...]:
    """Every (verb, group, resource) `terway` needs for Typha: the measured requests, and list/watch
    of each Calico kind Typha's syncers read that a cluster with Terway has."""
    calico = [crd.split(".", 1)[0] for crd in (*TERWAY_CALICO_CRDS, BGPPEER_CRD)]
    return TYPHA_REQUESTS + tuple(
        (verb, "crd.projectcalico.org", plural) for plural in calico for verb in ("list", "watch")
    )


# Calico lists EndpointSlices through discovery.k8s.io/v1 from v3.23.0; earlier releases use v1beta1,
# which Kubernetes stopped serving in 1.25. Measured: v3.20.2 on 1.34 answers /readiness 204 while
# its Felix feed never reaches in-sync (its caches share one health reporter): 0 of 20 clients in 30 s.
ENDPOINTSLICE_V1_FROM = (3, 23)
V1BETA1_ENDPOINTSLICE_GONE = (1, 25)
# TYPHA_SHUTDOWNTIMEOUTSECS appears in v3.25.0 (typha/pkg/config/config_params.go); v3.20.2 and
# v3.24.5 log it as an unknown config parameter and exit at once on SIGTERM.
GRACEFUL_SHUTDOWN_FROM = (3, 25)
GRACEFUL_SHUTDOWN_SECONDS = 300  # upstream Calico's manifest, from v3.25
KUBERNETES_DEFAULT_GRACE_SECONDS = 30

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def minor(version: str) -> Optional[tuple[int, int]]:
    match = _VERSION.match(version or "")
    return (int(match[1]), int(match[2])) if match else None


def sync_problem(typha_version: str, kubernetes: tuple[int, int], kubernetes_text: str) -> Optional[str]:
    """Why this Typha cannot feed Felix on this Kubernetes, or None."""
    calico = minor(typha_version)
    if calico is None or calico >= ENDPOINTSLICE_V1_FROM or tuple(kubernetes) < V1BETA1_ENDPOINTSLICE_GONE:
        return None
    return (
        f"Typha {typha_version} cannot sync on Kubernetes {kubernetes_text}: it lists EndpointSlices through "
        f"discovery.k8s.io/v1beta1, which Kubernetes stopped serving in {V1BETA1_ENDPOINTSLICE_GONE[0]}."
        f"{V1BETA1_ENDPOINTSLICE_GONE[1]}, so Felix would never get in sync while Typha still reports ready. "
        f"Use Calico v{ENDPOINTSLICE_V1_FROM[0]}.{ENDPOINTSLICE_V1_FROM[1]} or later, the minor of Terway's Felix (v3.24.5)"
    )


def minor_gap(typha_version: str, felix_version: str) -> Optional[int]:
    """How many Calico minor versions apart Typha and Felix are (None when either cannot be told)."""
    typha, felix = minor(typha_version), minor(felix_version)
    if typha is None or felix is None:
        return None
    if typha[0] != felix[0]:
        return 100  # another major: never compatible
    return abs(typha[1] - felix[1])


@dataclass(frozen=True)
class ShutdownBehaviour:
    """What Typha does on SIGTERM, and the Deployment settings that follow from it."""

    graceful: bool  # sheds its Felix connections over TYPHA_SHUTDOWNTIMEOUTSECS
    grace_period_seconds: int
    env: tuple[tuple[str, str], ...]


def shutdown_behaviour(typha_version: str) -> ShutdownBehaviour:
    """From v3.25 Typha sheds connections gradually, and Kubernetes must wait as long; before, it exits
    at once, so a longer grace period buys nothing and Kubernetes' default is stated."""
    calico = minor(typha_version)
    if calico is not None and calico >= GRACEFUL_SHUTDOWN_FROM:
        seconds = GRACEFUL_SHUTDOWN_SECONDS
        return ShutdownBehaviour(True, seconds, ((TYPHA_SHUTDOWN_ENV, str(seconds)),))
    return ShutdownBehaviour(False, KUBERNETES_DEFAULT_GRACE_SECONDS, ())
