"""The policy checks, as pure functions over plain data: no Pulumi runtime, no I/O.

A resource check takes one PlanResource and yields messages; a stack check takes them all and yields
Findings. rules.py gives each its name, enforcement and description (one table for both engines).
"""
from __future__ import annotations

import re
from typing import Iterator, Mapping, Optional, Sequence

from ..decide.facts import (
    DISABLE_POLICY_KEY,
    DYNAMIC_TYPE_PREFIX,
    ENI_CONF_KEY,
    MANAGED_KEYS,
    PDB_V1_FIRST_MINOR,
    PDB_V1BETA1_GONE_MINOR,
    RELAY_KEY,
    ROLLOUT_KIND,
    ROLLOUT_METHOD,
    TYPHA_LIVE_NODES_ANNOTATION,
    TYPHA_NAMESPACE,
    TYPHA_SHUTDOWN_ENV,
)
from ..decide.live_objects import image_tag
from ..decide.policy_keys import policy_enabled
from ..decide.config_types import POD_VSWITCH_MAX_PREFIX, POD_VSWITCH_MIN_PREFIX, kubernetes_minor
from ..decide.sizing import TYPHA_MAX_REPLICAS, typha_replica_ceiling, typha_replicas
from ..decide.typha_compat import GRACEFUL_SHUTDOWN_FROM, minor, minor_gap
from .context import PolicyContext
from .model import UNKNOWN, Finding, PlanResource, as_number, dig, known, show
from .plan_readers import (
    DAEMON_SET_TYPES,
    SERVICE,
    SNAT_ENTRY,
    SWITCH,
    eni_config_writers,
    env_value,
    ipv4_network,
    is_eni_config_writer,
    is_typha_deployment,
    metadata,
    registry_region,
    same_version,
    strings_in,
    targets_typha,
    typha_container,
    writes_eni_config,
    written_data,
)

# PDB type -> (apiVersion, first minor that serves it, first minor that no longer does)
PDB_TYPES: dict[str, tuple[str, Optional[int], Optional[int]]] = {
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy/v1", PDB_V1_FIRST_MINOR, None),
    "kubernetes:policy/v1beta1:PodDisruptionBudget": ("policy/v1beta1", None, PDB_V1BETA1_GONE_MINOR),
}
# Objects whose props can carry a shell command or a container command line.
COMMAND_TYPE_PREFIXES = ("command:",)
WORKLOAD_TYPES = ("kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod")
TYPHA_DEFAULT_SHUTDOWN_SECONDS = 300  # Typha's own default when the env var is absent
KUBERNETES_DEFAULT_GRACE_SECONDS = 30


# --- pod vSwitches ---------------------------------------------------------------------------

def check_pod_vswitch_cidr(resource: PlanResource, context: PolicyContext) -> Iterator[str]:
    if resource.type != SWITCH:
        return
    cidr = resource.props.get("cidrBlock")
    if not known(cidr) or cidr is None:
        return
    network = ipv4_network(cidr)
    if network is None:
        yield f"cidrBlock {cidr!r} is not an IPv4 CIDR"
        return
    if network.prefixlen > POD_VSWITCH_MAX_PREFIX:
        yield (
            f"{cidr} is a /{network.prefixlen}; a pod vSwitch needs /{POD_VSWITCH_MAX_PREFIX} or shorter "
            f"({2 ** (32 - POD_VSWITCH_MAX_PREFIX)} addresses) or the zone runs out of pod IPs again soon"
        )
    elif network.prefixlen < POD_VSWITCH_MIN_PREFIX:
        yield f"{cidr} is a /{network.prefixlen}; Alibaba Cloud vSwitches are /{POD_VSWITCH_MIN_PREFIX} to /29"
    vpc = ipv4_network(context.vpc_cidr)
    if vpc is not None and not network.subnet_of(vpc):
        yield f"{cidr} is not inside the VPC CIDR {vpc}; the cloud rejects the vSwitch"


