"""The Calico Typha objects the stack wants in kube-system, rendered from settings as plain dicts.

In the style of tigera/operator's pkg/render: pure functions, complete Kubernetes objects (camelCase,
apiVersion/kind/metadata/spec), no Pulumi. The declare layer hands these dicts to pulumi-kubernetes; the
offline plan and the policy pack can read them as they are.

Names, labels and the Deployment selector are exactly the runbook's, so that objects a team applied by
hand with `kubectl apply` are the same objects (the selector of a Deployment is immutable).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .facts import (
    PDB_V1_FIRST_MINOR,
    TYPHA_APP_LABEL,
    TYPHA_LIVE_NODES_ANNOTATION,
    TYPHA_NAMESPACE,
    TYPHA_SERVICE_NAME,
    VIRTUAL_KUBELET_LABEL,
)
from .settings import StackSettings
from .typha_compat import BGPPEER_CRD, shutdown_behaviour

TYPHA_LABELS = {TYPHA_APP_LABEL: TYPHA_SERVICE_NAME}
NAMESPACE = TYPHA_NAMESPACE
TYPHA_PORT = 5473
TYPHA_PORT_NAME = TYPHA_SERVICE_NAME  # Felix finds Typha's endpoint by this port name
HEALTH_PORT = 9098  # Typha's default health port, probed on localhost (hostNetwork)
METRICS_PORT = 9093
METRICS_PORT_NAME = "metrics"
# The uid/gid the Calico Typha image declares (`USER 999` in typha/docker-image/Dockerfile).
TYPHA_UID = 999
# Calico's manifest: fsGroup lets the non-root process read the projected service-account token.
TOKEN_FS_GROUP = 65534
SERVICE_ACCOUNT = "terway"  # ACK's Terway account can already read what Typha watches
PRIORITY_CLASS = "system-cluster-critical"
# Per replaced pod in a rollout, on top of the old pod's grace period: pull, start, get ready.
ROLLOUT_SECONDS_PER_REPLICA = 60
MIN_AWAIT_SECONDS = 600  # pulumi-kubernetes' own default await timeout for a Deployment

# Server-side apply with force: take over fields that `kubectl apply` of the runbook YAML owns
# (replicas, image, probes...) instead of failing on a field-manager conflict.
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"
# How long pulumi-kubernetes waits for the Deployment to become ready before failing the update.
AWAIT_TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"

BGPPEER_CRD_NAME = BGPPEER_CRD
CALICO_CRD_GROUP = "crd.projectcalico.org"

TYPHA_RUNBOOK_ENV = (
    ("TYPHA_LOGSEVERITYSCREEN", "info"),
    ("TYPHA_LOGFILEPATH", "none"),  # Kubernetes collects stdout; no log file
    ("TYPHA_LOGSEVERITYSYS", "none"),  # no syslog in a container
    ("TYPHA_CONNECTIONREBALANCINGMODE", "kubernetes"),  # rebalance Felix connections across replicas
    ("TYPHA_DATASTORETYPE", "kubernetes"),
    ("TYPHA_HEALTHENABLED", "true"),
)


@dataclass(frozen=True)
class TyphaManifests:
    """Complete Kubernetes objects, in the order they are declared."""

    service: dict[str, Any]
    deployment: dict[str, Any]
    pdb: dict[str, Any]
    crd: dict[str, Any]

    def objects(self) -> tuple[dict[str, Any], ...]:
        return (self.service, self.deployment, self.pdb, self.crd)


def pdb_api_version(minor: tuple[int, int]) -> str:
    """policy/v1 from Kubernetes 1.21, policy/v1beta1 below (the only one those clusters serve)."""
    return "policy/v1" if tuple(minor) >= (1, PDB_V1_FIRST_MINOR) else "policy/v1beta1"


def deployment_await_seconds(replicas: int, grace_period_seconds: int) -> int:
    """Await budget for a one-pod-at-a-time rollout: each step may wait out an old Typha's grace period."""
    return max(MIN_AWAIT_SECONDS, replicas * (grace_period_seconds + ROLLOUT_SECONDS_PER_REPLICA))


