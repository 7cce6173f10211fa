"""The stack's share of kube-system/eni-config, and the Terway restarts that make it take effect.

Two writers (act/eni_config_writer.py), because the two halves must behave oppositely when the stack
lets go of them:
- `eni_conf` (pod vSwitches): retained on delete. Pods hold IPs of those vSwitches; removing the key
  would leave Terway with no vSwitch list at all.
- `felix_relay_service` / `disable_network_policy`: on delete the relay goes and the policy switch
  gets its value from before the stack back, so Felix stops looking for a Typha that the same
  destroy removes.
Their inputs are planned from the value read in this run (what preview shows); their outputs are
what was really written, and the restart trigger is computed from those.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ..act.eni_config_writer import EniConfWriter, PolicyKeysWriter
from ..act.terway_rollout import TerwayRollout
from ..decide.eni_conf_codec import parse_eni_conf
from ..decide.eni_config import EniConfigChange, plan_eni_config
from ..decide.facts import ENI_CONF_KEY, ENI_CONFIG, POLICY_KEYS, TERWAY_NAMESPACE
from ..decide.policy_keys import policy_keys, relay_blocking_reasons, relay_ineffective_reasons
from ..decide.problems import InputError
from ..decide.restarts import policy_baseline
from ..decide.settings import StackSettings
from .cluster import ClusterConnection
from .dual_stack import ipv6_plan
from .secrets import kept_component_outputs, redacted


def _stop_on_input_error(fn):
    """Turn a decide-layer InputError into Pulumi's clean, traceback-free failure."""

    def wrapped(*args):
        try:
            return fn(*args)
        except InputError as err:
            raise pulumi.RunError(redacted(str(err))) from None  # live values may hold a secret id

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
            "eni-config-live", ENI_CONFIG, opts=pulumi.ResourceOptions(provider=cluster.provider)
        )
        # IPv6 for new pod vSwitches where the live eni_conf says dual/ipv6 stack (declare/dual_stack.py);
        # a vSwitch that cannot get IPv6 fails the gate, so nothing is written.
        self.ipv6 = self.configmap.data.apply(_stop_on_input_error(lambda data: ipv6_plan(settings, data)))
        self.gate = pulumi.Output.all(self.configmap.data, self.ipv6).apply(
            _stop_on_input_error(lambda args: self._check(args[0]))
        )

    def _check(self, data: Optional[Mapping[str, Any]]) -> k8s.core.v1.ConfigMap:
        if self._manages_vswitches:
            parse_eni_conf(data or {})
        if self._settings.network_policy == "typha":
            # The datapaths without Felix are refused by the preflight (decide/preflight.datapath_problems).
            blocking = relay_blocking_reasons(data or {})
            for reason in relay_ineffective_reasons(self._settings.terway.daemon_sets, data or {}):
                if reason not in blocking:
                    pulumi.log.warn(f"networkPolicy typha has no effect here: {reason}")
        return self.configmap

    def release_baseline(self) -> pulumi.Output[str]:
        """What the policy keys will hold after this run, as the release restart compares them at destroy."""
        mode = self._settings.network_policy
        return self.configmap.data.apply(lambda data: policy_baseline(policy_keys(mode, data or {})))

    def policy_values(self) -> pulumi.Output[dict[str, Optional[str]]]:
        """The live policy keys as read in this run: the writer refuses to write over other values."""
        return self.configmap.data.apply(lambda data: {key: (data or {}).get(key) for key in POLICY_KEYS})

    def change(self, pod_vswitch_ids: Optional[pulumi.Output[Mapping[str, str]]]) -> pulumi.Output[EniConfigChange]:
        """The stack's keys after merging the wanted vSwitch ids into the live value."""
        mode = self._settings.network_policy
        ids = pod_vswitch_ids if pod_vswitch_ids is not None else pulumi.Output.from_input(None)
        return pulumi.Output.all(self.configmap.data, ids).apply(
            _stop_on_input_error(
                lambda args: plan_eni_config(
                    args[0] or {}, mode, wanted_vswitches(args[1]) if args[1] is not None else None
                )
            )
        )


