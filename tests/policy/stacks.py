"""A compliant prod-like stack as plain data, ways to break it, and engine-shaped CrossGuard args.

Props use the engine's camelCase names. `engine_props` sends them through the same path the engine
uses (protobuf Struct -> MessageToDict -> deserialize_properties -> unknown-checking proxy), so numbers
arrive as floats and unknown preview values as pulumi_policy's sentinels.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable, Iterable, Mapping, Optional

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from terway_stack.policies import UNKNOWN, PlanResource, PolicyContext

TYPHA_IMAGE = "registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.24.5"
TYPHA_V325_IMAGE = "quay.io/calico/typha:v3.25.2"  # the first minor with TYPHA_SHUTDOWNTIMEOUTSECS
SWITCH_F = "pod-vsw-cn-shanghai-f"
SWITCH_G = "pod-vsw-cn-shanghai-g"
ENI_CONF_PATCH = "eni-config-eni-conf"
POLICY_PATCH = "eni-config-policy-keys"
RESTART = "terway-restart-terway-eniip"

PROD = PolicyContext(
    node_count=1200,
    kubernetes_version="1.30",
    region="cn-shanghai",
    typha_version="v3.24.5",
    felix_version="v3.24.5",
    vpc_cidr="10.0.0.0/8",
    snat_configured=True,
    network_policy_mode="typha",
)


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "kube-system", **extra}


def _switch(name: str, zone: str, cidr: str, vsw_id: str) -> PlanResource:
    props = {"cidrBlock": cidr, "vpcId": "vpc-uf6prod", "zoneId": zone, "vswitchName": name, "tags": {"team": "net"}}
    return PlanResource("alicloud:vpc/switch:Switch", name, props, id=vsw_id)


def snat_entry(name: str, switch: Optional[str], vsw_id: Any) -> PlanResource:
    """switch: the declared vSwitch the id comes from; None for an adopted vSwitch's literal id."""
    props = {"snatTableId": "stb-uf6prod", "sourceVswitchId": vsw_id, "snatIp": "47.100.1.2,47.100.1.3"}
    deps = {"sourceVswitchId": [switch]} if switch else {}
    return PlanResource("alicloud:vpc/snatEntry:SnatEntry", name, props, property_dependencies=deps)


def typha_deployment(replicas: Any = 6, grace: Any = 30, timeout: Any = None, image: Any = TYPHA_IMAGE,
                     live_nodes: Any = None) -> PlanResource:
    env = [
        {"name": "TYPHA_LOGSEVERITYSCREEN", "value": "info"},
        {"name": "TYPHA_DATASTORETYPE", "value": "kubernetes"},
    ]
    if timeout is not None:
        env.append({"name": "TYPHA_SHUTDOWNTIMEOUTSECS", "value": timeout})
    props = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta("calico-typha", labels={"k8s-app": "calico-typha"},
                          **({"annotations": {"terway-stack/live-linux-nodes": live_nodes}} if live_nodes is not None else {})),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"k8s-app": "calico-typha"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"k8s-app": "calico-typha"}},
                "spec": {
                    "hostNetwork": True,
                    "serviceAccountName": "terway",
                    "terminationGracePeriodSeconds": grace,
                    "containers": [{"name": "calico-typha", "image": image, "env": env}],
                },
            },
        },
    }
    return PlanResource("kubernetes:apps/v1:Deployment", "calico-typha", props)


def typha_pdb(api: str = "v1", max_unavailable: Any = 1) -> PlanResource:
    props = {
        "apiVersion": f"policy/{api}",
        "kind": "PodDisruptionBudget",
        "metadata": _meta("calico-typha"),
        "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": {"k8s-app": "calico-typha"}}},
    }
    return PlanResource(f"kubernetes:policy/{api}:PodDisruptionBudget", "calico-typha", props)


def eni_config_patch(name: str, data: Mapping[str, Any], retain: Optional[bool]) -> PlanResource:
    """One of the project's eni-config writers (act/eni_config_writer.py), as the engine shows it."""
    policy = "eni_conf" not in data
    props = {
        "kind": "terway-eni-config-writer",
        "role": "policy-keys" if policy else "eni_conf",
        "namespace": "kube-system",
        "configMap": "eni-config",
        "fieldManager": "terway-stack-policy-keys" if policy else "terway-stack-eni-conf",
        "data": dict(data),
    }
    if policy:
        props["networkPolicyMode"] = "typha"
    options = {} if retain is None else {"retainOnDelete": retain}
    kind = "PolicyKeysWriter" if policy else "EniConfWriter"
    return PlanResource(f"pulumi-python:dynamic/terway_stack:{kind}", name, props, options=options)


def configmap_patch(name: str, data: Mapping[str, Any], retain: Optional[bool]) -> PlanResource:
    """A pulumi-kubernetes ConfigMapPatch of eni-config (earlier versions wrote it so; the rules still see it)."""
    props = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("eni-config", annotations={"pulumi.com/patchFieldManager": "terway-stack"}),
        "data": dict(data),
    }
    options = {} if retain is None else {"retainOnDelete": retain}
    return PlanResource("kubernetes:core/v1:ConfigMapPatch", name, props, options=options)


def restart(method: str = "rollout-restart", daemon_set: str = "terway-eniip") -> PlanResource:
    props = {
        "kind": "terway-rollout-restart",
        "restartMethod": method,
        "daemonSet": daemon_set,
        "namespace": "kube-system",
        "trigger": "6f1c0d",
        "restartOn": "effective eni-config change",
    }
    return PlanResource("pulumi-python:dynamic:Resource", RESTART, props, options={"dependsOn": [POLICY_PATCH]})