def _metadata(name: str, namespaced: bool = True, force: bool = True, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespaced:
        metadata["namespace"] = TYPHA_NAMESPACE
    metadata["labels"] = dict(TYPHA_LABELS)
    metadata["annotations"] = {**({PATCH_FORCE_ANNOTATION: "true"} if force else {}), **annotations}
    return metadata


# The BGPPeer CRD's server-side apply field manager, fixed: a CRD the stack created in an earlier run
# and then forgot (retain_on_delete, e.g. typha -> disabled -> typha) is applied again by the same
# manager, so there is no conflict to force. decide/typha_live.py recognises the stack's CRD by it.
CRD_FIELD_MANAGER = "terway-stack-typha"
PATCH_FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager"


def render_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(TYPHA_SERVICE_NAME),
        "spec": {
            "ports": [
                {"name": TYPHA_PORT_NAME, "port": TYPHA_PORT, "protocol": "TCP", "targetPort": TYPHA_PORT_NAME}
            ],
            "selector": dict(TYPHA_LABELS),
        },
    }


def typha_env(metrics: bool, version: str) -> list[dict[str, str]]:
    env = [{"name": name, "value": value} for name, value in TYPHA_RUNBOOK_ENV]
    # Only releases that know it (v3.25+): older ones log it as unknown and exit at once on SIGTERM.
    env += [{"name": name, "value": value} for name, value in shutdown_behaviour(version).env]
    if metrics:
        env.append({"name": "TYPHA_PROMETHEUSMETRICSENABLED", "value": "true"})
        env.append({"name": "TYPHA_PROMETHEUSMETRICSPORT", "value": str(METRICS_PORT)})
    return env


def _host_port(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "containerPort": port, "hostPort": port, "protocol": "TCP"}


def _container_ports(metrics: bool) -> list[dict[str, Any]]:
    # hostNetwork: hostPort equals containerPort; stating it lets the scheduler see the port taken.
    ports = [_host_port(TYPHA_PORT_NAME, TYPHA_PORT)]
    if metrics:
        ports.append(_host_port(METRICS_PORT_NAME, METRICS_PORT))
    return ports


def _probe(path: str, period_seconds: int, initial_delay_seconds: int = 0) -> dict[str, Any]:
    probe: dict[str, Any] = {
        "httpGet": {"host": "localhost", "path": path, "port": HEALTH_PORT},
        "periodSeconds": period_seconds,
        # A busy Typha at scale can answer slowly; 1 s (the default) restarts it under load.
        "timeoutSeconds": 10,
    }
    if initial_delay_seconds:
        probe["initialDelaySeconds"] = initial_delay_seconds
    return probe


def typha_container(settings: StackSettings) -> dict[str, Any]:
    metrics = settings.typha.metrics
    return {
        "name": TYPHA_SERVICE_NAME,
        "image": settings.typha_image,
        "ports": _container_ports(metrics),
        "env": typha_env(metrics, settings.typha_version),
        # Requests only: a memory limit would OOM-kill Typha exactly when a large cluster leans on it.
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": _probe("/liveness", period_seconds=30, initial_delay_seconds=30),
        "readinessProbe": _probe("/readiness", period_seconds=10),
        "securityContext": container_security_context(),
    }


def container_security_context() -> dict[str, Any]:
    # Calico's Typha manifest: runAsNonRoot and no privilege escalation. The explicit uid/gid are the
    # image's own USER, stated so a mirror that lost the USER metadata still starts (runAsNonRoot alone
    # would refuse it). Typha binds only ports above 1024, so it needs no capability (as tigera/operator).
    return {
        "runAsNonRoot": True,
        "runAsUser": TYPHA_UID,
        "runAsGroup": TYPHA_UID,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }


def pod_security_context() -> dict[str, Any]:
    return {"fsGroup": TOKEN_FS_GROUP, "seccompProfile": {"type": "RuntimeDefault"}}


def _affinity() -> dict[str, Any]:
    return {**_node_affinity(), **_anti_affinity()}


def _node_affinity() -> dict[str, Any]:
    # Terway's own DaemonSet (chart charts/terway/templates/terwayd/daemonset.yaml) keeps off ACK's
    # virtual-kubelet (ECI) nodes with this label; Typha tolerates every taint, so without the same
    # affinity it could be scheduled onto one, where a hostNetwork pod with a host port cannot work.
    key, value = VIRTUAL_KUBELET_LABEL
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": key, "operator": "NotIn", "values": [value]}]}]
            }
        }
    }


def _anti_affinity() -> dict[str, Any]:
    # Spread across zones so a zone outage leaves Typhas elsewhere. No hostname term: the host port
    # already keeps two Typhas off one node.
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {
                            "matchExpressions": [{"key": TYPHA_APP_LABEL, "operator": "In", "values": [TYPHA_SERVICE_NAME]}]
                        },
                        "topologyKey": "topology.kubernetes.io/zone",
                    },
                }
            ]
        }
    }


