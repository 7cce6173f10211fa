"""Identities other than the admin, for e2e tests that need the API server to refuse something:
a TokenRequest token for a ServiceAccount, and a ServiceAccount with only the rights a test gives it,
as a kubeconfig a provider or the CLI can be handed."""
from __future__ import annotations

from typing import Any

import yaml


def token_for(core: Any, namespace: str, service_account: str, seconds: int = 3600) -> str:
    """A TokenRequest token, as the kubelet projects into the pod."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}}
    return core.create_namespaced_service_account_token(service_account, namespace, body).status.token


def restricted_kubeconfig(cp: Any, admin_kubeconfig: str, namespace: str, name: str, rules: list[dict],
                          seconds: int = 3600) -> tuple[str, str, str]:
    """A ServiceAccount `namespace/name` bound cluster-wide to a ClusterRole `name` holding `rules`, and
    the admin kubeconfig with its user's credentials replaced by a token of that ServiceAccount.

    Returns (kubeconfig text, the user name the audit log shows, the token)."""
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(cp.api_client())
    cp.core().create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
    rbac.create_cluster_role_binding({"metadata": {"name": name},
                                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                                      "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]})
    token = token_for(cp.core(), namespace, name, seconds)
    config = yaml.safe_load(admin_kubeconfig)
    config["users"] = [{"name": config["users"][0]["name"], "user": {"token": token}}]
    return yaml.safe_dump(config), f"system:serviceaccount:{namespace}:{name}", token
