"""Add the pod vSwitch ids to existing PodNetworkings (opt-in: terway:podVSwitches.updatePodNetworkings).

Same guarantees as the eni-config writers (act/eni_config_writer.py):
- every write is computed from a GET made just before it and is a JSON patch whose first op tests
  that GET's `metadata.resourceVersion`, so the API server refuses it if the PodNetworking changed
  in between (an edit by someone else is never overwritten);
- on a conflict it reads again, recomputes and retries, at most MAX_ATTEMPTS times, then fails
  saying what was written and to run again;
- only ids are appended to `spec.vSwitchOptions`; nothing else is touched, nothing is removed;
- retained on destroy, like eni_conf: pods of the PodNetworking hold IPs of those vSwitches, so
  delete writes nothing.

Which PodNetworkings: those whose options cover a zone of the wanted ids (decide/pod_networking.py),
read at write time. The provider holds no state and is pickled by reference to this module path.
"""
from __future__ import annotations

import random
import sys
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn

from ..decide import pod_networking as decide
from ..decide.facts import POD_NETWORKING_WRITER_KIND as KIND
from ..decide.facts import POD_NETWORKING_WRITER_USER_AGENT, TERWAY_CRD_GROUP, TERWAY_CRD_VERSION
from .configmap_writes import MAX_ATTEMPTS, Conflict, EniConfigWriteError
from .dynamic import KubeconfigResource, RedactingProvider, changed_inputs, is_unknown, plain
from .kube import KubeStatusError, kube_client, read, send

INPUT_KEYS = ("kind", "wantedVSwitches", "zoneOfIds", "kubeconfig")


def report(line: str) -> None:
    # The engine streams a dynamic provider's stderr to the user as info lines.
    print(f"pod-networking-writer: {line}", file=sys.stderr, flush=True)


POD_NETWORKINGS = f"/apis/{TERWAY_CRD_GROUP}/{TERWAY_CRD_VERSION}/{decide.PLURAL}"


def list_pod_networkings(client: Any) -> list[dict]:
    answer = read(client, POD_NETWORKINGS, what="listing PodNetworkings")
    return [] if answer is None else list(answer.get("items") or [])


def _patch_options(client: Any, pod_networking: Mapping[str, Any], options: list[str]) -> None:
    meta = pod_networking["metadata"]
    op = "replace" if "vSwitchOptions" in (pod_networking.get("spec") or {}) else "add"
    body = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
        {"op": op, "path": "/spec/vSwitchOptions", "value": options},
    ]
    try:
        send(
            client, "PATCH", f"{POD_NETWORKINGS}/{meta['name']}", body=body,
            content_type="application/json-patch+json", what=f"writing PodNetworking {meta['name']}",
        )
    except KubeStatusError as err:
        if err.status in (409, 422):  # the resourceVersion test failed: it changed since our read
            raise Conflict() from None
        raise


def add_vswitch_ids(
    kubeconfig: str,
    wanted: Mapping[str, Sequence[str]],
    zone_of_id: Mapping[str, str],
    *,
    after_read: Optional[Callable[[list[dict]], None]] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, list[str]]:
    """Append the wanted ids to each PodNetworking that covers their zone. Returns name -> ids added."""
    added: dict[str, list[str]] = {}
    with kube_client(kubeconfig, POD_NETWORKING_WRITER_USER_AGENT) as client:
        for number in range(1, MAX_ATTEMPTS + 1):
            live = list_pod_networkings(client)
            if after_read is not None:
                after_read(live)
            stale = decide.stale_pod_networkings(live, zone_of_id, wanted)
            if not stale:
                return added
            by_name = {str(p["metadata"]["name"]): p for p in live}
            try:
                for name in dict.fromkeys(s.name for s in stale):
                    missing = [i for s in stale if s.name == name for i in s.missing]
                    options = decide.options_after((by_name[name].get("spec") or {}).get("vSwitchOptions") or [], missing)
                    _patch_options(client, by_name[name], options)
                    added.setdefault(name, []).extend(i for i in missing if i not in added.get(name, []))
                    report(f"added {', '.join(missing)} to PodNetworking {name}")
            except Conflict:
                report(f"a PodNetworking changed while adding vSwitch ids (attempt {number}/{MAX_ATTEMPTS}); reading again")
                if number < MAX_ATTEMPTS:
                    sleep(0.1 * number + random.uniform(0, 0.1))
    done = f"ids were added to {', '.join(sorted(added))} only" if added else "nothing was written"
    raise EniConfigWriteError(
        f"PodNetworkings changed {MAX_ATTEMPTS} times between the stack's read and its write; {done}. Something else is "
        "writing them right now (kubectl get podnetworkings --show-managed-fields -o yaml), then run `pulumi up` again"
    )


class PodNetworkingWriterProvider(RedactingProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        wanted = news.get("wantedVSwitches")
        failures = []
        if not is_unknown(wanted) and not isinstance(wanted, Mapping):
            failures.append(dyn.CheckFailure("wantedVSwitches", "must map each zone to a list of vSwitch ids"))
        return dyn.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        changed = changed_inputs(olds, news, INPUT_KEYS)
        return dyn.DiffResult(changes=bool(changed), replaces=[], stables=[k for k in INPUT_KEYS if k not in changed])

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        return dyn.CreateResult(id_="pod-networkings", outs=self._write(props, {}))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        return dyn.UpdateResult(outs=self._write(news, dict(olds.get("added") or {})))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        return dyn.ReadResult(id_=id_, outs=dict(props))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # Retained, like eni_conf: pods of those PodNetworkings hold IPs of the listed vSwitches.
        return None

    @staticmethod
    def _write(props: Mapping[str, Any], before: Mapping[str, list]) -> dict[str, Any]:
        wanted = {zone: list(ids) for zone, ids in dict(plain(props["wantedVSwitches"])).items()}
        zone_of_id = {**dict(plain(props.get("zoneOfIds")) or {}), **{i: z for z, ids in wanted.items() for i in ids}}
        added = add_vswitch_ids(plain(props["kubeconfig"]), wanted, zone_of_id)
        merged = {name: list(ids) for name, ids in before.items()}
        for name, ids in added.items():
            merged[name] = decide.options_after(merged.get(name, []), ids)
        return {**{k: props.get(k) for k in INPUT_KEYS}, "added": merged}


class PodNetworkingWriter(KubeconfigResource, module="terway_stack", name="PodNetworkingWriter"):
    """Appends the pod vSwitch ids to the PodNetworkings that cover their zones; retained on delete."""

    added: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        wanted_vswitches: pulumi.Input[Mapping[str, Sequence[str]]],
        zone_of_ids: pulumi.Input[Mapping[str, str]],
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        props = {"kind": KIND, "wantedVSwitches": wanted_vswitches, "zoneOfIds": zone_of_ids, "added": None}
        super().__init__(PodNetworkingWriterProvider(), name, props, kubeconfig, opts)
