"""Read-only GETs of the live Typha objects, the relay key and the BGPPeer CRD (decide/typha_live.py).

Called by the program at preview and up before the Typha objects are declared. Errors never echo
the kubeconfig; an unreadable cluster gives an empty TyphaLive (the preflight gate then stops the run).
"""
from __future__ import annotations

from ..decide.facts import ENI_CONFIG_NAME, PREFLIGHT_USER_AGENT, RELAY_KEY
from ..decide.typha_live import RECREATED_ANNOTATION, TyphaLive
from .kube import KubeError, configmap_path, deployment_path, kube_client, read

TIMEOUT = 20


def read_typha_live(kubeconfig: str, namespace: str, service: str, crd: str) -> TyphaLive:
    objects = {
        "Service": f"/api/v1/namespaces/{namespace}/services/{service}",
        "Deployment": deployment_path(namespace, service),
        "PodDisruptionBudget": f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/{service}",
    }
    try:
        with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
            live = {kind: read(client, path, what=f"reading {kind} {namespace}/{service}", timeout=TIMEOUT)
                    for kind, path in objects.items()}
            configmap = read(client, configmap_path(namespace, ENI_CONFIG_NAME),
                             what=f"reading ConfigMap {namespace}/{ENI_CONFIG_NAME}", timeout=TIMEOUT) or {}
            definition = read(client, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}",
                              what=f"reading CRD {crd}", timeout=TIMEOUT)
    except KubeError:
        return TyphaLive()
    managers = tuple(
        str(entry.get("manager") or "") for entry in ((definition or {}).get("metadata") or {}).get("managedFields") or []
    )
    return TyphaLive(
        missing=tuple(kind for kind, obj in live.items() if obj is None),
        recreated_at=_recreated_at(live),
        relay=(configmap.get("data") or {}).get(RELAY_KEY),
        bgppeer_crd_managers=managers,
        bgppeer_crd_exists=definition is not None,
    )


def _recreated_at(live: dict) -> dict[str, str]:
    values = {kind: ((obj.get("metadata") or {}).get("annotations") or {}).get(RECREATED_ANNOTATION)
              for kind, obj in live.items() if obj is not None}
    return {kind: value for kind, value in values.items() if isinstance(value, str)}
