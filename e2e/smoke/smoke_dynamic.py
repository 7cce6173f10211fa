"""A dynamic provider in an importable module (pickled by reference, as the real stack does).

SmokeConfigMap creates, updates and deletes one ConfigMap with the kubernetes Python
client (server-side apply, field manager "e2e-smoke-dynamic"). Clients are built inside
the methods, never stored on self (self is pickled into the state).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

FIELD_MANAGER = "e2e-smoke-dynamic"


def _core(kubeconfig: str):
    import yaml
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config_dict(yaml.safe_load(kubeconfig)))


def _apply(props: dict[str, Any]) -> str:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": props["configmap"], "namespace": props["namespace"]},
        "data": dict(props.get("data") or {}),
    }
    core = _core(props["kubeconfig"])
    try:
        live = core.patch_namespaced_config_map(
            props["configmap"], props["namespace"], body, field_manager=FIELD_MANAGER, force=True,
            _content_type="application/apply-patch+yaml",
        )
        return live.metadata.uid
    finally:
        core.api_client.close()


class SmokeConfigMapProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        uid = _apply(props)
        return CreateResult(id_=f"{props['namespace']}/{props['configmap']}", outs={**props, "uid": uid})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("namespace", "configmap") if olds.get(k) != news.get(k)]
        changes = bool(replaces) or olds.get("data") != news.get("data")
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, "uid": _apply(news)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        core = _core(props["kubeconfig"])
        try:
            core.delete_namespaced_config_map(props["configmap"], props["namespace"])
        except ApiException as err:
            if err.status != 404:
                raise
        finally:
            core.api_client.close()


class SmokeConfigMap(Resource):
    uid: pulumi.Output[str]

    def __init__(self, resource_name: str, kubeconfig, namespace, configmap, data, opts=None) -> None:
        super().__init__(
            SmokeConfigMapProvider(),
            resource_name,
            {"kubeconfig": kubeconfig, "namespace": namespace, "configmap": configmap, "data": data, "uid": None},
            opts,
        )
