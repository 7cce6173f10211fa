"""Pod-IP capacity per zone, shown at preview and exported as `podIpCapacity`.

Gathers the live inputs (nodes from the cluster; free IPs of the listed vSwitches and the ENI quota of
each instance type present from Alibaba Cloud, one look-up for all types) and hands them to
`decide.capacity`. Nothing here writes or gates a write: an unreadable cluster or cloud leaves the
affected figures unknown, with the reason, and the run goes on.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Mapping, Optional

import pulumi
import pulumi_alicloud as alicloud

from ..act.cluster_nodes import NodesUnreadable
from ..act.live_cluster import LiveClusterReads
from ..decide import capacity as decide
from ..decide.eni_conf_codec import parse_eni_conf
from ..decide.facts import EXCLUSIVE_ENI_DAEMON_SET, SHARED_ENI_DAEMON_SET, VSWITCHES_KEY
from ..decide.problems import InputError
from ..decide.settings import StackSettings
from .cluster import ClusterConnection
from .eni_config import LiveEniConfig
from .pod_vswitches import lookup_vswitches

# kubeconfig text -> a cluster snapshot (act.cluster_nodes.read_cluster's shape) or a bare NodeList;
# raises NodesUnreadable. The offline plan passes its own.
NodeReader = Callable[[str], Mapping[str, Any]]
LOOKUPS_OFF = "terway:cloudLookups is false"


class PodIpCapacity:
    """The per-zone figures as an Output (not a resource: it declares nothing)."""

    def __init__(
        self,
        settings: StackSettings,
        cluster: ClusterConnection,
        live: LiveEniConfig,
        reads: LiveClusterReads,
    ):
        self._settings = settings
        pods = settings.pod_vswitches
        if pods is not None:
            for warning in decide.no_snat_warnings(list(pods.created_zones), pods.snat is not None):
                pulumi.log.warn(warning)
        # The node list is not secret; only the kubeconfig that reads it is, and it goes nowhere else.
        # A worker thread reads it (act/live_cluster.py): the event loop goes on registering resources meanwhile.
        self.snapshot = pulumi.Output.unsecret(cluster.kubeconfig).apply(lambda _text: snapshot_of(reads))
        self.figures: pulumi.Output[dict] = pulumi.Output.all(self.snapshot, live.configmap.data).apply(
            lambda args: self._figures(*args)
        )

    def _figures(self, snapshot: "ClusterSnapshot", data: Optional[Mapping[str, Any]]) -> dict[str, Any]:
        settings, pods = self._settings, self._settings.pod_vswitches
        try:
            conf = parse_eni_conf(data or {})
        except InputError:
            conf = {}  # the eni-config gate reports it and stops the run
        listed = conf.get(VSWITCHES_KEY) or {}
        node_list, unreadable = snapshot.nodes, snapshot.unreadable
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
            base_conf=conf,
            node_crs=snapshot.node_crs,
            node_configs=snapshot.node_configs,
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
            quotas = eni_quotas(types)
            facts = {
                v.id: decide.VSwitchFacts(v.id, v.zone or None, v.available_ips, v.vpc_id or None)
                for v in lookup_vswitches(ids)
            }
        except Exception as err:  # informational figures: a failed read leaves them unknown
            return {}, {}, f"cloud look-up failed ({type(err).__name__})"
        return quotas, facts, ""


class ClusterSnapshot:
    """What was read of the cluster for the read-outs; None/empty where it could not be read."""

    def __init__(self, document: Optional[Mapping[str, Any]], unreadable: str = ""):
        document = document or {}
        self.unreadable = unreadable
        self.nodes = None if unreadable else decide.nodes_from_list(decide.node_list(document))
        crs = document.get("nodeCrs")
        self.node_crs = None if crs is None else {
            str((cr.get("metadata") or {}).get("name")): cr for cr in crs if isinstance(cr, Mapping)
        }
        self.node_configs = _per_node_confs(document.get("nodeConfigs") or {})
        self.pod_networkings = document.get("podNetworkings")


def _per_node_confs(configs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """name -> parsed eni_conf of each per-node ConfigMap; a malformed one is the preflight's to report."""
    result = {}
    for name, data in configs.items():
        try:
            result[name] = parse_eni_conf(data or {}, configmap=f"kube-system/{name}")
        except InputError:
            continue
    return result


async def snapshot_of(reads: LiveClusterReads) -> ClusterSnapshot:
    try:
        return ClusterSnapshot(await asyncio.wrap_future(reads.snapshot))
    except NodesUnreadable as err:
        return ClusterSnapshot(None, str(err) or "not read")


def eni_quotas(instance_types: list[str]) -> dict[str, Optional[decide.EniQuota]]:
    """ENIs per instance and IPs per ENI of each instance type; None where the cloud does not list it.

    One look-up for all: the real data source's `instance_type` filters nothing (DescribeInstanceTypes
    has no such parameter), so every call lists every type on sale in the region, page after page.
    """
    if not instance_types:
        return {}
    answer = alicloud.ecs.get_instance_types().instance_types or []
    by_id = {t.id: t for t in answer}
    return {kind: _quota(by_id.get(kind)) for kind in instance_types}


def _quota(listed) -> Optional[decide.EniQuota]:
    if listed is None or not listed.eni_quantity or not listed.eni_private_ip_address_quantity:
        return None
    return decide.EniQuota(int(listed.eni_quantity), int(listed.eni_private_ip_address_quantity))


def exclusive_eni(daemon_sets) -> bool:
    """terway-eni alone is exclusive-ENI mode (one pod per ENI); terway-eniip shares ENIs."""
    return EXCLUSIVE_ENI_DAEMON_SET in daemon_sets and SHARED_ENI_DAEMON_SET not in daemon_sets
