"""The preflight gate as one component: every writing resource of the stack depends on `gate`.

The checks themselves run in the dynamic resource's check() (act/preflight.py), at every preview and
up, before any dependent step. Warnings and notes come back as its outputs and are logged here,
so they show at preview too.
"""
from __future__ import annotations

from typing import Optional

import pulumi

from ..act.preflight import PreflightCheck
from ..decide.facts import PENDING_ID, TERWAY_NAMESPACE
from ..decide.permissions import run_accesses
from ..decide.preflight import PreflightSettings
from ..decide.settings import StackSettings
from ..decide.typha_manifests import render_typha
from .cluster import ClusterConnection


def preflight_settings(settings: StackSettings) -> PreflightSettings:
    """The checks' view of the configuration; a vSwitch this run creates has no id yet (PENDING_ID)."""
    pods = settings.pod_vswitches
    wanted: dict[str, list[str]] = {}
    if pods is not None:
        wanted.update({zone: [vswitch_id] for zone, vswitch_id in pods.adopted_zones.items()})
        wanted.update({zone: [PENDING_ID] for zone in pods.created_zones})
    return PreflightSettings(
        mode=settings.network_policy,
        daemon_sets=tuple(settings.terway.daemon_sets),
        typha_version=settings.typha_version,
        typha_version_key="terway:typha.image" if settings.typha.image and settings.typha_version != settings.typha.version
        else "terway:typha.version",
        wanted_vswitches=wanted,
        manages_vswitches=pods is not None,
        replace_existing_relay=settings.typha.replace_existing_relay,
        confirm_network_policy_enforcement=settings.confirm_network_policy_enforcement,
        max_unavailable_share=settings.terway.max_unavailable_share,
        confirm_max_unavailable=settings.terway.confirm_max_unavailable,
        accesses=tuple(run_accesses(_typha_objects(settings), settings.terway.daemon_sets, TERWAY_NAMESPACE)),
    )


def _typha_objects(settings: StackSettings) -> list[dict]:
    if settings.network_policy != "typha":
        return []
    manifests = render_typha(settings)
    return [manifests.crd, manifests.service, manifests.deployment, manifests.pdb]



class Preflight(pulumi.ComponentResource):
    """Read-only checks of the cluster that gate every write; see act/preflight.py."""

    gate: PreflightCheck

    def __init__(
        self, name: str, settings: StackSettings, cluster: ClusterConnection, opts: Optional[pulumi.ResourceOptions] = None
    ):
        super().__init__("terway:index:Preflight", name, None, opts)
        self.settings = preflight_settings(settings)
        self.gate = PreflightCheck(
            "preflight-checks",
            kubeconfig=cluster.kubeconfig,
            settings=self.settings,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.gate.warnings.apply(lambda lines: self._log(pulumi.log.warn, lines))
        self.gate.notes.apply(lambda lines: self._log(pulumi.log.info, lines))
        self.register_outputs({})

    def _log(self, log, lines: Optional[list]) -> None:
        for line in lines or []:
            log(line, resource=self.gate)
