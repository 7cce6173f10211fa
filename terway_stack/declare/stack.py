"""The whole stack: which components exist for a configuration, how they are wired, what it exports."""
from __future__ import annotations

from typing import Any, Optional

import pulumi

from ..act.cluster_nodes import NodesUnreadable
from ..act.live_cluster import LiveClusterReads, TyphaObjects
from ..decide.advisories import network_policy_advisories
from ..decide.capacity import nodes_from_list
from ..decide.facts import TYPHA_SERVICE_NAME
from ..decide.problems import InputError, Problem, key_path
from ..decide.sizing import TyphaSizing
from ..decide.typha_manifests import BGPPEER_CRD_NAME, NAMESPACE, pdb_api_version
from ..decide.settings import StackSettings
from ..outputs_contract import exports
from .capacity import NodeReader, PodIpCapacity
from .cluster import ClusterConnection
from .eni_config import EniConfigOwnership, LiveEniConfig
from .pod_networkings import PodNetworkings
from .pod_vswitches import PodVSwitches, check_against_cloud
from .preflight import Preflight
from .secrets import keep_secrets_everywhere, names_problems
from .typha import TyphaRelay


def typha_sizing(settings: StackSettings, reads: LiveClusterReads) -> TyphaSizing:
    """Replicas from the live Linux node count (ECI virtual nodes left out), nodeCount as a floor; shown at
    preview, with a warning when the two counts disagree. An unreadable node list sizes from nodeCount."""
    try:
        live: Optional[int] = len(nodes_from_list(reads.nodes()))
    except NodesUnreadable:
        live = None
    sizing = TyphaSizing(settings.cluster.node_count, live, settings.typha.replicas)
    problem = sizing.override_problem()
    if problem:
        raise InputError([Problem(key_path(["typha", "replicas"]), problem)])
    pulumi.log.info(sizing.summary())
    disagreement = sizing.disagreement()
    if disagreement:
        pulumi.log.warn(disagreement)
    return sizing


def build(settings: StackSettings, cluster: ClusterConnection, node_reader: Optional[NodeReader] = None) -> dict[str, Any]:
    """Declare every resource and return the stack outputs: exactly those of `outputs_contract.CONTRACT`.

    Every value derived from a secret config key stays secret in every input and output (declare/secrets.py).
    """
    problems = names_problems(settings)
    if problems:
        raise InputError(problems)
    secrecy = keep_secrets_everywhere(settings)
    for advisory in network_policy_advisories(settings):
        pulumi.log.warn(advisory)
    # The cluster reads start now, on a worker thread, and overlap the cloud check and the declarations.
    typha_objects = TyphaObjects(
        NAMESPACE, TYPHA_SERVICE_NAME, BGPPEER_CRD_NAME, pdb_api_version(settings.cluster.kubernetes_minor)
    ) if settings.network_policy == "typha" else None
    reads = cluster.read_now(lambda text: LiveClusterReads(text, typha_objects, node_reader))
    if settings.pod_vswitches is not None and settings.cloud_lookups:
        check_against_cloud(settings.pod_vswitches, settings.cluster.name)  # blocking reads: stop before anything is declared
    live = LiveEniConfig(settings, cluster, manages_vswitches=settings.pod_vswitches is not None)
    # Every write, cloud and cluster, waits for the read-only checks of the live state.
    gates = [live.gate, Preflight("preflight", settings, cluster).gate]
    gated = pulumi.ResourceOptions(depends_on=gates)
    pods = PodVSwitches("pod-vswitches", settings, opts=gated, ipv6=live.ipv6) if settings.pod_vswitches else None
    typhas: list[TyphaRelay] = []

    def declare_typha(after: list[pulumi.Resource]) -> list[pulumi.Resource]:
        # Typha waits for the checks and for the eni_conf write, if any: a run that cannot write
        # eni-config (gone, not writable, a vSwitch that failed) writes no Typha. The relay itself is
        # written only after Typha is ready (the policy writer depends on it); see docs/eni-config.md.
        if settings.network_policy != "typha":
            return []
        opts = pulumi.ResourceOptions(providers=[cluster.provider], depends_on=[*gates, *after])
        sizing = typha_sizing(settings, reads)
        typhas.append(TyphaRelay(
            "typha", settings, opts=opts, replicas=sizing.replicas, live=reads.typha_live(), live_cap=sizing.live_cap,
        ))
        return [typhas[0].deployment]

    eni_config = EniConfigOwnership(
        "eni-config",
        settings,
        cluster,
        live,
        pods.vswitch_ids if pods else None,
        typha_ready=declare_typha,
        gates=gates[1:],
    )
    typha = typhas[0] if typhas else None
    capacity = PodIpCapacity(settings, cluster, live, reads)
    PodNetworkings(settings, cluster, live.configmap.data, capacity.snapshot, pods.vswitch_ids if pods else None, gates)
    return secrecy.outputs(exports({
        "clusterName": settings.cluster.name,
        "networkPolicyMode": settings.network_policy,
        "typhaServiceName": typha.service_name if typha else None,
        "typhaReplicas": typha.replicas if typha else 0,
        "podVSwitchIds": pods.vswitch_ids if pods else {},
        "podVSwitchCidrs": pods.cidrs if pods else {},
        "podVSwitchUsableIps": pods.usable_ips if pods else {},
        "terwayDaemonSets": list(settings.terway.daemon_sets),
        "eniConfigTrigger": eni_config.trigger,
        "podIpCapacity": capacity.figures,
    }))