ENI_CONF = json.dumps({"version": "1", "vswitches": {"cn-shanghai-f": ["vsw-old", "vsw-plana"]}})


def compliant_stack() -> list[PlanResource]:
    service = {
        "metadata": _meta("calico-typha"),
        "spec": {"ports": [{"name": "calico-typha", "port": 5473}], "selector": {"k8s-app": "calico-typha"}},
    }
    crd = {"metadata": {"name": "bgppeers.crd.projectcalico.org"}, "spec": {"group": "crd.projectcalico.org"}}
    return [
        _switch(SWITCH_F, "cn-shanghai-f", "10.0.32.0/19", "vsw-plana"),
        _switch(SWITCH_G, "cn-shanghai-g", "10.0.64.0/19", "vsw-planb"),
        snat_entry("snat-cn-shanghai-f", SWITCH_F, "vsw-plana"),
        snat_entry("snat-cn-shanghai-g", SWITCH_G, "vsw-planb"),
        PlanResource("kubernetes:core/v1:Service", "calico-typha", service),
        typha_deployment(),
        typha_pdb(),
        PlanResource("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "bgppeers", crd),
        eni_config_patch(ENI_CONF_PATCH, {"eni_conf": ENI_CONF}, retain=True),
        eni_config_patch(POLICY_PATCH, {"felix_relay_service": "calico-typha", "disable_network_policy": "false"}, retain=False),
        restart(),
    ]


# --- ways to break it --------------------------------------------------------------------------

Stack = list[PlanResource]


def without(*names_or_types: str) -> Callable[[Stack], Stack]:
    return lambda stack: [r for r in stack if r.name not in names_or_types and r.type not in names_or_types]


def replacing(name: str, new: PlanResource, type_: Optional[str] = None) -> Callable[[Stack], Stack]:
    def apply(stack: Stack) -> Stack:
        return [new if r.name == name and (type_ is None or r.type == type_) else r for r in stack]

    return apply


def adding(*extra: PlanResource) -> Callable[[Stack], Stack]:
    return lambda stack: [*stack, *extra]


def setting(name: str, path: tuple, value: Any, type_: Optional[str] = None) -> Callable[[Stack], Stack]:
    """Set props[path] of the named resource, on a deep copy."""

    def apply(stack: Stack) -> Stack:
        result = []
        for r in stack:
            if r.name == name and (type_ is None or r.type == type_):
                props = copy.deepcopy(dict(r.props))
                target = props
                for step in path[:-1]:
                    target = target[step]
                target[path[-1]] = value
                r = PlanResource(r.type, r.name, props, r.options, r.id, r.urn, r.property_dependencies)
            result.append(r)
        return result

    return apply


def chain(*steps: Callable[[Stack], Stack]) -> Callable[[Stack], Stack]:
    def apply(stack: Stack) -> Stack:
        for step in steps:
            stack = step(stack)
        return stack

    return apply


# --- engine-shaped CrossGuard arguments ----------------------------------------------------------

def _sentinels(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {k: _sentinels(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sentinels(v) for v in value]
    return value


def _wire(value: Mapping[str, Any]) -> dict[str, Any]:
    struct = struct_pb2.Struct()
    struct.update(_sentinels(value))
    return json_format.MessageToDict(struct)


def engine_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(deserialize_properties(_wire(props)))


def engine_config(config: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    """Policy config as the pack receives it: JSON numbers become floats."""
    return _wire(config) if config else None


def engine_options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def urn(resource: PlanResource) -> str:
    return f"urn:pulumi:prod::terway::{resource.type}::{resource.name}"


def resource_args(resource: PlanResource, config: Optional[Mapping[str, Any]] = None) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource.type, engine_props(resource.props), urn(resource), resource.name, engine_options(), None,
        engine_config(config),
    )


def stack_args(resources: Iterable[PlanResource], config: Optional[Mapping[str, Any]] = None) -> StackValidationArgs:
    resources = list(resources)
    policy_resources = {
        r.name + r.type: PolicyResource(r.type, engine_props(r.props), urn(r), r.name, engine_options(), None, None, [], {})
        for r in resources
    }
    by_name = {r.name: policy_resources[r.name + r.type] for r in resources}
    for r in resources:
        target = policy_resources[r.name + r.type]
        for prop, names in r.property_dependencies.items():
            target.property_dependencies[prop] = [by_name[n] for n in names]
            target.dependencies.extend(by_name[n] for n in names)
    return StackValidationArgs(list(policy_resources.values()), engine_config(config))


def run_pack_policy(policy, resources: Iterable[PlanResource], config: Optional[Mapping[str, Any]] = None):
    """Run a CrossGuard policy the way the engine does; returns (violations [(message, urn)], not_applicable)."""
    violations: list[tuple[str, Optional[str]]] = []
    not_applicable: list[str] = []

    def report(message: str, urn_: Optional[str] = None) -> None:
        violations.append((message, urn_))

    if isinstance(policy, ResourceValidationPolicy):
        for resource in resources:
            args = resource_args(resource, config)
            try:
                policy.validate(args, lambda m, _u=None, _urn=args.urn: report(m, _urn))
            except _NotApplicableError as err:
                not_applicable.append(err.reason or "")
    else:
        policy.validate(stack_args(resources, config), report)
    return violations, not_applicable
