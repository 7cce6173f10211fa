"""PodNetworkings that would not see the new pod vSwitches: shown at preview, updated on opt-in.

Read with the capacity snapshot (act/cluster_nodes.read_cluster lists them), compared with the zones
the stack extends (decide/pod_networking.py). With terway:podVSwitches.updatePodNetworkings the
stack appends the ids (act/pod_networking_writer.py), after every read-only check, and keeps them on
destroy.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi

from ..act.pod_networking_writer import PodNetworkingWriter
from ..decide import pod_networking as decide
from ..decide.eni_config import parse_eni_conf
from ..decide.problems import InputError
from ..decide.settings import StackSettings
from .cluster import ClusterConnection

OPT_IN_KEY = "terway:podVSwitches.updatePodNetworkings"
PENDING = "<new vSwitch, id known after apply>"


def _listed(data: Optional[Mapping[str, Any]]) -> dict[str, list[str]]:
    try:
        return parse_eni_conf(data or {}).get("vswitches") or {}
    except InputError:
        return {}  # the live gate reports it


def preview_lines(settings: StackSettings, pod_networkings: Optional[Sequence[Mapping[str, Any]]], data) -> list[str]:
    pods = settings.pod_vswitches
    if pods is None or not pod_networkings:
        return []
    wanted = {**{zone: [PENDING] for zone in pods.created_zones}, **{z: [i] for z, i in pods.adopted_zones.items()}}
    stale = decide.stale_pod_networkings(pod_networkings, decide.zone_of_ids(_listed(data)), wanted)
    if pods.update_pod_networkings:
        return [f"PodNetworking {s.name}: the stack adds the new vSwitch of {s.zone} to its spec.vSwitchOptions" for s in stale]
    return [decide.stale_warning(s, OPT_IN_KEY) for s in stale]


class PodNetworkings:
    """Not a component: a preview read-out and, on opt-in, one writer resource."""

    def __init__(
        self,
        settings: StackSettings,
        cluster: ClusterConnection,
        live_data: pulumi.Output,
        snapshot: pulumi.Output,
        vswitch_ids: Optional[pulumi.Output],
        gates: Sequence[pulumi.Resource],
    ):
        self.lines = pulumi.Output.all(snapshot, live_data).apply(
            lambda args: self._show(preview_lines(settings, args[0].pod_networkings, args[1]), settings)
        )
        self.writer = None
        pods = settings.pod_vswitches
        if pods is not None and pods.update_pod_networkings and vswitch_ids is not None:
            self.writer = PodNetworkingWriter(
                "pod-networkings",
                kubeconfig=cluster.kubeconfig,
                wanted_vswitches=vswitch_ids.apply(lambda ids: {z: [i] for z, i in sorted(ids.items())}),
                zone_of_ids=live_data.apply(lambda data: decide.zone_of_ids(_listed(data))),
                # Pods hold IPs of the vSwitches listed there: destroy leaves the ids (delete writes nothing).
                opts=pulumi.ResourceOptions(depends_on=list(gates), retain_on_delete=True),
            )

    @staticmethod
    def _show(lines: list[str], settings: StackSettings) -> list[str]:
        log = pulumi.log.info if settings.pod_vswitches and settings.pod_vswitches.update_pod_networkings else pulumi.log.warn
        for line in lines:
            log(line)
        return lines
