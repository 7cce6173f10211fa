"""The Typha objects the stack must render, spelled out field by field, and the settings they are
rendered from: shared by the pure render tests (tests/decide) and the mock-runtime tests (tests/declare)."""
from __future__ import annotations

from terway_stack.decide.settings import parse_settings

LABELS = {"k8s-app": "calico-typha"}
FORCE = {"pulumi.com/patchForce": "true"}


def settings_for(node_count=1200, kubernetes="1.30", mode="typha", region="cn-shanghai", **typha):
    """Settings as the stack reads them; `typha` holds terway:typha keys (version, image, replicas, metrics)."""
    raw = {
        "cluster": {"name": "prod-shanghai", "kubernetesVersion": kubernetes, "nodeCount": node_count},
        "networkPolicy": mode,
        "alicloud:region": region,
    }
    if typha:
        raw["typha"] = typha
    return parse_settings(raw)


def prod_settings():
    return settings_for()


def small_settings():
    # A small, older cluster with everything optional switched on.
    return settings_for(
        node_count=10, kubernetes="v1.20.11-aliyun.1", region="cn-hangzhou", version="v3.26.1", metrics=True
    )


# --- expected objects, spelled out field by field -------------------------------------------------


def expected_service():
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "calico-typha", "namespace": "kube-system", "labels": LABELS, "annotations": FORCE},
        "spec": {
            "ports": [{"name": "calico-typha", "port": 5473, "protocol": "TCP", "targetPort": "calico-typha"}],
            "selector": LABELS,
        },
    }


def expected_env(metrics, graceful=False):
    env = [
        {"name": "TYPHA_LOGSEVERITYSCREEN", "value": "info"},
        {"name": "TYPHA_LOGFILEPATH", "value": "none"},
        {"name": "TYPHA_LOGSEVERITYSYS", "value": "none"},
        {"name": "TYPHA_CONNECTIONREBALANCINGMODE", "value": "kubernetes"},
        {"name": "TYPHA_DATASTORETYPE", "value": "kubernetes"},
        {"name": "TYPHA_HEALTHENABLED", "value": "true"},
    ]
    if graceful:  # v3.25+ only: older Typhas do not know it and exit at once on SIGTERM
        env.append({"name": "TYPHA_SHUTDOWNTIMEOUTSECS", "value": "300"})
    if metrics:
        env += [
            {"name": "TYPHA_PROMETHEUSMETRICSENABLED", "value": "true"},
            {"name": "TYPHA_PROMETHEUSMETRICSPORT", "value": "9093"},
        ]
    return env


def expected_deployment(replicas, image, await_seconds, metrics, graceful=False):
    ports = [{"name": "calico-typha", "containerPort": 5473, "hostPort": 5473, "protocol": "TCP"}]
    pod_annotations = {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}
    if metrics:
        ports.append({"name": "metrics", "containerPort": 9093, "hostPort": 9093, "protocol": "TCP"})
        pod_annotations.update({"prometheus.io/scrape": "true", "prometheus.io/port": "9093"})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "calico-typha",
            "namespace": "kube-system",
            "labels": LABELS,
            "annotations": {**FORCE, "pulumi.com/timeoutSeconds": str(await_seconds)},
        },
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": LABELS},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "template": {
                "metadata": {"labels": LABELS, "annotations": pod_annotations},
                "spec": {
                    "hostNetwork": True,
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [{"operator": "Exists"}],
                    "serviceAccountName": "terway",
                    "priorityClassName": "system-cluster-critical",
                    "terminationGracePeriodSeconds": 300 if graceful else 30,
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {"matchExpressions": [{"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]}]}
                                ]
                            }
                        },
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {
                                            "matchExpressions": [
                                                {"key": "k8s-app", "operator": "In", "values": ["calico-typha"]}
                                            ]
                                        },
                                        "topologyKey": "topology.kubernetes.io/zone",
                                    },
                                }
                            ]
                        },
                    },
                    "securityContext": {"fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "calico-typha",
                            "image": image,
                            "ports": ports,
                            "env": expected_env(metrics, graceful),
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                            "livenessProbe": {
                                "httpGet": {"host": "localhost", "path": "/liveness", "port": 9098},
                                "periodSeconds": 30,
                                "timeoutSeconds": 10,
                                "initialDelaySeconds": 30,
                            },
                            "readinessProbe": {
                                "httpGet": {"host": "localhost", "path": "/readiness", "port": 9098},
                                "periodSeconds": 10,
                                "timeoutSeconds": 10,
                            },
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": 999,
                                "runAsGroup": 999,
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def expected_pdb(api_version):
    return {
        "apiVersion": api_version,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "calico-typha", "namespace": "kube-system", "labels": LABELS, "annotations": FORCE},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": LABELS}},
    }


def expected_crd():
    string = {"type": "string"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "bgppeers.crd.projectcalico.org", "labels": LABELS,
            "annotations": {"pulumi.com/patchFieldManager": "terway-stack-typha"},
        },
        "spec": {
            "group": "crd.projectcalico.org",
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
                                "apiVersion": string,
                                "kind": string,
                                "metadata": {"type": "object"},
                                "spec": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                    "properties": {
                                        "asNumber": {"type": "integer", "format": "int32"},
                                        "node": string,
                                        "nodeSelector": string,
                                        "peerIP": string,
                                        "peerSelector": string,
                                        "keepOriginalNextHop": {"type": "boolean"},
                                        "nextHopMode": string,
                                        "maxRestartTime": string,
                                        "sourceAddress": string,
                                        "reachableBy": string,
                                        "ttlSecurity": {"type": "integer"},
                                        "numAllowedLocalASNumbers": {"type": "integer", "format": "int32"},
                                        "filters": {"type": "array", "items": string},
                                        "password": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }
