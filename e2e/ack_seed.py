"""The ACK starting state the Terway runbooks change, as the e2e control plane seeds it.

Everything here is data: fake nodes labelled like ACK nodes, and the kube-system objects an ACK
cluster ships with Terway (ServiceAccount ``terway``, ConfigMap ``eni-config``, DaemonSet
``terway-eniip``). ``seed_objects`` lists them in creation order and ``write_seed`` writes any such
list, whatever the kind (a CRD, RBAC, a custom object), through a discovery-based client.

To add to the seed: write a function returning the manifest, append a ``SeedObject`` for it in
``seed_objects`` (before whatever depends on it), and add a check to the e2e test that reads it.
Facts about Terway's own objects come from its chart and source, not from guesses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

REGION = "cn-shanghai"
ZONES = ("cn-shanghai-f", "cn-shanghai-g")
INSTANCE_TYPE = "ecs.g7.4xlarge"
# kwok's default stages act on nodes with this annotation: they become Ready, their pods Running.
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
# The field manager of the ACK add-on manager, the owner of the seeded objects.
ACK_ADDON_MANAGER = "ack-addon-manager"
TERWAY_DAEMONSET = "terway-eniip"
TERWAY_IMAGE = "registry-vpc.cn-shanghai.aliyuncs.com/acs/terway:v1.16.0"

#: The eni_conf document of a default ACK cluster (values are examples, types are what ACK writes).
#: Tests compare against this to prove unmanaged keys are kept byte-for-byte in meaning.
DEFAULT_ENI_CONF: dict[str, Any] = {
    "version": "1",
    "max_pool_size": 5,
    "min_pool_size": 0,
    "credential_path": "/var/addon/token-config",
    "vswitches": {"cn-shanghai-f": ["vsw-existing-f"], "cn-shanghai-g": ["vsw-existing-g"]},
    "eni_tags": {"ack.aliyun.com": "cxxx"},
    "service_cidr": "172.21.0.0/20",
    "security_group": "sg-xxx",
    "vswitch_selection_policy": "ordered",
    "ip_stack": "ipv4",
}

DEFAULT_CNI_CONF: dict[str, Any] = {
    "cniVersion": "0.4.0",
    "name": "terway",
    "type": "terway",
}


# --------------------------------------------------------------------------- nodes


def node_name(index: int) -> str:
    return f"kwok-node-{index}"


def node_manifest(index: int, zones: tuple[str, ...] = ZONES) -> dict:
    """Fake node ``index``, in ``zones`` round-robin, labelled like an ACK node."""
    name = node_name(index)
    resources = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/region": REGION,
                "topology.kubernetes.io/zone": zones[index % len(zones)],
                "node.kubernetes.io/instance-type": INSTANCE_TYPE,
            },
        },
        "spec": {"providerID": f"{REGION}.i-kwok{index:04d}"},
        "status": {"allocatable": resources, "capacity": resources},
    }


# --------------------------------------------------------------------------- kube-system objects


def terway_service_account() -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "terway", "namespace": "kube-system"}}


def _policy_env_from_eni_config(env_name: str, key: str) -> dict:
    """The policy container reads these eni-config keys as env at start, as Terway's chart wires them."""
    return {"name": env_name, "valueFrom": {"configMapKeyRef": {"name": "eni-config", "key": key, "optional": True}}}


def terway_daemonset_manifest() -> dict:
    labels = {"app": TERWAY_DAEMONSET}
    env = [{"name": "K8S_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    policy_env = env + [
        _policy_env_from_eni_config("DISABLE_POLICY", "disable_network_policy"),
        _policy_env_from_eni_config("FELIX_TYPHAK8SSERVICENAME", "felix_relay_service"),
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": TERWAY_DAEMONSET, "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "serviceAccountName": "terway",
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [{"operator": "Exists"}],
                    "initContainers": [{"name": "terway-init", "image": TERWAY_IMAGE, "command": ["/bin/init.sh"]}],
                    "containers": [
                        {"name": "terway", "image": TERWAY_IMAGE, "command": ["/usr/bin/terwayd"], "env": env},
                        {"name": "policy", "image": TERWAY_IMAGE, "command": ["/bin/policyinit.sh"], "env": policy_env},
                    ],
                    "volumes": [{"name": "configvolume", "configMap": {"name": "eni-config"}}],
                },
            },
        },
    }


def eni_config_manifest() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "eni-config", "namespace": "kube-system"},
        "data": {
            "eni_conf": json.dumps(DEFAULT_ENI_CONF, indent=2),
            "10-terway.conf": json.dumps(DEFAULT_CNI_CONF, indent=2),
            "disable_network_policy": "false",
            "in_cluster_loadbalance": "true",
        },
    }


