"""FALLBACK runner: a Pulumi Python program applied to a real cluster WITHOUT the Pulumi engine.

The Pulumi CLI, the Python language host and the pulumi-kubernetes provider plugin
cannot be built on this project's machines (the Go module proxy reachable here
refuses those modules), so ``pulumi up`` cannot run.  This module runs a program
under the Pulumi SDK's mock runtime (``pulumi.runtime.set_mocks``) with mocks that
do the real work against the e2e control plane:

* ``kubernetes:<group>/<version>:<Kind>`` - server-side apply of the inputs (create
  only: an object that already exists is an error, as in pulumi-kubernetes);
  metadata.name is auto-named ``<resource name>-<8 hex>`` when absent.
* ``kubernetes:<group>/<version>:<Kind>Patch`` - server-side apply with the field
  manager from the ``pulumi.com/patchFieldManager`` annotation, ``force`` from
  ``pulumi.com/patchForce: "true"`` (a conflict is an error otherwise).
* ``Kind.get(name, "ns/name")`` - reads the live object.
* ``pulumi-python:dynamic:Resource`` - unpickles the program's ResourceProvider
  and calls ``create`` (or ``read`` for a get), exactly the code the
  dynamic-provider plugin would run.
* providers and component resources - recorded, nothing applied.

What it is NOT: no state, no diff/update/replace/delete across runs, no
``retain_on_delete``/destroy semantics, no preview, no policy packs, no
pulumi-kubernetes await logic.  It proves what the program writes to the
API server (verbs, field managers, resulting objects) on a first ``up``; the
real engine is still needed for the rest.

    from e2e.controlplane import ControlPlane
    from e2e.mockapply import apply_program
    with ControlPlane() as cp:
        result = apply_program("path/to/__main__.py", kubeconfig=cp.kubeconfig,
                               config={"kubeconfig": open(cp.kubeconfig_inline_path).read()})
        print(result.resources)
"""

from __future__ import annotations

import base64
import json
import os
import runpy
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi.runtime
from pulumi.runtime import mocks as _mocks

DEFAULT_FIELD_MANAGER = "pulumi-kubernetes-mockapply"
PATCH_FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager"
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"


@dataclass
class Applied:
    typ: str
    name: str
    id: str
    action: str  # "apply", "patch", "read", "dynamic-create", "dynamic-read", "noop"
    state: dict = field(repr=False, default_factory=dict)