def _snat_targets(entry: PlanResource, switches: Sequence[PlanResource]) -> list[str]:
    """Keys of what a SNAT entry covers: a declared vSwitch's name, or a literal vSwitch id."""
    names = {s.name for s in switches}
    linked = sorted({d for d in entry.property_dependencies.get("sourceVswitchId", ()) if d in names})
    if linked:
        return linked
    source = entry.props.get("sourceVswitchId")
    if not known(source) or not isinstance(source, str) or not source:
        return []
    by_id = [s.name for s in switches if s.id and s.id == source]
    return by_id or [f"id:{source}"]


def _covered_by_cidr(switch: PlanResource, entries: Sequence[PlanResource]) -> bool:
    """A VPC-wide `sourceCidr` entry already gives the vSwitch egress."""
    network = ipv4_network(switch.props.get("cidrBlock"))
    for entry in entries:
        source = ipv4_network(entry.props.get("sourceCidr"))
        if network is not None and source is not None and network.subnet_of(source):
            return True
    return False


def check_pod_vswitch_snat(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    switches = [r for r in resources if r.type == SWITCH]
    entries = [r for r in resources if r.type == SNAT_ENTRY]
    covering: dict[str, list[PlanResource]] = {}
    for entry in entries:
        for key in _snat_targets(entry, switches):
            covering.setdefault(key, []).append(entry)
    for key, owners in covering.items():
        if len(owners) > 1:
            what = key[3:] if key.startswith("id:") else f"vSwitch {key}"
            yield Finding(
                f"{what} is the source of {len(owners)} SNAT entries ({', '.join(o.name for o in owners)}); "
                "Alibaba Cloud allows a vSwitch in only one SNAT entry",
                owners[1],
            )
    required = context.snat_configured if context.snat_configured is not None else bool(entries)
    if not required:
        return
    for switch in switches:
        if switch.name not in covering and not _covered_by_cidr(switch, entries):
            yield Finding(
                f"vSwitch {switch.name} has no SNAT entry; pods placed on it get no internet egress",
                switch,
            )


# --- Typha -----------------------------------------------------------------------------------

def _live_cap(resource: PlanResource) -> Optional[int]:
    value = dig(resource.props, "metadata", "annotations", TYPHA_LIVE_NODES_ANNOTATION)
    return int(value) if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value) and int(value) > 0 else None


def check_typha_replicas(resource: PlanResource, context: PolicyContext) -> Iterator[str]:
    if not is_typha_deployment(resource):
        return
    replicas = dig(resource.props, "spec", "replicas")
    if not known(replicas):
        return
    count = as_number(replicas) if replicas is not None else 1  # Kubernetes' default
    if count is None:
        yield f"spec.replicas {replicas!r} is not a number"
        return
    nodes = context.node_count
    if nodes:
        floor, why = typha_replicas(nodes), f"for {nodes} nodes (one per 200 nodes, at least 3, fewer than nodes)"
        live = _live_cap(resource)
        if live is not None and live - 1 < floor:
            # The program held the replicas below nodeCount's minimum: the live cluster has fewer nodes,
            # and a rollout needs one without Typha (decide/sizing.TyphaSizing.live_cap).
            floor, why = max(1, live - 1), f"with {live} live Linux nodes (one node kept free of Typha)"
        if count < floor:
            yield f"{show(count)} Typha replicas is below the minimum {floor} {why}"
    ceiling = typha_replica_ceiling(nodes) if nodes else TYPHA_MAX_REPLICAS
    if count > ceiling:
        reason = (
            f"the most Calico supports is {TYPHA_MAX_REPLICAS}" if count > TYPHA_MAX_REPLICAS
            else f"with {nodes} nodes a rollout needs a node without Typha (host port 5473)"
        )
        yield f"{show(count)} Typha replicas is above {ceiling}: {reason}"