# --------------------------------------------------------------------------- Terway's chart: RBAC and Calico CRDs
# From AliyunContainerService/terway, charts/terway (chart version 1.13.0, commit 89aadf8b):
# templates/terwayd/clusterrole.yaml, clusterrolebinding.yaml, and the Calico CRDs at the end of
# templates/terwayd/daemonset.yaml. Typha runs as `terway` and relies on exactly these.
TERWAY_CHART_VERSION = "1.13.0"
TERWAY_CLUSTER_ROLE = "terway-pod-reader"
# (kind, plural, scope) of the Calico CRDs the chart installs; their schemas keep only apiVersion.
TERWAY_CALICO_CRDS = (
    ("FelixConfiguration", "felixconfigurations", "Cluster"),
    ("BGPConfiguration", "bgpconfigurations", "Cluster"),
    ("IPPool", "ippools", "Cluster"),
    ("HostEndpoint", "hostendpoints", "Cluster"),
    ("ClusterInformation", "clusterinformations", "Cluster"),
    ("GlobalNetworkPolicy", "globalnetworkpolicies", "Cluster"),
    ("GlobalNetworkSet", "globalnetworksets", "Cluster"),
    ("NetworkPolicy", "networkpolicies", "Namespaced"),
)


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def terway_cluster_role(datapath_v2: bool = False) -> dict:
    """ClusterRole terway-pod-reader; with enableDatapathV2 the chart leaves serviceaccounts out."""
    core_read = ["pods", "nodes", "namespaces"] + ([] if datapath_v2 else ["serviceaccounts"]) + ["endpoints", "services"]
    read = ["get", "watch", "list"]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": TERWAY_CLUSTER_ROLE},
        "rules": [
            _rule([""], core_read, read),
            _rule([""], ["pods", "nodes", "nodes/status"], ["patch"]),
            _rule([""], ["events"], ["create", "patch"]),
            _rule(["discovery.k8s.io"], ["endpointslices"], ["get", "list", "watch"]),
            _rule(["networking.k8s.io"], ["networkpolicies"], ["get", "list", "watch"]),
            _rule(["extensions"], ["networkpolicies"], ["get", "list", "watch"]),
            _rule(["crd.projectcalico.org"], ["*"], ["*"]),
            _rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get", "list", "watch"]),
            _rule(["cilium.io"], ["*"], ["*"]),
            _rule(["network.alibabacloud.com"], ["podenis", "nodes", "noderuntimes"], ["get", "list", "watch"]),
            _rule(["network.alibabacloud.com"], ["nodes"], ["patch", "update"]),
            _rule(["network.alibabacloud.com"], ["noderuntimes", "noderuntimes/status"], ["create", "patch", "update"]),
        ],
    }


def terway_cluster_role_binding() -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "terway-binding"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": TERWAY_CLUSTER_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": "terway", "namespace": "kube-system"}],
    }


def calico_crd(kind: str, plural: str, scope: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.crd.projectcalico.org"},
        "spec": {
            "scope": scope,
            "group": "crd.projectcalico.org",
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"apiVersion": {"type": "string"}}}},
            }],
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
        },
    }


def terway_chart_objects(datapath_v2: bool = False) -> list["SeedObject"]:
    """Terway's RBAC for `terway` and its Calico CRDs, as the chart installs them."""
    crds = [SeedObject(calico_crd(*crd)) for crd in TERWAY_CALICO_CRDS]
    return [SeedObject(terway_cluster_role(datapath_v2)), SeedObject(terway_cluster_role_binding()), *crds]


# --------------------------------------------------------------------------- node addresses


def host_address() -> Optional[str]:
    """This host's first global IPv4 address: a node InternalIP where a local Typha process answers.

    The API server refuses loopback (and link-local) addresses in Endpoints, so loopback node IPs would
    leave the calico-typha Endpoints empty; the host's own address is the one non-loopback address that
    reaches a process on this host without changing its network. Every fake node gets it (kwok runs
    all of them here), so Felix's discovery lists it once per Typha pod. None when the host has none.
    """
    import socket

    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    candidates = [info[4][0] for info in infos]
    try:
        import subprocess

        shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True)
        candidates = [line.split()[3].split("/")[0] for line in shown.stdout.splitlines()] + candidates
    except OSError:
        pass
    return next((ip for ip in candidates if not ip.startswith(("127.", "169.254."))), None)


def node_addresses_patch(index: int, internal_ip: Optional[str]) -> dict:
    addresses = [{"type": "Hostname", "address": node_name(index)}]
    if internal_ip:
        addresses.insert(0, {"type": "InternalIP", "address": internal_ip})
    return {"status": {"addresses": addresses}}


# --------------------------------------------------------------------------- writing the seed


@dataclass(frozen=True)
class SeedObject:
    """One object of the seed, and how the add-on manager writes it: a plain create, or a server-side
    apply (which leaves the manager owning each field, as ACK's own apply does)."""

    manifest: dict
    server_side_apply: bool = False


def seed_objects(eni_config_mode: str = "apply") -> list[SeedObject]:
    """The kube-system starting state, in creation order. ``eni_config_mode``: "apply" (server-side
    apply) or "update" (plain create) for eni-config, so tests can seed either kind of ownership."""
    if eni_config_mode not in ("apply", "update"):
        raise ValueError("eni_config_mode must be 'apply' or 'update'")
    return [
        SeedObject(terway_service_account()),
        *terway_chart_objects(),
        SeedObject(eni_config_manifest(), server_side_apply=eni_config_mode == "apply"),
        SeedObject(terway_daemonset_manifest()),
    ]


def write_seed(api_client: Any, objects: list[SeedObject], discovery_cache: Path) -> None:
    """Write ``objects`` in order as ACK_ADDON_MANAGER, any kind the API server serves."""
    from kubernetes.dynamic import DynamicClient

    dynamic = DynamicClient(api_client, cache_file=str(discovery_cache))
    for obj in objects:
        api = dynamic.resources.get(api_version=obj.manifest["apiVersion"], kind=obj.manifest["kind"])
        namespace = obj.manifest["metadata"].get("namespace")
        if obj.server_side_apply:
            dynamic.server_side_apply(api, body=obj.manifest, namespace=namespace,
                                      field_manager=ACK_ADDON_MANAGER, force_conflicts=True)
        else:
            dynamic.create(api, body=obj.manifest, namespace=namespace, field_manager=ACK_ADDON_MANAGER)
