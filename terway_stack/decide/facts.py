"""The names and values every layer shares, each defined once.

Plain constants, no Pulumi import: decide, declare, act, the policy pack (policies/), the offline plan
(plan/) and outputs_contract.py all import them from here, so the code that writes a thing and the
code that checks or shows it cannot drift apart. Where a value comes from is said next to it.

Readers of live objects (a DaemonSet's update strategy, an image's tag, a ConfigMap's field
managers) are in decide/live_objects.py. docs/where-facts-live.md says where every other kind of
fact lives.
"""
from __future__ import annotations

from typing import Literal, get_args

# --------------------------------------------------------------------------- network-policy modes

# terway:networkPolicy. typha: Felix goes through Typha; disabled: policy off; direct: Felix watches
# the API server itself.
NetworkPolicyMode = Literal["typha", "disabled", "direct"]
NETWORK_POLICY_MODES: tuple[str, ...] = get_args(NetworkPolicyMode)
DEFAULT_NETWORK_POLICY_MODE = "typha"
# ACK: above this many nodes every Felix watching the API server directly overloads it. The advisory
# and the policy pack's default threshold.
DIRECT_MODE_NODE_LIMIT = 100

# --------------------------------------------------------------------------- kube-system/eni-config

KUBE_SYSTEM = "kube-system"
ENI_CONFIG_NAMESPACE = KUBE_SYSTEM
ENI_CONFIG_NAME = "eni-config"
ENI_CONFIG = f"{ENI_CONFIG_NAMESPACE}/{ENI_CONFIG_NAME}"  # how messages and key paths name it
# Top-level data keys (Terway's chart and daemon).
ENI_CONF_KEY = "eni_conf"  # a JSON document stored as one string
RELAY_KEY = "felix_relay_service"  # read by the policy container as env RELAY_ENV
DISABLE_POLICY_KEY = "disable_network_policy"
CNI_CONFIG_KEYS = ("10-terway.conf", "10-terway.conflist")
# Keys inside eni_conf.
VSWITCHES_KEY = "vswitches"  # zone -> list of vSwitch ids
MIN_POOL_SIZE_KEY = "min_pool_size"
SELECTION_POLICY_KEY = "vswitch_selection_policy"
# What the stack writes: the policy keys (one writer) and eni_conf (another); every other key is its owner's.
POLICY_KEYS = (RELAY_KEY, DISABLE_POLICY_KEY)
MANAGED_KEYS = (ENI_CONF_KEY, *POLICY_KEYS)
# Node label naming a per-node ConfigMap whose eni_conf is merge-patched over the base.
NODE_CONFIG_LABEL = "terway-config"

# --------------------------------------------------------------------------- Terway and Typha

# Terway's own CRDs (pkg/apis/network.alibabacloud.com): Node CRs (`nodes`) and PodNetworkings.
TERWAY_CRD_GROUP, TERWAY_CRD_VERSION = "network.alibabacloud.com", "v1beta1"

TERWAY_NAMESPACE = KUBE_SYSTEM
SHARED_ENI_DAEMON_SET = "terway-eniip"  # shared ENI: the mode with NetworkPolicy (Felix)
EXCLUSIVE_ENI_DAEMON_SET = "terway-eni"  # exclusive ENI before Terway v1.11: no NetworkPolicy
POLICY_CONTAINER = "policy"  # the Terway container that runs Felix
RELAY_ENV = "FELIX_TYPHAK8SSERVICENAME"  # Felix's env for the relay, from RELAY_KEY (chart v1.6.1 on)
TYPHA_SERVICE_NAME = "calico-typha"  # the runbook's name, and the value RELAY_KEY holds in mode typha
TYPHA_NAMESPACE = KUBE_SYSTEM  # Felix looks for Typha in kube-system only
# On the Typha Deployment when its replicas were held below the nodeCount-based minimum because the live
# cluster has fewer Linux nodes (decide/sizing.TyphaSizing.live_cap): the policy's minimum reads it.
TYPHA_LIVE_NODES_ANNOTATION = "terway-stack/live-linux-nodes"
TYPHA_APP_LABEL = "k8s-app"  # the runbook's label key; its value is TYPHA_SERVICE_NAME
# Seconds Typha spends shedding its Felix connections after SIGTERM (Typha v3.25 and later only).
TYPHA_SHUTDOWN_ENV = "TYPHA_SHUTDOWNTIMEOUTSECS"
# PodDisruptionBudget: policy/v1 is served from Kubernetes 1.21, policy/v1beta1 is gone from 1.25.
PDB_V1_FIRST_MINOR = 21
PDB_V1BETA1_GONE_MINOR = 25
# ACK's virtual-kubelet (ECI) nodes carry this label; they run no Terway, and Typha must keep off them.
VIRTUAL_KUBELET_LABEL = ("type", "virtual-kubelet")

