"""Guarded writes to a ConfigMap: each computed from a fresh read, refused if the ConfigMap moved since.

Every write here:
- is computed from a GET made just before it, and carries that GET's `metadata.resourceVersion`,
  so the API server refuses it (409 Conflict) if the ConfigMap changed in between;
- on a conflict, reads again, recomputes against the value current then (the eni_conf merge
  included) and tries again, at most MAX_ATTEMPTS times; then it fails saying what was written
  (normally nothing) and to run again;
- sets keys by server-side apply (fixed field manager, force), so the stack co-owns them;
- removes keys by JSON patch with a `test` op on the value the stack put there, so a key goes
  whoever else co-owns it, and a value someone else set is never removed.

The eni-config writers (eni_config_writer.py, policy_keys_writes.py) are built on these.
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from ..decide.facts import ENI_CONFIG_WRITER_USER_AGENT
from ..decide.live_objects import data_key_owners
from .kube import KubeStatusError, kube_client, read, send

# Each conflict means another writer changed eni-config within the few milliseconds between our
# read and our write. Five in a row means something rewrites it continuously; more retries would not
# win against that, and the person running `pulumi up` should look.
MAX_ATTEMPTS = 5


class EniConfigWriteError(Exception):
    """A write to eni-config that could not be made. Messages never contain the kubeconfig."""


class ConfigMapMissing(EniConfigWriteError):
    def __init__(self, namespace: str, name: str):
        super().__init__(
            f"ConfigMap {namespace}/{name} not found: this cluster has no Terway eni-config; nothing was written "
            "to it and Terway was not restarted. A Typha written by this run runs unused (Felix is not pointed at "
            "it); restore eni-config and run `pulumi up` again"
        )


class Conflict(Exception):
    """The API server refused a write because the ConfigMap changed since it was read."""


def report(line: str) -> None:
    # The engine streams a dynamic provider's stderr to the user as info lines.
    print(f"eni-config-writer: {line}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- Kubernetes access


def client_for(kubeconfig: str):
    """A client whose requests the audit log shows as the eni-config writer's."""
    return kube_client(kubeconfig, ENI_CONFIG_WRITER_USER_AGENT)


def read_configmap(client: Any, namespace: str, name: str) -> dict:
    from kubernetes.client import CoreV1Api

    obj = read(CoreV1Api(client).read_namespaced_config_map, name, namespace)
    if obj is None:
        raise ConfigMapMissing(namespace, name)
    return obj


def _patch(client: Any, namespace: str, name: str, body: Any, content_type: str, manager: str, force: bool) -> dict:
    from kubernetes.client import CoreV1Api

    try:
        return send(
            CoreV1Api(client).patch_namespaced_config_map, name, namespace, body,
            what=f"writing {namespace}/{name}", field_manager=manager, force=force or None, _content_type=content_type,
        )
    except KubeStatusError as err:
        # 409: the resourceVersion precondition failed. 422 from a JSON patch: a `test` op failed,
        # i.e. the value changed since the read. Both mean: read again.
        if err.status in (409, 422):
            raise Conflict() from None
        if err.status == 404:  # a JSON patch never creates: the ConfigMap is gone
            raise ConfigMapMissing(namespace, name) from None
        raise


def apply_keys(client: Any, cm: Mapping[str, Any], data: Mapping[str, str], manager: str) -> dict:
    """Server-side apply of exactly `data`, refused if the ConfigMap is no longer at cm's resourceVersion."""
    meta = cm["metadata"]
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "resourceVersion": meta["resourceVersion"]},
    }
    if data:
        body["data"] = dict(data)
    written = _patch(client, meta["namespace"], meta["name"], body, "application/apply-patch+yaml", manager, force=True)
    if meta.get("uid") and (written.get("metadata") or {}).get("uid") != meta["uid"]:
        _undo_create(client, written)
        raise ConfigMapMissing(meta["namespace"], meta["name"])
    return written