class EniConfigOwnership(pulumi.ComponentResource):
    """The stack's writers of eni-config, and a rolling restart of Terway whenever what they wrote changes."""

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        cluster: ClusterConnection,
        live: LiveEniConfig,
        wanted: Optional[pulumi.Output[Mapping[str, str]]],
        typha_ready: Sequence[pulumi.Resource] | Callable[[Sequence[pulumi.Resource]], Sequence[pulumi.Resource]] = (),
        opts: Optional[pulumi.ResourceOptions] = None,
        gates: Sequence[pulumi.Resource] = (),
    ):
        super().__init__("terway:index:EniConfigOwnership", name, None, opts)
        self._settings, self._cluster, self._live = settings, cluster, live
        self.change = live.change(wanted)
        # Every writer waits for every check that reads the cluster or the cloud. The preflight gates
        # (declare/preflight.py) also check per-node configs, before any vSwitch exists.
        gates = [live.gate, *gates]
        self.eni_conf_writer = self._eni_conf_writer(wanted, gates) if wanted is not None else None
        # Typha is declared after the eni_conf write (a callable receives it to depend on): a run that
        # cannot write eni-config writes no Typha either (see declare/stack.py).
        if callable(typha_ready):
            typha_ready = typha_ready([self.eni_conf_writer] if self.eni_conf_writer is not None else [])
        # Before the policy writer in the graph, so a destroy releases the keys, then restarts Terway,
        # and only then deletes the Typha it depends on.
        release_restarts = [
            self._restart(ds, "release", live.release_baseline(), [*gates, *typha_ready])
            for ds in settings.terway.daemon_sets
        ]
        self.policy_writer = PolicyKeysWriter(
            f"{name}-policy-keys",
            kubeconfig=cluster.kubeconfig,
            mode=settings.network_policy,
            planned=self.change.apply(lambda change: dict(change.policy)),
            observed=live.policy_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*gates, *typha_ready, *release_restarts]),
        )
        writers = [w for w in (self.eni_conf_writer, self.policy_writer) if w is not None]
        # What was really written (the write-time merge may keep an edit made after the plan was read).
        self.trigger = _written_trigger(self.policy_writer, self.eni_conf_writer)
        changed = pulumi.Output.all(*[w.effectiveChange for w in writers]).apply(list)
        self.restarts = [self._restart(ds, "change", self.trigger, writers, changed) for ds in settings.terway.daemon_sets]
        self.release_restarts = release_restarts
        self.register_outputs(kept_component_outputs(settings, {"trigger": self.trigger}, "podVSwitches", "networkPolicy"))

    def _eni_conf_writer(self, wanted, depends_on) -> EniConfWriter:
        return EniConfWriter(
            f"{self._name}-eni-conf",
            kubeconfig=self._cluster.kubeconfig,
            wanted_vswitches=wanted.apply(wanted_vswitches),
            planned_eni_conf=self.change.apply(lambda change: change.eni_conf),
            observed_eni_conf=self._live.configmap.data.apply(lambda data: (data or {}).get(ENI_CONF_KEY)),
            # Pods hold IPs of the vSwitches eni_conf lists: destroy leaves it (the provider's delete
            # writes nothing as well).
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, retain_on_delete=True),
        )

    def _restart(self, daemon_set: str, restart_on: str, trigger, depends_on, writers_changed=()) -> TerwayRollout:
        suffix = "restart" if restart_on == "change" else "restart-on-release"
        terway = self._settings.terway
        return TerwayRollout(
            f"{daemon_set}-{suffix}",
            kubeconfig=self._cluster.kubeconfig,
            daemon_set=daemon_set,
            trigger=trigger,
            restart_on=restart_on,
            timeout_seconds=terway.restart_timeout_seconds,
            namespace=TERWAY_NAMESPACE,
            writers_changed=writers_changed,
            max_unavailable_share=terway.max_unavailable_share,
            confirm_max_unavailable=terway.confirm_max_unavailable,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )


def _written_trigger(policy: PolicyKeysWriter, eni_conf: Optional[EniConfWriter]) -> pulumi.Output[str]:
    written_eni_conf = eni_conf.data if eni_conf is not None else pulumi.Output.from_input(None)

    def trigger(args) -> str:
        policy_data, eni_data = args
        return EniConfigChange(
            policy={k: v for k, v in dict(policy_data or {}).items() if k in POLICY_KEYS and v is not None},
            eni_conf=(eni_data or {}).get(ENI_CONF_KEY) if eni_conf is not None else None,
        ).trigger()

    return pulumi.Output.all(policy.data, written_eni_conf).apply(trigger)
