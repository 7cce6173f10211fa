"""A dynamic provider in an importable module (pickled by reference, as the real stack does).

It reads the ConfigMap created by the kubernetes provider with the kubernetes
Python client and records its uid, which proves that the dynamic-provider
plugin (pulumi-resource-pulumi-python -> python -m pulumi.dynamic) runs with
the virtualenv's packages and can reach the local cluster.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


def _read_uid(kubeconfig: str, namespace: str, name: str) -> str:
    # Clients are built inside the method, never stored on self (self is pickled).
    import yaml
    from kubernetes import client, config

    api = config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
    try:
        return client.CoreV1Api(api).read_namespaced_config_map(name, namespace).metadata.uid
    finally:
        api.close()


class ConfigMapProbeProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        uid = _read_uid(props["kubeconfig"], props["namespace"], props["name"])
        return CreateResult(id_=f"{props['namespace']}/{props['name']}", outs={**props, "uid": uid})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("namespace", "name")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, "uid": _read_uid(news["kubeconfig"], news["namespace"], news["name"])})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class ConfigMapProbe(Resource):
    uid: pulumi.Output[str]

    def __init__(self, resource_name: str, kubeconfig, namespace, configmap, opts=None) -> None:
        super().__init__(
            ConfigMapProbeProvider(),
            resource_name,
            {"kubeconfig": kubeconfig, "namespace": namespace, "name": configmap, "uid": None},
            opts,
        )
