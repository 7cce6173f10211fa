"""The stack's share of kube-system/eni-config, and the Terway restarts that make it take effect.

Ownership is split over two server-side-apply field managers, because the two halves must behave
oppositely when the stack lets go of them:
- `eni_conf` (pod vSwitches): retained on delete. Pods hold IPs of those vSwitches; removing the key
  would leave Terway with no vSwitch list at all.
- `felix_relay_service` / `disable_network_policy`: released on delete, so Felix stops looking for a
  Typha that the same destroy removes.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ..act.terway_rollout import TerwayRollout
from ..decide import eni_config as decide
from ..decide.problems import InputError
from ..decide.settings import StackSettings
from .cluster import ClusterConnection

LIVE_ID = f"{decide.ENI_CONFIG_NAMESPACE}/{decide.ENI_CONFIG_NAME}"


def field_manager(resource_name: str) -> str:
    # One manager per patch resource: a renamed patch co-owns its keys before the old one releases them.
    return f"terway-stack-{resource_name}"[:128]


def _stop_on_input_error(fn):
    """Turn a decide-layer InputError into Pulumi's clean, traceback-free failure."""

    def wrapped(*args):
        try:
            return fn(*args)
        except InputError as err:
            raise pulumi.RunError(str(err)) from None

    return wrapped


def wanted_vswitches(vswitch_ids: Mapping[str, str]) -> dict[str, list[str]]:
    return {zone: [vswitch_id] for zone, vswitch_id in sorted(vswitch_ids.items())}


class LiveEniConfig:
    """The live eni-config read in this run, checked, and the change the stack derives from it.

    `gate` resolves only when the live ConfigMap is well-formed: every resource that writes anywhere
    depends on it, so a malformed eni-config stops the run before any write.
    """

    def __init__(self, settings: StackSettings, cluster: ClusterConnection, manages_vswitches: bool):
        self._settings = settings
        self._manages_vswitches = manages_vswitches
        self.configmap = k8s.core.v1.ConfigMap.get(
            "eni-config-live", LIVE_ID, opts=pulumi.ResourceOptions(provider=cluster.provider)
        )
        self.gate = self.configmap.data.apply(_stop_on_input_error(self._check))

    def _check(self, data: Optional[Mapping[str, Any]]) -> k8s.core.v1.ConfigMap:
        if self._manages_vswitches:
            decide.parse_eni_conf(data or {})
        if self._settings.network_policy == "typha":
            for reason in decide.relay_ineffective_reasons(self._settings.terway.daemon_sets, data or {}):
                pulumi.log.warn(f"networkPolicy typha has no effect here: {reason}")
        return self.configmap

    def change(self, pod_vswitch_ids: Optional[pulumi.Output[Mapping[str, str]]]) -> pulumi.Output[decide.EniConfigChange]:
        """The stack's keys after merging the wanted vSwitch ids into the live value."""
        mode = self._settings.network_policy
        ids = pod_vswitch_ids if pod_vswitch_ids is not None else pulumi.Output.from_input(None)
        return pulumi.Output.all(self.configmap.data, ids).apply(
            _stop_on_input_error(
                lambda args: decide.plan_eni_config(
                    args[0] or {}, mode, wanted_vswitches(args[1]) if args[1] is not None else None
                )
            )
        )


class EniConfigOwnership(pulumi.ComponentResource):
    """Patches of eni-config owned by the stack, and a rolling restart of Terway whenever they change."""

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        cluster: ClusterConnection,
        live: LiveEniConfig,
        wanted: Optional[pulumi.Output[Mapping[str, str]]],
        typha_ready: Sequence[pulumi.Resource] = (),
        opts: Optional[pulumi.ResourceOptions] = None,
        gates: Sequence[pulumi.Resource] = (),
    ):
        super().__init__("terway:index:EniConfigOwnership", name, None, opts)
        self._settings, self._cluster = settings, cluster
        self.change = live.change(wanted)
        # The preflight gates (declare/preflight.py) also check per-node configs, before any vSwitch exists.
        gate = [live.gate, *gates]
        # Before the policy patch in the graph, so a destroy releases the keys, then restarts Terway,
        # and only then deletes the Typha it depends on.
        release_restarts = [
            self._restart(ds, "release", pulumi.Output.from_input(""), [*gate, *typha_ready])
            for ds in settings.terway.daemon_sets
        ]
        self.vswitch_patch = self._vswitch_patch(gate) if wanted is not None else None
        self.policy_patch = self._patch(
            f"{name}-network-policy",
            decide.policy_keys(settings.network_policy),
            depends_on=[*gate, *typha_ready, *release_restarts],
        )
        patches = [p for p in (self.vswitch_patch, self.policy_patch) if p is not None]
        self.trigger = self.change.apply(lambda change: change.trigger())
        self.restarts = [self._restart(ds, "change", self.trigger, patches) for ds in settings.terway.daemon_sets]
        self.release_restarts = release_restarts
        self.register_outputs({"trigger": self.trigger})

    def _vswitch_patch(self, depends_on) -> k8s.core.v1.ConfigMapPatch:
        return self._patch(
            f"{self._name}-vswitches",
            {decide.ENI_CONF_KEY: self.change.apply(lambda change: change.eni_conf)},
            depends_on=depends_on,
            retain_on_delete=True,
        )

    def _patch(self, resource_name: str, data, depends_on, retain_on_delete: bool = False) -> k8s.core.v1.ConfigMapPatch:
        return k8s.core.v1.ConfigMapPatch(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=decide.ENI_CONFIG_NAME,
                namespace=decide.ENI_CONFIG_NAMESPACE,
                annotations={
                    "pulumi.com/patchFieldManager": field_manager(resource_name),
                    # The keys belong to ACK's add-on manager until now; taking them over is safe only
                    # because the value written is a merge of the value read in this same run.
                    "pulumi.com/patchForce": "true",
                },
            ),
            data=data,
            opts=pulumi.ResourceOptions(
                parent=self, provider=self._cluster.provider, depends_on=depends_on, retain_on_delete=retain_on_delete
            ),
        )

    def _restart(self, daemon_set: str, restart_on: str, trigger, depends_on) -> TerwayRollout:
        suffix = "restart" if restart_on == "change" else "restart-on-release"
        return TerwayRollout(
            f"{daemon_set}-{suffix}",
            kubeconfig=self._cluster.kubeconfig,
            daemon_set=daemon_set,
            trigger=trigger,
            restart_on=restart_on,
            timeout_seconds=self._settings.terway.restart_timeout_seconds,
            namespace=decide.ENI_CONFIG_NAMESPACE,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
