"""Read-only GETs of the live Typha objects, the relay key and the BGPPeer CRD (decide/typha_live.py).

Called by the program at preview and up before the Typha objects are declared. Errors never echo
the kubeconfig; an unreadable cluster gives an empty TyphaLive (the preflight gate then stops the run).
"""
from __future__ import annotations

from ..decide.facts import ENI_CONFIG_NAME, PREFLIGHT_USER_AGENT, RELAY_KEY
from ..decide.typha_live import TyphaLive
from .kube import KubeError, kube_client, read

TIMEOUT = 20


def read_typha_live(kubeconfig: str, namespace: str, service: str, crd: str) -> TyphaLive:
    from kubernetes.client import ApiextensionsV1Api, AppsV1Api, CoreV1Api, PolicyV1Api

    try:
        with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
            core = CoreV1Api(client)
            reads = {
                "Service": lambda: read(core.read_namespaced_service, service, namespace, _request_timeout=TIMEOUT),
                "Deployment": lambda: read(AppsV1Api(client).read_namespaced_deployment, service, namespace, _request_timeout=TIMEOUT),
                "PodDisruptionBudget": lambda: read(
                    PolicyV1Api(client).read_namespaced_pod_disruption_budget, service, namespace, _request_timeout=TIMEOUT
                ),
            }
            missing = tuple(kind for kind, read in reads.items() if read() is None)
            configmap = read(core.read_namespaced_config_map, ENI_CONFIG_NAME, namespace, _request_timeout=TIMEOUT) or {}
            definition = read(ApiextensionsV1Api(client).read_custom_resource_definition, crd, _request_timeout=TIMEOUT)
    except KubeError:
        return TyphaLive()
    managers = tuple(
        str(entry.get("manager") or "") for entry in ((definition or {}).get("metadata") or {}).get("managedFields") or []
    )
    return TyphaLive(
        missing=missing,
        relay=(configmap.get("data") or {}).get(RELAY_KEY),
        bgppeer_crd_managers=managers,
        bgppeer_crd_exists=definition is not None,
    )