_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _unsecret(obj: Any) -> Any:
    """Unwrap the engine's secret envelopes ({sig: secret, value: ...}) that mocks receive as inputs."""
    if isinstance(obj, dict):
        if obj.get(_SIG) == _SECRET_SIG and "value" in obj:
            return _unsecret(obj["value"])
        return {k: _unsecret(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unsecret(v) for v in obj]
    return obj


def _clean(obj: Any) -> Any:
    """Drop unknowns/None so the body is a valid apply configuration."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if v is not None and not k.startswith("__")}
    if isinstance(obj, list):
        return [_clean(v) for v in obj if v is not None]
    return obj


def _api_version(typ: str, inputs: dict) -> tuple[str, str]:
    _, mod, kind = typ.split(":", 2)
    group, _, version = mod.rpartition("/")
    api_version = inputs.get("apiVersion") or (version if group in ("core", "") else f"{group}/{version}")
    return api_version, inputs.get("kind") or kind


class ClusterMocks(pulumi.runtime.Mocks):
    """Mocks that apply kubernetes resources and run dynamic providers for real."""

    def __init__(self, kubeconfig: str, field_manager: str = DEFAULT_FIELD_MANAGER) -> None:
        self.kubeconfig = kubeconfig
        self.field_manager = field_manager
        self.applied: list[Applied] = []
        self._dyn = None

    # ------------------------------------------------------------------ helpers

    def dynamic_client(self):
        if self._dyn is None:
            from kubernetes import config
            from kubernetes.dynamic import DynamicClient

            self._dyn = DynamicClient(config.new_client_from_config(config_file=self.kubeconfig))
        return self._dyn

    def _resource(self, api_version: str, kind: str):
        return self.dynamic_client().resources.get(api_version=api_version, kind=kind)

    @staticmethod
    def _id(obj: dict) -> str:
        md = obj.get("metadata") or {}
        return f"{md['namespace']}/{md['name']}" if md.get("namespace") else md["name"]

    def _record(self, args, id_: str, action: str, state: dict) -> tuple[str, dict]:
        self.applied.append(Applied(args.typ, args.name, id_, action, state))
        return id_, state

    # ------------------------------------------------------------------ Mocks API

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        typ, inputs = args.typ, _unsecret(dict(args.inputs or {}))
        if typ.startswith("pulumi:providers:") or (not args.custom and not args.resource_id):
            return self._record(args, f"{args.name}_id", "noop", inputs)
        if typ == "pulumi-python:dynamic:Resource":
            return self._dynamic(args, inputs)
        if typ.startswith("kubernetes:") and typ.count(":") == 2 and "/" in typ.split(":")[1]:
            return self._kubernetes(args, inputs)
        raise NotImplementedError(f"mockapply: resource type {typ} ({args.name}) is not supported")

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        raise NotImplementedError(f"mockapply: function {args.token} is not supported")

    # ------------------------------------------------------------------ kubernetes

    def _kubernetes(self, args, inputs: dict) -> tuple[str, dict]:
        api_version, kind = _api_version(args.typ, inputs)
        is_patch = args.typ.endswith("Patch")
        if is_patch and kind.endswith("Patch"):
            kind = kind[: -len("Patch")]
        res = self._resource(api_version, kind)
        if args.resource_id:  # Kind.get(name, id)
            ns, _, name = args.resource_id.rpartition("/")
            live = res.get(name=name, namespace=ns or None).to_dict()
            return self._record(args, args.resource_id, "read", live)

        body = _clean({k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")})
        body.update(apiVersion=api_version, kind=kind)
        md = body.setdefault("metadata", {})
        ann = md.get("annotations") or {}
        if res.namespaced:
            md.setdefault("namespace", "default")
        if is_patch:
            manager = ann.get(PATCH_FIELD_MANAGER_ANNOTATION) or f"pulumi-patcher-{args.name}"
            force = str(ann.get(PATCH_FORCE_ANNOTATION, "")).lower() == "true"
            # pulumi-kubernetes strips its own annotations from the applied patch
            for a in (PATCH_FIELD_MANAGER_ANNOTATION, PATCH_FORCE_ANNOTATION):
                ann.pop(a, None)
            if "annotations" in md and not ann:
                md.pop("annotations")
            live = res.server_side_apply(
                body=body, name=md["name"], namespace=md.get("namespace"),
                field_manager=manager, force_conflicts=force,
            ).to_dict()
            return self._record(args, self._id(live), "patch", live)

        if not md.get("name"):
            md["name"] = f"{args.name}-{secrets.token_hex(4)}"
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            res.get(name=md["name"], namespace=md.get("namespace"))
            raise RuntimeError(f"mockapply: {kind} {self._id(body)} already exists (pulumi-kubernetes would fail too)")
        except NotFoundError:
            pass
        live = res.server_side_apply(
            body=body, name=md["name"], namespace=md.get("namespace"), field_manager=self.field_manager,
        ).to_dict()
        return self._record(args, self._id(live), "apply", live)

    # ------------------------------------------------------------------ dynamic providers

    def _dynamic(self, args, inputs: dict) -> tuple[str, dict]:
        import dill

        provider = dill.loads(base64.b64decode(inputs.pop("__provider")))
        props = {k: v for k, v in inputs.items()}
        if args.resource_id:
            result = provider.read(args.resource_id, props)
            return self._record(args, getattr(result, "id", None) or args.resource_id, "dynamic-read", dict(result.outs or {}))
        result = provider.create(props)
        outs = {**props, **(result.outs or {})}
        return self._record(args, result.id, "dynamic-create", outs)


@dataclass
class ApplyResult:
    resources: list[Applied]
    outputs: dict[str, Any]


def apply_program(
    program: os.PathLike | str,
    kubeconfig: str,
    config: Optional[dict[str, Any]] = None,
    project: Optional[str] = None,
    stack: str = "e2e",
    field_manager: str = DEFAULT_FIELD_MANAGER,
) -> ApplyResult:
    """Run a Pulumi Python program (file or directory with __main__.py) against the cluster.

    ``config`` keys without a namespace are put in the project's namespace.
    The program directory is put first on sys.path (as the language host does).
    """
    program = Path(program)
    main = program / "__main__.py" if program.is_dir() else program
    project_dir = main.parent
    if project is None:
        import yaml

        pulumi_yaml = project_dir / "Pulumi.yaml"
        project = yaml.safe_load(pulumi_yaml.read_text())["name"] if pulumi_yaml.is_file() else "project"
    cfg = {}
    for k, v in (config or {}).items():
        key = k if ":" in k else f"{project}:{k}"
        cfg[key] = v if isinstance(v, str) else json.dumps(v)
    pulumi.runtime.set_all_config(cfg, [k for k in cfg])  # everything secret; harmless in mocks

    mocks = ClusterMocks(kubeconfig, field_manager)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    outputs: dict[str, Any] = {}

    sys.path.insert(0, str(project_dir))
    try:
        @pulumi.runtime.test
        def _run():
            runpy.run_path(str(main), run_name="__main__")
            stack_res = pulumi.runtime.get_root_resource()
            return pulumi.Output.from_input(getattr(stack_res, "outputs", {}) or {}).apply(outputs.update)

        _run()
    finally:
        sys.path.remove(str(project_dir))
    return ApplyResult(resources=mocks.applied, outputs=outputs)


if __name__ == "__main__":  # python e2e/mockapply.py PROGRAM_DIR KUBECONFIG [key=value ...]
    prog, kc, *kv = sys.argv[1:]
    res = apply_program(prog, kc, dict(x.split("=", 1) for x in kv))
    for a in res.resources:
        print(f"{a.action:15s} {a.typ} {a.name} -> {a.id}")
    print("outputs:", json.dumps(res.outputs, default=str))
