"""STAND-IN for the pulumi-resource-kubernetes provider plugin (e2e harness only).

The real provider (github.com/pulumi/pulumi-kubernetes/provider/v4) cannot be built on this
project's machines: the Go module proxy reachable here does not serve it. This small gRPC
ResourceProvider, written against the Pulumi Python SDK's protocol stubs and the kubernetes
Python client, lets the REAL engine run programs that use pulumi_kubernetes resources against
the local control plane. It follows pulumi-kubernetes v4's server-side-apply behaviour where
the e2e suite depends on it, and nothing more:

* every ``kubernetes:<group>/<version>:<Kind>`` through the dynamic client (discovery);
* create/update = server-side apply ("upsert": an existing object is adopted), field manager
  ``pulumi-kubernetes-standin``, ``force`` when annotated ``pulumi.com/patchForce: "true"``;
* ``<Kind>Patch`` = server-side apply with the ``pulumi.com/patchFieldManager`` annotation (else
  ``pulumi-patcher-<name>``); delete relinquishes the fields (an apply of an empty object by
  the same manager), which removes fields only that manager owned (retain_on_delete skips it);
* other deletes remove the object and wait until it is gone;
* auto-naming ``<name>-<8 hex>`` when metadata.name is absent (kept across updates);
* await: Deployment/DaemonSet/StatefulSet rolled out, CRD Established, unless annotated
  ``pulumi.com/skipAwait: "true"`` (timeout ``pulumi.com/timeoutSeconds``, default 600);
* replace when metadata.name or metadata.namespace changes;
* provider config: ``kubeconfig`` (text or path), ``context``, ``namespace``; else $KUBECONFIG.

Not implemented: invokes (helm, yaml decode), previews with server-side dry run, await logic
beyond the above, Helm/ConfigFile components, secrets inside resources (acceptSecrets=false).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import traceback
from concurrent import futures
from typing import Any, Optional

import grpc
from google.protobuf import empty_pb2

from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

VERSION = "4.34.2"
FIELD_MANAGER = "pulumi-kubernetes-standin"
PATCH_FIELD_MANAGER = "pulumi.com/patchFieldManager"
PATCH_FORCE = "pulumi.com/patchForce"
SKIP_AWAIT = "pulumi.com/skipAwait"
TIMEOUT = "pulumi.com/timeoutSeconds"
AUTONAMED = "pulumi.com/autonamed"
INTERNAL_ANNOTATIONS = (PATCH_FIELD_MANAGER, PATCH_FORCE)


def _log(msg: str) -> None:
    print(f"[k8s-standin] {msg}", file=sys.stderr, flush=True)


def _ser(props: dict) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _unsecret(obj: Any) -> Any:
    if isinstance(obj, dict):
        if obj.get(_SIG) == _SECRET_SIG and "value" in obj:
            return _unsecret(obj["value"])
        return {k: _unsecret(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unsecret(v) for v in obj]
    return obj


def _des(struct, keep_unknowns: bool = False) -> dict:
    if struct is None:
        return {}
    return _unsecret(rpc.deserialize_properties(struct, keep_unknowns) or {})


def _has_unknown(obj: Any) -> bool:
    if obj == rpc.UNKNOWN:
        return True
    if isinstance(obj, dict):
        return any(_has_unknown(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_unknown(v) for v in obj)
    return False


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if v is not None and not k.startswith("__")}
    if isinstance(obj, list):
        return [_clean(v) for v in obj if v is not None]
    return obj


def _type_and_name(request) -> tuple[str, str]:
    typ = getattr(request, "type", "") or ""
    name = getattr(request, "name", "") or ""
    parts = request.urn.split("::")
    if not typ and len(parts) >= 4:
        typ = parts[2].split("$")[-1]
    if not name and len(parts) >= 4:
        name = parts[3]
    return typ, name


def _gvk(typ: str, inputs: dict) -> tuple[str, str, bool]:
    """(apiVersion, kind, is_patch) for a token like kubernetes:apps/v1:DeploymentPatch."""
    _, mod, kind = typ.split(":", 2)
    is_patch = kind.endswith("Patch")
    if is_patch:
        kind = kind[: -len("Patch")]
    group, _, version = mod.rpartition("/")
    api_version = version if group in ("core", "") else f"{group}/{version}"
    return inputs.get("apiVersion") or api_version, inputs.get("kind") or kind, is_patch


def _annotations(obj: dict) -> dict:
    return ((obj.get("metadata") or {}).get("annotations")) or {}


class Standin(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self) -> None:
        self._config: dict[str, Any] = {}
        self._dyn = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ cluster access

    def _client(self):
        with self._lock:
            if self._dyn is None:
                import yaml
                from kubernetes import config
                from kubernetes.dynamic import DynamicClient

                kc = self._config.get("kubeconfig") or ""
                ctx = self._config.get("context") or None
                if kc and ("\n" in kc or kc.lstrip().startswith("{")):
                    api = config.new_client_from_config_dict(yaml.safe_load(kc), context=ctx)
                else:
                    api = config.new_client_from_config(config_file=kc or None, context=ctx)
                self._dyn = DynamicClient(api)
            return self._dyn

    def _resource(self, api_version: str, kind: str):
        return self._client().resources.get(api_version=api_version, kind=kind)

    def _namespace(self, res, body: dict) -> Optional[str]:
        if not res.namespaced:
            return None
        md = body.setdefault("metadata", {})
        md.setdefault("namespace", self._config.get("namespace") or "default")
        return md["namespace"]

    @staticmethod
    def _id(obj: dict) -> str:
        md = obj.get("metadata") or {}
        return f"{md['namespace']}/{md['name']}" if md.get("namespace") else md["name"]

    @staticmethod
    def _outputs(live: dict, manager: str) -> dict:
        live = dict(live)
        md = dict(live.get("metadata") or {})
        md.pop("managedFields", None)
        live["metadata"] = md
        live["__fieldManager"] = manager
        return live

    # ------------------------------------------------------------------ apply / await / delete

    def _apply(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        api_version, kind, is_patch = _gvk(typ, inputs)
        res = self._resource(api_version, kind)
        body = _clean(inputs)
        body.update(apiVersion=api_version, kind=kind)
        ns = self._namespace(res, body)
        md = body["metadata"]
        ann = dict(md.get("annotations") or {})
        force = str(ann.get(PATCH_FORCE, "")).lower() == "true"
        manager = ann.get(PATCH_FIELD_MANAGER) or (f"pulumi-patcher-{name}" if is_patch else FIELD_MANAGER)
        for a in INTERNAL_ANNOTATIONS:
            ann.pop(a, None)
        if ann:
            md["annotations"] = ann
        else:
            md.pop("annotations", None)
        live = res.server_side_apply(body=body, name=md["name"], namespace=ns, field_manager=manager,
                                     force_conflicts=force).to_dict()
        if not is_patch and str(_annotations(inputs).get(SKIP_AWAIT, "")).lower() != "true":
            live = self._await(res, kind, live, int(_annotations(inputs).get(TIMEOUT) or 600))
        return self._id(live), self._outputs(live, manager)

    def _await(self, res, kind: str, live: dict, timeout: int) -> dict:
        md = live["metadata"]
        deadline = time.monotonic() + timeout
        while True:
            st = live.get("status") or {}
            gen_ok = (st.get("observedGeneration") or 0) >= (md.get("generation") or 0)
            if kind == "Deployment":
                want = (live.get("spec") or {}).get("replicas", 1)
                done = gen_ok and st.get("updatedReplicas", 0) == want and st.get("availableReplicas", 0) == want \
                    and st.get("replicas", 0) == want
            elif kind == "DaemonSet":
                want = st.get("desiredNumberScheduled", 0)
                done = gen_ok and st.get("updatedNumberScheduled", 0) == want and st.get("numberAvailable", 0) == want
            elif kind == "StatefulSet":
                want = (live.get("spec") or {}).get("replicas", 1)
                done = gen_ok and st.get("readyReplicas", 0) == want and st.get("updatedReplicas", 0) == want
            elif kind == "CustomResourceDefinition":
                done = any(c.get("type") == "Established" and c.get("status") == "True"
                           for c in st.get("conditions") or [])
            else:
                return live
            if done:
                return live
            if time.monotonic() > deadline:
                raise TimeoutError(f"{kind} {self._id(live)} not ready after {timeout}s: status={json.dumps(st)}")
            time.sleep(0.5)
            live = res.get(name=md["name"], namespace=md.get("namespace")).to_dict()

    def _delete(self, typ: str, name: str, outputs: dict, old_inputs: dict) -> None:
        from kubernetes.dynamic.exceptions import NotFoundError

        src = old_inputs or outputs
        api_version, kind, is_patch = _gvk(typ, src)
        res = self._resource(api_version, kind)
        md = (outputs.get("metadata") or src.get("metadata") or {})
        ns = md.get("namespace") if res.namespaced else None
        if is_patch:
            manager = outputs.get("__fieldManager") or _annotations(src).get(PATCH_FIELD_MANAGER) \
                or f"pulumi-patcher-{name}"
            body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": md["name"]}}
            if ns:
                body["metadata"]["namespace"] = ns
            try:
                res.server_side_apply(body=body, name=md["name"], namespace=ns, field_manager=manager,
                                      force_conflicts=True)
            except NotFoundError:
                pass
            return
        try:
            res.delete(name=md["name"], namespace=ns, body={"propagationPolicy": "Background"})
        except NotFoundError:
            return
        deadline = time.monotonic() + int(_annotations(src).get(TIMEOUT) or 300)
        while time.monotonic() < deadline:
            try:
                res.get(name=md["name"], namespace=ns)
            except NotFoundError:
                return
            time.sleep(0.3)
        raise TimeoutError(f"{kind} {md['name']} still present after delete")

    # ------------------------------------------------------------------ gRPC

    def _guard(fn):  # noqa: N805
        def wrapper(self, request, context):
            try:
                return fn(self, request, context)
            except Exception as err:  # noqa: BLE001
                body = getattr(err, "body", None) or getattr(err, "summary", lambda: "")()
                _log(traceback.format_exc())
                context.abort(grpc.StatusCode.UNKNOWN, f"{type(err).__name__}: {err} {body or ''}".strip())

        return wrapper

    def GetPluginInfo(self, request, context):
        return proto.PluginInfo(version=VERSION)

    def CheckConfig(self, request, context):
        return proto.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        olds, news = _des(request.olds, True), _des(request.news, True)
        keys = ("kubeconfig", "context", "namespace")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        return proto.DiffResponse(changes=proto.DiffResponse.DIFF_SOME if changed else proto.DiffResponse.DIFF_NONE,
                                  diffs=changed)

    def Configure(self, request, context):
        cfg = {k.split(":")[-1]: v for k, v in request.variables.items()}
        cfg.update({k: v for k, v in _des(request.args).items() if v is not None})
        self._config = {k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in cfg.items()}
        self._dyn = None
        return proto.ConfigureResponse(acceptSecrets=False, supportsPreview=False, acceptResources=False)

    @_guard
    def Check(self, request, context):
        typ, name = _type_and_name(request)
        olds, news = _des(request.olds, True), _des(request.news, True)
        md = news.setdefault("metadata", {})
        if not typ.endswith("Patch") and isinstance(md, dict):
            if md.get("name") is None:
                old_md = olds.get("metadata") or {}
                if old_md.get("name") and _annotations(olds).get(AUTONAMED) == "true":
                    md["name"] = old_md["name"]
                else:
                    md["name"] = f"{name}-{os.urandom(4).hex()}"
                if isinstance(md.get("annotations"), dict) or md.get("annotations") is None:
                    md["annotations"] = {**(md.get("annotations") or {}), AUTONAMED: "true"}
        return proto.CheckResponse(inputs=_ser(news))

    @_guard
    def Diff(self, request, context):
        news = _des(request.news, True)
        olds = _des(request.old_inputs, True) if request.HasField("old_inputs") else _des(request.olds, True)
        olds = {k: v for k, v in olds.items() if not k.startswith("__")}
        news_c = {k: v for k, v in news.items() if not k.startswith("__")}
        if olds == news_c:
            return proto.DiffResponse(changes=proto.DiffResponse.DIFF_NONE)
        diffs = sorted(k for k in set(olds) | set(news_c) if olds.get(k) != news_c.get(k))
        replaces = []
        omd, nmd = olds.get("metadata") or {}, news_c.get("metadata") or {}
        if isinstance(omd, dict) and isinstance(nmd, dict):
            for key in ("name", "namespace"):
                if nmd.get(key) == rpc.UNKNOWN:
                    continue  # decided when known; the engine diffs again at update time
                if omd.get(key) != nmd.get(key) and (omd.get(key) or nmd.get(key)):
                    replaces.append(f"metadata.{key}")
        return proto.DiffResponse(changes=proto.DiffResponse.DIFF_SOME, diffs=diffs, replaces=replaces,
                                  deleteBeforeReplace=False)

    @_guard
    def Create(self, request, context):
        typ, name = _type_and_name(request)
        id_, outs = self._apply(typ, name, _des(request.properties))
        return proto.CreateResponse(id=id_, properties=_ser(outs))

    @_guard
    def Update(self, request, context):
        typ, name = _type_and_name(request)
        id_, outs = self._apply(typ, name, _des(request.news))
        return proto.UpdateResponse(properties=_ser(outs))

    @_guard
    def Delete(self, request, context):
        typ, name = _type_and_name(request)
        old_inputs = _des(request.old_inputs) if request.HasField("old_inputs") else {}
        self._delete(typ, name, _des(request.properties), old_inputs)
        return empty_pb2.Empty()

    @_guard
    def Read(self, request, context):
        from kubernetes.dynamic.exceptions import NotFoundError

        typ, name = _type_and_name(request)
        props, inputs = _des(request.properties), _des(request.inputs)
        src = inputs or props
        api_version, kind, is_patch = _gvk(typ, src)
        res = self._resource(api_version, kind)
        ns, _, obj_name = request.id.rpartition("/")
        try:
            live = res.get(name=obj_name, namespace=(ns or None) if res.namespaced else None).to_dict()
        except NotFoundError:
            return proto.ReadResponse(id="")
        manager = props.get("__fieldManager") or _annotations(src).get(PATCH_FIELD_MANAGER) or FIELD_MANAGER
        fields = {"id": request.id, "properties": _ser(self._outputs(live, manager))}
        if inputs:
            fields["inputs"] = _ser(inputs)
        return proto.ReadResponse(**fields)

    def Invoke(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"k8s-standin: function {request.tok} is not supported")

    def Cancel(self, request, context):
        return empty_pb2.Empty()


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Standin(), server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
