"""Read-only GETs of the live Typha objects, the relay key and the BGPPeer CRD (decide/typha_live.py).

Called by the program at preview and up before the Typha objects are declared. Errors never echo
the kubeconfig; an unreadable cluster gives an empty TyphaLive (the preflight gate then stops the run).
"""
from __future__ import annotations

from typing import Any

from ..decide.facts import ENI_CONFIG_NAME, PREFLIGHT_USER_AGENT, RELAY_KEY
from ..decide.typha_live import RECREATED_ANNOTATION, TyphaLive
from .kube import KubeError, configmap_path, deployment_path, kube_client, read

TIMEOUT = 20


def read_typha_live(kubeconfig: str, namespace: str, service: str, crd: str,
                    pdb_api_version: str = "policy/v1") -> TyphaLive:
    try:
        with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
            return typha_live(client, namespace, service, crd, pdb_api_version)
    except KubeError:
        return TyphaLive()


def typha_live(client: Any, namespace: str, service: str, crd: str, pdb_api_version: str = "policy/v1") -> TyphaLive:
    """read_typha_live over an open client; KubeError when a read fails. The PodDisruptionBudget is read
    at the API version the stack declares it (policy/v1beta1 below 1.21, where policy/v1 is a 404 that
    would count a present PDB as missing and replace it every run)."""
    objects = {
        "Service": f"/api/v1/namespaces/{namespace}/services/{service}",
        "Deployment": deployment_path(namespace, service),
        "PodDisruptionBudget": f"/apis/{pdb_api_version}/namespaces/{namespace}/poddisruptionbudgets/{service}",
    }
    live = {kind: read(client, path, what=f"reading {kind} {namespace}/{service}", timeout=TIMEOUT)
            for kind, path in objects.items()}
    configmap = read(client, configmap_path(namespace, ENI_CONFIG_NAME),
                     what=f"reading ConfigMap {namespace}/{ENI_CONFIG_NAME}", timeout=TIMEOUT) or {}
    definition = read(client, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}",
                      what=f"reading CRD {crd}", timeout=TIMEOUT)
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