def _pod_annotations(metrics: bool) -> dict[str, str]:
    annotations = {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}
    if metrics:
        annotations.update({"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT)})
    return annotations


def render_deployment(settings: StackSettings, replicas: Optional[int] = None, live_cap: Optional[int] = None) -> dict[str, Any]:
    """`live_cap`: the live node count that held the replicas below nodeCount's minimum (TyphaSizing.live_cap),
    stated on the Deployment so the policy pack's minimum allows it."""
    replicas = replicas or settings.typha_replicas
    grace = shutdown_behaviour(settings.typha_version).grace_period_seconds
    annotations = {AWAIT_TIMEOUT_ANNOTATION: str(deployment_await_seconds(replicas, grace))}
    if live_cap is not None:
        annotations[TYPHA_LIVE_NODES_ANNOTATION] = str(live_cap)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(TYPHA_SERVICE_NAME, **annotations),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": dict(TYPHA_LABELS)},
            # maxSurge 0: a replacement lands on the node the sizing keeps free (replicas < nodes) while
            # the old Typha keeps serving as it sheds, so a surge pod adds nothing but a Pending pod
            # wanting yet another free node (and a cluster-autoscaler scale-up).
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "template": {
                "metadata": {"labels": dict(TYPHA_LABELS), "annotations": _pod_annotations(settings.typha.metrics)},
                "spec": {
                    "hostNetwork": True,
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [{"operator": "Exists"}],
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "priorityClassName": PRIORITY_CLASS,
                    # v3.25+ sheds its Felix connections over TYPHA_SHUTDOWNTIMEOUTSECS and needs as long;
                    # earlier releases exit at once on SIGTERM, so Kubernetes' 30 s default is stated.
                    "terminationGracePeriodSeconds": grace,
                    "affinity": _affinity(),
                    "securityContext": pod_security_context(),
                    "containers": [typha_container(settings)],
                },
            },
        },
    }


def render_pdb(settings: StackSettings) -> dict[str, Any]:
    # maxUnavailable 1 whatever the release: a Typha that exits at once on SIGTERM (before v3.25)
    # drops all its Felix connections together, and they reconnect to the others; one voluntary
    # eviction at a time keeps that to one Typha's share (1/replicas) of the Felixes.
    return {
        "apiVersion": pdb_api_version(settings.cluster.kubernetes_minor),
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(TYPHA_SERVICE_NAME),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(TYPHA_LABELS)}},
    }


def _bgppeer_spec_schema() -> dict[str, Any]:
    # Calico's main BGPPeer fields, typed; unknown fields are preserved rather than pruned, because
    # this schema may replace a fuller one ACK installed and must not strip fields from stored peers.
    return {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {
            "asNumber": {"type": "integer", "format": "int32"},
            "node": {"type": "string"},
            "nodeSelector": {"type": "string"},
            "peerIP": {"type": "string"},
            "peerSelector": {"type": "string"},
            "keepOriginalNextHop": {"type": "boolean"},
            "nextHopMode": {"type": "string"},
            "maxRestartTime": {"type": "string"},
            "sourceAddress": {"type": "string"},
            "reachableBy": {"type": "string"},
            "ttlSecurity": {"type": "integer"},
            "numAllowedLocalASNumbers": {"type": "integer", "format": "int32"},
            "filters": {"type": "array", "items": {"type": "string"}},
            "password": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }


def render_bgppeer_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        # No patchForce: ACK lists *.crd.projectcalico.org as system resources. The stack declares
        # this CRD only where it is missing or already its own (declare/typha.py), and never takes
        # fields of another manager by force; its own fixed field manager needs none.
        "metadata": _metadata(
            BGPPEER_CRD_NAME, namespaced=False, force=False, **{PATCH_FIELD_MANAGER_ANNOTATION: CRD_FIELD_MANAGER}
        ),
        "spec": {
            "group": CALICO_CRD_GROUP,
            "scope": "Cluster",
            "names": {"kind": "BGPPeer", "listKind": "BGPPeerList", "plural": "bgppeers", "singular": "bgppeer"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": _bgppeer_spec_schema(),
                            },
                        }
                    },
                }
            ],
        },
    }


def render_typha(settings: StackSettings, replicas: Optional[int] = None, live_cap: Optional[int] = None) -> TyphaManifests:
    """`replicas` and `live_cap` from the live sizing (decide/sizing.TyphaSizing); without it, from nodeCount alone."""
    return TyphaManifests(
        service=render_service(),
        deployment=render_deployment(settings, replicas, live_cap),
        pdb=render_pdb(settings),
        crd=render_bgppeer_crd(),
    )