def _pdb_problems(pdb: PlanResource, context: PolicyContext) -> Iterator[str]:
    max_unavailable = dig(pdb.props, "spec", "maxUnavailable")
    min_available = dig(pdb.props, "spec", "minAvailable")
    if known(min_available) and min_available is not None:
        yield f"{pdb.name} sets minAvailable; use maxUnavailable: 1 so it holds whatever the replica count"
    elif known(max_unavailable) and not (
        isinstance(max_unavailable, (int, float)) and not isinstance(max_unavailable, bool) and max_unavailable == 1
    ):
        yield f"{pdb.name} has maxUnavailable {max_unavailable!r}; Typha needs 1 so Felix connections move gradually"
    api, since, until = PDB_TYPES[pdb.type]
    minor = kubernetes_minor(context.kubernetes_version)
    if minor is None:
        return
    if since is not None and minor < since:
        yield f"{pdb.name} uses {api}, which Kubernetes {context.kubernetes_version} does not serve (from 1.{since})"
    if until is not None and minor >= until:
        yield f"{pdb.name} uses {api}, which is gone from Kubernetes 1.{until}; use policy/v1"


def check_typha_pdb(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    deployments = [r for r in resources if is_typha_deployment(r)]
    if not deployments:
        return
    pdbs = [r for r in resources if r.type in PDB_TYPES and targets_typha(r)]
    if not pdbs:
        yield Finding(
            "Typha has no PodDisruptionBudget; a node drain may evict every replica and drop all Felix connections",
            deployments[0],
        )
    for pdb in pdbs:
        for message in _pdb_problems(pdb, context):
            yield Finding(message, pdb)


def check_typha_shutdown_grace(resource: PlanResource, context: PolicyContext) -> Iterator[str]:
    if not is_typha_deployment(resource):
        return
    grace = dig(resource.props, "spec", "template", "spec", "terminationGracePeriodSeconds")
    timeout = env_value(typha_container(resource), TYPHA_SHUTDOWN_ENV)
    if not known(grace) or not known(timeout):
        return
    image = typha_container(resource).get("image")
    tag = image_tag(image) if known(image) and isinstance(image, str) else None
    release = minor(tag or "")
    if release is not None and release < GRACEFUL_SHUTDOWN_FROM:
        # Measured with the real v3.24.5: it logs the setting as unknown and exits at once on SIGTERM.
        if timeout is not None:
            yield (
                f"{TYPHA_SHUTDOWN_ENV} is not a setting of Typha {tag} (it exists from "
                f"v{GRACEFUL_SHUTDOWN_FROM[0]}.{GRACEFUL_SHUTDOWN_FROM[1]}): that Typha exits at once on SIGTERM"
            )
        return
    grace_seconds = as_number(grace) if grace is not None else KUBERNETES_DEFAULT_GRACE_SECONDS
    timeout_seconds = as_number(timeout) if timeout is not None else TYPHA_DEFAULT_SHUTDOWN_SECONDS
    if grace_seconds is None or timeout_seconds is None:
        return
    if grace_seconds < timeout_seconds:
        yield (
            f"terminationGracePeriodSeconds {show(grace_seconds)} is below {TYPHA_SHUTDOWN_ENV} "
            f"{show(timeout_seconds)}: Kubernetes kills Typha before it has shed its Felix connections gradually"
        )


def check_typha_image_region(resource: PlanResource, context: PolicyContext) -> Iterator[str]:
    if not is_typha_deployment(resource) or not context.region:
        return
    image = typha_container(resource).get("image")
    if not known(image) or not isinstance(image, str):
        return
    region = registry_region(image)
    if region and region != context.region:
        yield (
            f"Typha image {image} comes from the {region} registry but the stack is in {context.region}: "
            "registry-vpc endpoints only answer inside their region, and cross-region pulls are slow and billed"
        )


def check_typha_felix_version(resource: PlanResource, context: PolicyContext) -> Iterator[str]:
    if not is_typha_deployment(resource) or not context.felix_version:
        return
    image = typha_container(resource).get("image")
    tag = image_tag(image) if known(image) and isinstance(image, str) else context.typha_version
    gap = minor_gap(tag, context.felix_version) if tag else None
    # One minor apart is the skew of a Calico upgrade in progress; more is not supported.
    if tag and (gap is None and not same_version(tag, context.felix_version) or (gap or 0) > 1):
        yield (
            f"Typha {tag} differs from Felix {context.felix_version} in the cluster by more than a minor version; "
            "Calico supports matching versions"
        )


# --- eni-config ------------------------------------------------------------------------------

def check_felix_relay_service(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    writers = eni_config_writers(resources)
    services = {
        metadata(r)[1] for r in resources if r.type == SERVICE and metadata(r)[0] == TYPHA_NAMESPACE
    }
    disabling = [
        value for value in (written_data(p).get(DISABLE_POLICY_KEY) for p in writers)
        if value is not None and known(value) and not policy_enabled(value)
    ]
    for writer in writers:
        relay = written_data(writer).get(RELAY_KEY)
        if relay is None or not known(relay):
            continue
        if relay not in services:
            yield Finding(
                f"{RELAY_KEY} is {relay!r} but the stack declares no Service {relay!r} in {TYPHA_NAMESPACE}; "
                "Felix would wait for a Typha that does not exist",
                writer,
            )
        if disabling:
            yield Finding(
                f"{RELAY_KEY} is set together with {DISABLE_POLICY_KEY}: {disabling[0]!r}; "
                "pick one network-policy mode",
                writer,
            )


def check_eni_config_managed_keys(resource: PlanResource, context: PolicyContext) -> Iterator[str]:
    if not writes_eni_config(resource):
        return
    data = resource.props.get("data")
    if known(data) and isinstance(data, Mapping):
        foreign = sorted(key for key in data if key not in MANAGED_KEYS)
        if foreign:
            yield (
                f"the eni-config writer carries {', '.join(foreign)}; the project manages only "
                f"{', '.join(MANAGED_KEYS)} and must leave every other key to its owner"
            )
    binary = resource.props.get("binaryData")
    if known(binary) and binary:
        yield "the eni-config writer carries binaryData; the project manages no binary keys"


def check_eni_conf_retained(resource: PlanResource, context: PolicyContext) -> Iterator[str]:
    if not writes_eni_config(resource) or ENI_CONF_KEY not in written_data(resource):
        return
    # None means the options are not visible (the engine does not send retainOnDelete); the pack
    # reports that as "not applicable" instead of guessing.
    if resource.options.get("retainOnDelete") is False:
        yield (
            f"the writer owning {ENI_CONF_KEY} is not retainOnDelete: deleting or renaming it would remove "
            f"{ENI_CONF_KEY} from the live eni-config and Terway could no longer allocate pod IPs"
        )


# --- Terway restart --------------------------------------------------------------------------

_KUBECTL_DELETE_POD = re.compile(
    r"\bkubectl\b[^;&|\n]*?\bdelete\s+(?:-{1,2}[\w-]+(?:[= ][^\s-]\S*)?\s+)*(?:pods?|po)(?=[\s/,]|$)"
)
_API_DELETE_POD = re.compile(r"\bdelete(?:_collection)?_namespaced_pod\b|\bdeletecollection\b.*\bpods\b")


def _deletes_pods(text: str) -> bool:
    return bool(_KUBECTL_DELETE_POD.search(text) or _API_DELETE_POD.search(text))


def _is_restart_resource(resource: PlanResource) -> bool:
    return resource.type.startswith(DYNAMIC_TYPE_PREFIX) and resource.props.get("kind") == ROLLOUT_KIND


def _pod_deleters(resources: Sequence[PlanResource]) -> Iterator[Finding]:
    for resource in resources:
        if not (resource.type.startswith(COMMAND_TYPE_PREFIXES) or resource.type in WORKLOAD_TYPES):
            continue
        if any(_deletes_pods(text) for text in strings_in(resource.props)):
            yield Finding(
                f"{resource.name} deletes pods; restart Terway with the {ROLLOUT_KIND} resource, which rolls "
                "within maxUnavailable instead of cutting every node's pod network at once",
                resource,
            )


def _on_delete_daemon_sets(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    for resource in resources:
        name = metadata(resource)[1]
        if resource.type not in DAEMON_SET_TYPES or not known(name) or not isinstance(name, str):
            continue
        if not (name in context.terway_daemon_sets or name.startswith("terway")):
            continue
        if dig(resource.props, "spec", "updateStrategy", "type") == "OnDelete":
            yield Finding(
                f"DaemonSet {name} uses updateStrategy OnDelete: its pods change only when deleted, so a "
                "rolling restart does nothing and every change needs pod deletion",
                resource,
            )


def _restart_problems(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    restarts = [r for r in resources if _is_restart_resource(r)]
    for restart in restarts:
        method = restart.props.get("restartMethod")
        if known(method) and method != ROLLOUT_METHOD:
            yield Finding(f"{restart.name} restarts with {method!r}; only {ROLLOUT_METHOD!r} is safe", restart)
    writers = eni_config_writers(resources)
    if writers and not restarts:
        yield Finding(
            f"eni-config is written but no {ROLLOUT_KIND} resource restarts Terway; Terway reads it only at start",
            writers[0],
        )
        return
    restarted = {r.props.get("daemonSet") for r in restarts}
    if writers and UNKNOWN not in restarted:
        for name in context.terway_daemon_sets:
            if name not in restarted:
                yield Finding(f"DaemonSet {name} is never restarted after an eni-config change", writers[0])


def check_terway_rolling_restart(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    yield from _pod_deleters(resources)
    yield from _on_delete_daemon_sets(resources, context)
    yield from _restart_problems(resources, context)


# --- network-policy mode advisories ----------------------------------------------------------

def effective_mode(resources: Sequence[PlanResource], context: PolicyContext) -> Optional[str]:
    """The mode the eni-config writers put in force; the configured mode when they do not say."""
    values = [written_data(p) for p in eni_config_writers(resources)]
    disable = [d[DISABLE_POLICY_KEY] for d in values if DISABLE_POLICY_KEY in d]
    relay = [d[RELAY_KEY] for d in values if RELAY_KEY in d]
    if any(known(v) and not policy_enabled(v) for v in disable):
        return "disabled"
    if any(known(v) and v for v in relay):
        return "typha"
    if disable and all(known(v) for v in disable + relay):
        return "direct"
    # The policy writer leaves an absent disable_network_policy absent in modes typha and direct;
    # it names its mode.
    declared = [p.props.get("networkPolicyMode") for p in eni_config_writers(resources) if is_eni_config_writer(p)]
    if any(known(m) and m == "direct" for m in declared) and all(known(v) for v in relay):
        return "direct"
    return context.network_policy_mode


def _about(resources: Sequence[PlanResource]) -> Optional[PlanResource]:
    """The writer that sets the mode, for the violation to point at."""
    writers = eni_config_writers(resources)
    setting = [p for p in writers if DISABLE_POLICY_KEY in written_data(p) or RELAY_KEY in written_data(p)]
    return (setting or writers or [None])[0]


def check_direct_at_scale(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    nodes = context.node_count
    if effective_mode(resources, context) == "direct" and nodes and nodes > context.direct_mode_node_limit:
        yield Finding(
            f"network policy mode direct with {nodes} nodes (above {context.direct_mode_node_limit}): every Felix "
            "watches the API server itself, the load the Typha relay exists to remove",
            _about(resources),
        )


def check_policy_disabled(resources: Sequence[PlanResource], context: PolicyContext) -> Iterator[Finding]:
    if effective_mode(resources, context) == "disabled":
        yield Finding(
            "network policy mode disabled: NetworkPolicies stop being enforced and Terway flushes every cali-* chain",
            _about(resources),
        )