# --------------------------------------------------------------------------- configuration defaults

# The Felix inside Terway's policy image (v1.5 to v1.17) is v3.24.5; Typha should be the same minor. The
# runbook's v3.20.2 never syncs on Kubernetes >= 1.25 (decide/typha_compat.py). e2e/build-engine.sh
# builds this very version, and the e2e suite runs it.
DEFAULT_TYPHA_VERSION = "v3.24.5"
DEFAULT_DAEMON_SETS = (SHARED_ENI_DAEMON_SET,)
DEFAULT_RESTART_TIMEOUT_SECONDS = 900
# Stands in for the id of a vSwitch this run would create: never equal to a real id, readable in messages.
PENDING_ID = "<new vSwitch, id known after apply>"

# Tags the stack puts on every vSwitch it creates (Alibaba Cloud allows 20 per resource).
MANAGED_BY_TAG = ("managed-by", "terway-stack")
CLUSTER_TAG_KEY = "terway-stack/cluster"  # value: terway:cluster.name
STACK_TAG_KEYS = (MANAGED_BY_TAG[0], CLUSTER_TAG_KEY)

# --------------------------------------------------------------------------- dynamic resources (act/)

# The engine types a dynamic resource pulumi-python:dynamic:Resource or, with a type name,
# pulumi-python:dynamic/<module>:<Name>; the pickled provider travels as input DYNAMIC_PROVIDER_KEY.
DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
DYNAMIC_PROVIDER_KEY = "__provider"
# Each resource carries its `kind` as an input, so the policy pack and the plan can tell them apart.
ROLLOUT_KIND = "terway-rollout-restart"  # act/terway_rollout.py
ROLLOUT_METHOD = "rollout-restart"  # the only restart method it has: kubectl rollout restart
ENI_CONFIG_WRITER_KIND = "terway-eni-config-writer"  # act/eni_config_writer.py, both writers
ENI_CONF_ROLE = "eni_conf"  # the writer's `role` input
POLICY_KEYS_ROLE = "policy-keys"
PREFLIGHT_KIND = "terway-preflight"  # act/preflight.py
POD_NETWORKING_WRITER_KIND = "terway-pod-networking-writer"  # act/pod_networking_writer.py

# --------------------------------------------------------------------------- field managers and user agents

ROLLOUT_FIELD_MANAGER = "terway-stack-rollout"
# Fixed, and different from the ConfigMapPatch managers of earlier versions
# (terway-stack-eni-config-vswitches / -network-policy): on upgrade the engine deletes those patches
# after these writers have applied, and a key co-owned by these managers survives that release.
ENI_CONF_MANAGER = "terway-stack-eni-conf"
POLICY_MANAGER = "terway-stack-policy-keys"
# The earlier version's policy patch: a key it holds is taken over (held) by the writer at once, or
# that patch's release on upgrade would remove a key only it owned.
LEGACY_POLICY_MANAGER = "terway-stack-eni-config-network-policy"
# Sent on every request, so the audit log tells our requests from the controllers' and the
# Kubernetes provider's.
ROLLOUT_USER_AGENT = "terway-stack-rollout/1"
ENI_CONFIG_WRITER_USER_AGENT = "terway-stack-eni-config/1"
PREFLIGHT_USER_AGENT = "terway-stack-preflight/1"  # read-only: the preflight gate and the node reader
POD_NETWORKING_WRITER_USER_AGENT = "terway-stack-pod-networkings/1"

# --------------------------------------------------------------------------- exit codes

# `python -m terway_stack plan` and the PR check's plan-all: 3 is a crash, never a verdict.
EXIT_OK, EXIT_VIOLATION, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
