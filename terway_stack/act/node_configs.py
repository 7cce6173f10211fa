"""Stop the run before eni-config changes when a per-node Terway config would hide a new vSwitch.

A node labelled ``terway-config: <name>`` gets kube-system/<name>'s eni_conf merge-patched over the
base (RFC 7396), and merge-patch replaces arrays whole: a per-node config that lists ``vswitches``
for a zone must itself receive each new vSwitch of that zone. This dynamic resource does the check
in ``check()``, which the engine calls on every preview and update before anything that depends on
it (the eni-config patch) is touched, and reports each gap as a CheckFailure naming the ConfigMap.

In preview a vSwitch that does not exist yet has an unknown id; it is counted as missing from every
per-node list (it cannot be in one yet). If the kubeconfig itself is unknown in preview (a cluster
being created), the check waits for `pulumi up`, where inputs are known.

The provider is pickled by reference to this module path: keep the path stable. It holds no state.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi.dynamic as dyn

from ..decide.eni_config import per_node_config_gaps
from ..decide.facts import ENI_CONFIG_NAMESPACE, NODE_CONFIG_CHECK_KIND, NODE_CONFIG_LABEL, PENDING_ID, PREFLIGHT_USER_AGENT
from ..decide.problems import InputError
from .dynamic import KubeconfigResource, changed_inputs, is_unknown, plain
from .kube import KubeError, kube_client, read

INPUT_KEYS = ("kind", "wantedVSwitches", "kubeconfig")


def known_wanted(wanted: Any) -> Optional[dict[str, list[str]]]:
    """zone -> ids with unknown ids replaced by PENDING_ID; None when the whole map is unknown."""
    if is_unknown(wanted) or wanted is None:
        return None
    result = {}
    for zone, ids in dict(wanted).items():
        if is_unknown(ids):
            ids = [PENDING_ID]
        result[zone] = [PENDING_ID if is_unknown(i) else i for i in ids]
    return result


def shape_failures(wanted: Any) -> list[dyn.CheckFailure]:
    if wanted is None or is_unknown(wanted):
        return []
    if not isinstance(wanted, Mapping) or not all(
        isinstance(z, str) and (is_unknown(ids) or isinstance(ids, list)) for z, ids in wanted.items()
    ):
        return [dyn.CheckFailure("wantedVSwitches", "must map each zone to a list of vSwitch ids")]
    return []


def gap_failures(node_configs: Mapping[str, Mapping[str, Any]], wanted: Mapping[str, list[str]]) -> list[dyn.CheckFailure]:
    """The decide layer's gaps (or its parse errors) as CheckFailures; each names the ConfigMap."""
    try:
        problems = per_node_config_gaps(node_configs, wanted)
    except InputError as err:
        problems = err.problems
    return [dyn.CheckFailure("wantedVSwitches", str(p)) for p in problems]


def node_config_names(nodes: Mapping[str, Any]) -> list[str]:
    """Distinct ConfigMap names that nodes point at with the terway-config label."""
    names = set()
    for node in nodes.get("items") or []:
        value = ((node.get("metadata") or {}).get("labels") or {}).get(NODE_CONFIG_LABEL)
        if value:
            names.add(value)
    return sorted(names)


def read_node_configs(kubeconfig: str) -> dict[str, dict[str, Any]]:
    """name -> data of every per-node ConfigMap that some node selects (missing ones are skipped)."""
    from kubernetes.client import CoreV1Api

    with kube_client(kubeconfig, PREFLIGHT_USER_AGENT) as client:
        core = CoreV1Api(client)
        nodes = read(core.list_node, label_selector=NODE_CONFIG_LABEL) or {}
        configs = {}
        for name in node_config_names(nodes):
            cm = read(core.read_namespaced_config_map, name, ENI_CONFIG_NAMESPACE)
            if cm is not None:
                configs[name] = cm.get("data") or {}
    return configs


class PerNodeConfigCheckProvider(dyn.ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        failures = shape_failures(news.get("wantedVSwitches"))
        wanted = known_wanted(news.get("wantedVSwitches"))
        kubeconfig = plain(news.get("kubeconfig"))
        if failures or not wanted or is_unknown(kubeconfig):
            return dyn.CheckResult(news, failures)
        try:
            configs = read_node_configs(kubeconfig)
        except KubeError as err:
            return dyn.CheckResult(news, [dyn.CheckFailure("kubeconfig", f"cannot read per-node configs: {err}")])
        return dyn.CheckResult(news, gap_failures(configs, wanted))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        changed = changed_inputs(olds, news, INPUT_KEYS)
        return dyn.DiffResult(changes=bool(changed), replaces=[], stables=[k for k in INPUT_KEYS if k not in changed])

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        return dyn.CreateResult(id_="per-node-config-check", outs={k: props.get(k) for k in INPUT_KEYS})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        return dyn.UpdateResult(outs={k: news.get(k) for k in INPUT_KEYS})

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        return dyn.ReadResult(id_=id_, outs={k: props.get(k) for k in INPUT_KEYS})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class PerNodeConfigCheck(KubeconfigResource, module="terway_stack", name="PerNodeConfigCheck"):
    """Fails check() when a per-node Terway ConfigMap overrides a zone without its new vSwitch."""

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        wanted_vswitches: pulumi.Input[dict],
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        props = {"kind": NODE_CONFIG_CHECK_KIND, "wantedVSwitches": wanted_vswitches}
        super().__init__(PerNodeConfigCheckProvider(), name, props, kubeconfig, opts)