def _undo_create(client: Any, created: Mapping[str, Any]) -> None:
    """Delete the ConfigMap an apply created because the one it was computed from was deleted meanwhile.

    An apply creates a missing object, and the resourceVersion in its body does not stop that: a
    ConfigMap deleted between our read and our write came back holding only the stack's keys, which
    is not a Terway eni-config. The delete is conditional on the created object's uid and
    resourceVersion, so an eni-config made by anyone else since is never touched.
    """
    from kubernetes.client import CoreV1Api

    meta = created.get("metadata") or {}
    preconditions = {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
    try:
        send(CoreV1Api(client).delete_namespaced_config_map, meta.get("name"), meta.get("namespace"),
             body={"preconditions": preconditions}, what=f"removing the {meta.get('namespace')}/{meta.get('name')} this write created")
    except KubeStatusError as err:
        if err.status != 404:
            raise EniConfigWriteError(
                f"{meta.get('namespace')}/{meta.get('name')} was deleted while the stack wrote it, and the write created "
                f"a new one holding only the stack's keys that could not be removed ({err}); delete it or restore "
                "eni-config, then run `pulumi up` again"
            ) from None


def json_patch(client: Any, cm: Mapping[str, Any], ops: Sequence[Mapping[str, Any]], manager: str) -> dict:
    """A JSON patch whose first op tests cm's resourceVersion (the same precondition as apply)."""
    meta = cm["metadata"]
    guarded = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]}, *ops]
    return _patch(client, meta["namespace"], meta["name"], guarded, "application/json-patch+json", manager, force=False)


def data_path(key: str) -> str:
    return "/data/" + key.replace("~", "~0").replace("/", "~1")


def owned_keys(cm: Mapping[str, Any], manager: str) -> set[str]:
    """data keys the manager owns by server-side apply (metadata.managedFields)."""
    return {
        key for owner, operation, keys in data_key_owners(cm) if owner == manager and operation == "Apply" for key in keys
    }


def live_data(cm: Mapping[str, Any]) -> dict[str, str]:
    return dict(cm.get("data") or {})


# --------------------------------------------------------------------------- the retry loop


@dataclass
class Attempt:
    """One read-compute-write pass; `wrote` is set once any request of the pass succeeded."""

    cm: dict
    wrote: bool = False


def write_with_retries(
    kubeconfig: str,
    namespace: str,
    name: str,
    step: Callable[[Any, Attempt], Any],
    what: str,
    *,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    after_read: Optional[Callable[[dict], None]] = None,
) -> Any:
    """Run `step(client, attempt)` on a fresh read until it completes without a conflict.

    `after_read` is called with each read before `step` (tests use it to change the ConfigMap
    between our read and our write deterministically).
    """
    wrote_before = False
    with client_for(kubeconfig) as client:
        for number in range(1, attempts + 1):
            attempt = Attempt(read_configmap(client, namespace, name))
            if after_read is not None:
                after_read(attempt.cm)
            try:
                return step(client, attempt)
            except Conflict:
                wrote_before = wrote_before or attempt.wrote
                report(f"{namespace}/{name} changed while writing {what} (attempt {number}/{attempts}); reading it again")
                if number < attempts:
                    sleep(0.1 * number + random.uniform(0, 0.1))
    done = (
        "part of it was written; the rest was not" if wrote_before else "nothing was written"
    )
    raise EniConfigWriteError(
        f"{namespace}/{name} changed {attempts} times between the stack's read and its write of {what}; "
        f"{done}. Something else is writing it right now: check who (kubectl -n {namespace} get cm {name} "
        f"--show-managed-fields -o yaml), then run `pulumi up` again"
    )


def observe_keys(kubeconfig: str, namespace: str, name: str, keys: Sequence[str]) -> dict[str, str]:
    with client_for(kubeconfig) as client:
        data = live_data(read_configmap(client, namespace, name))
    return {k: data[k] for k in keys if k in data}
