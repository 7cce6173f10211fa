"""Readers of the plan's resources for the policy rules: what a declared resource is, and what it says.

Type tokens, the eni-config writers, the Typha Deployment and its container, env values, image
registries. Unknown preview values stay UNKNOWN (policies/model.py), so a rule skips exactly the check
that needs them.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator, Mapping, Optional, Sequence

from ..decide.facts import (
    DYNAMIC_TYPE_PREFIX,
    ENI_CONFIG_NAME,
    ENI_CONFIG_NAMESPACE,
    ENI_CONFIG_WRITER_KIND,
    TYPHA_APP_LABEL,
    TYPHA_SERVICE_NAME,
)
from .model import UNKNOWN, PlanResource, dig, known

SWITCH = "alicloud:vpc/switch:Switch"
SNAT_ENTRY = "alicloud:vpc/snatEntry:SnatEntry"
SERVICE = "kubernetes:core/v1:Service"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIGMAP_PATCH = "kubernetes:core/v1:ConfigMapPatch"
DAEMON_SET_TYPES = ("kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:DaemonSetPatch")
TYPHA_LABEL = (TYPHA_APP_LABEL, TYPHA_SERVICE_NAME)


def metadata(resource: PlanResource) -> tuple[Any, Any]:
    """(namespace, name) of a Kubernetes object; namespace None means the default namespace."""
    return dig(resource.props, "metadata", "namespace"), dig(resource.props, "metadata", "name")


def is_eni_config_writer(resource: PlanResource) -> bool:
    """The project's dynamic writer of eni-config keys (act/eni_config_writer.py)."""
    props = resource.props
    return (
        resource.type.startswith(DYNAMIC_TYPE_PREFIX)
        and props.get("kind") == ENI_CONFIG_WRITER_KIND
        and (props.get("namespace"), props.get("configMap")) == (ENI_CONFIG_NAMESPACE, ENI_CONFIG_NAME)
    )


def writes_eni_config(resource: PlanResource) -> bool:
    """Anything that writes keys of kube-system/eni-config: the project's writers, or a ConfigMapPatch
    (what earlier versions used, and what a hand-written program might)."""
    if is_eni_config_writer(resource):
        return True
    return resource.type == CONFIGMAP_PATCH and metadata(resource) == (ENI_CONFIG_NAMESPACE, ENI_CONFIG_NAME)


def is_typha_deployment(resource: PlanResource) -> bool:
    return resource.type == DEPLOYMENT and metadata(resource)[1] == TYPHA_SERVICE_NAME


def targets_typha(resource: PlanResource) -> bool:
    label = dig(resource.props, "spec", "selector", "matchLabels", TYPHA_LABEL[0])
    return metadata(resource)[1] == TYPHA_SERVICE_NAME or label == TYPHA_LABEL[1]


def typha_container(deployment: PlanResource) -> Mapping[str, Any]:
    containers = dig(deployment.props, "spec", "template", "spec", "containers")
    if not known(containers) or not containers:
        return {}
    for container in containers:
        if known(container) and isinstance(container, Mapping) and container.get("name") == TYPHA_SERVICE_NAME:
            return container
    first = containers[0]
    return first if known(first) and isinstance(first, Mapping) else {}


def env_value(container: Mapping[str, Any], name: str) -> Any:
    """The literal value of an env var; None when absent; UNKNOWN when unknown or from valueFrom."""
    env = container.get("env")
    if not known(env):
        return UNKNOWN
    for item in env or []:
        if not known(item) or not isinstance(item, Mapping):
            continue
        if item.get("name") == name:
            return item["value"] if "value" in item else UNKNOWN
    return None


_ACR_HOST = re.compile(r"(?:^|[.-])registry(?:-vpc)?(?:-intl)?\.(?P<region>[a-z]{2}(?:-[a-z0-9]+)+)\.(?:cr\.)?aliyuncs\.com$")


def registry_region(image: str) -> Optional[str]:
    """Region of an Alibaba Cloud Container Registry host; None for any other registry."""
    host = image.split("/", 1)[0] if "/" in image else ""
    match = _ACR_HOST.search(host)
    return match["region"] if match else None


def same_version(a: str, b: str) -> bool:
    return a.strip().lstrip("v") == b.strip().lstrip("v")


def ipv4_network(text: Any) -> Optional[ipaddress.IPv4Network]:
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.IPv4Network(text.strip(), strict=False)
    except ValueError:
        return None


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        if value and all(isinstance(item, str) for item in value):
            yield " ".join(value)  # a container command is an argv list
        for item in value:
            yield from strings_in(item)


def eni_config_writers(resources: Sequence[PlanResource]) -> list[PlanResource]:
    return [r for r in resources if writes_eni_config(r)]


def written_data(writer: PlanResource) -> Mapping[str, Any]:
    data = writer.props.get("data")
    return data if known(data) and isinstance(data, Mapping) else {}
