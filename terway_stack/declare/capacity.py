"""Pod-IP capacity per zone, shown at preview and exported as `podIpCapacity`.

Gathers the live inputs (nodes from the cluster; free IPs of the listed vSwitches and the ENI quota of
each instance type present from Alibaba Cloud, one look-up per type) and hands them to
`decide.capacity`. Nothing here writes or gates a write: an unreadable cluster or cloud leaves the
affected figures unknown, with the reason, and the run goes on.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import pulumi
import pulumi_alicloud as alicloud

from ..act.cluster_nodes import NodesUnreadable, read_nodes
from ..decide import capacity as decide
from ..decide.eni_conf_codec import parse_eni_conf
from ..decide.facts import EXCLUSIVE_ENI_DAEMON_SET, SHARED_ENI_DAEMON_SET, VSWITCHES_KEY
from ..decide.problems import InputError
from ..decide.settings import StackSettings
from .cluster import ClusterConnection
from .eni_config import LiveEniConfig
from .pod_vswitches import lookup_vswitches

# kubeconfig text -> a NodeList document; raises NodesUnreadable. The offline plan passes its own.
NodeReader = Callable[[str], Mapping[str, Any]]
LOOKUPS_OFF = "terway:cloudLookups is false"


class PodIpCapacity:
    """The per-zone figures as an Output (not a resource: it declares nothing)."""

    def __init__(
        self,
        settings: StackSettings,
        cluster: ClusterConnection,
        live: LiveEniConfig,
        node_reader: Optional[NodeReader] = None,
    ):
        self._settings = settings
        pods = settings.pod_vswitches
        if pods is not None:
            for warning in decide.no_snat_warnings(list(pods.created_zones), pods.snat is not None):
                pulumi.log.warn(warning)
        reader = node_reader or read_nodes
        # The node list is not secret; only the kubeconfig that reads it is, and it goes nowhere else.
        nodes = pulumi.Output.unsecret(cluster.kubeconfig).apply(lambda text: _read_nodes(reader, text))
        self.figures: pulumi.Output[dict] = pulumi.Output.all(nodes, live.configmap.data).apply(
            lambda args: self._figures(*args)
        )

    def _figures(self, nodes: tuple, data: Optional[Mapping[str, Any]]) -> dict[str, Any]:
        settings, pods = self._settings, self._settings.pod_vswitches
        try:
            conf = parse_eni_conf(data or {})
        except InputError:
            conf = {}  # the eni-config gate reports it and stops the run
        listed = conf.get(VSWITCHES_KEY) or {}
        node_list, unreadable = nodes
        quotas, facts, note = self._cloud_facts(node_list or [], listed)
        inputs = decide.CapacityInputs(
            nodes=node_list,
            listed=listed,
            created=pods.created_zones if pods else {},
            adopted=pods.adopted_zones if pods else {},
            vswitch_facts=facts,
            quotas=quotas,
            min_pool_size=decide.min_pool_size(conf),
            exclusive_eni=exclusive_eni(settings.terway.daemon_sets),
            nodes_unreadable=unreadable,
            cloud_note=note,
        )
        capacities = decide.zone_capacities(inputs)
        for capacity in capacities.values():
            pulumi.log.info(decide.summary_line(capacity))
        warnings = decide.capacity_warnings(capacities)
        if pods is not None and conf:
            warnings += [w for w in [decide.selection_policy_warning(conf)] if w]
        for warning in warnings:
            pulumi.log.warn(warning)
        return {zone: capacity.as_output() for zone, capacity in capacities.items()}

    def _cloud_facts(self, nodes, listed: Mapping[str, list]) -> tuple[dict, dict, str]:
        if not self._settings.cloud_lookups:
            return {}, {}, LOOKUPS_OFF
        pods = self._settings.pod_vswitches
        ids = sorted({i for ids in listed.values() for i in ids} | set(pods.adopted_zones.values() if pods else ()))
        types = sorted({n.instance_type for n in nodes if n.instance_type})
        try:
            quotas = {kind: eni_quota(kind) for kind in types}  # one look-up per instance type
            facts = {
                v.id: decide.VSwitchFacts(v.id, v.zone or None, v.available_ips, v.vpc_id or None)
                for v in lookup_vswitches(ids)
            }
        except Exception as err:  # informational figures: a failed read leaves them unknown
            return {}, {}, f"cloud look-up failed ({type(err).__name__})"
        return quotas, facts, ""


def _read_nodes(reader: NodeReader, kubeconfig: str) -> tuple[Optional[list], str]:
    try:
        return decide.nodes_from_list(reader(kubeconfig)), ""
    except NodesUnreadable as err:
        return None, str(err)


def eni_quota(instance_type: str) -> Optional[decide.EniQuota]:
    """ENIs per instance and IPs per ENI of one instance type; None when the cloud does not list it."""
    answer = alicloud.ecs.get_instance_types(instance_type=instance_type).instance_types or []
    match = next((t for t in answer if t.id == instance_type), None)
    if match is None or not match.eni_quantity or not match.eni_private_ip_address_quantity:
        return None
    return decide.EniQuota(int(match.eni_quantity), int(match.eni_private_ip_address_quantity))


def exclusive_eni(daemon_sets) -> bool:
    """terway-eni alone is exclusive-ENI mode (one pod per ENI); terway-eniip shares ENIs."""
    return EXCLUSIVE_ENI_DAEMON_SET in daemon_sets and SHARED_ENI_DAEMON_SET not in daemon_sets
