"""What every dynamic provider here shares: preview unknowns, secret wrappers, input diffs, the secret kubeconfig.

pulumi.dynamic hands a provider's check/diff the unknown preview values as a sentinel string, and
inputs may arrive wrapped as RPC secrets. The providers compare inputs the same way: an unknown
counts as changed, a secret wrapper never does.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn
from pulumi.output import Unknown
from pulumi.runtime import rpc

from .process_gc import freeze_loaded_modules, in_dynamic_provider_process, skip_final_collections


def is_unknown(value: Any) -> bool:
    """An unknown preview value as pulumi.dynamic hands it over: the sentinel string in diff, and in
    check (which deserializes with keep_unknowns) a `pulumi.output.Unknown` instance. The latter was
    first met under the real engine with a vSwitch created by the stack (its id known after apply)."""
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def has_unknown(value: Any) -> bool:
    """An unknown anywhere inside a value (a list of ids with one id unknown, say)."""
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_unknown(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """A value with an RPC secret wrapper removed (the engine normally strips them already)."""
    return rpc.unwrap_rpc_secret(value)


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """The keys whose new value is unknown or differs from the old one, secrets unwrapped."""
    return [k for k in keys if is_unknown(news.get(k)) or plain(news.get(k)) != plain(olds.get(k))]


def require_choice(value: Any, choices: Sequence[str], what: str) -> None:
    """A resource argument the program got wrong (a bug, not bad config): ValueError naming the choices."""
    if value not in choices:
        raise ValueError(f"{what} must be one of {tuple(choices)}, got {value!r}")


class KubeconfigResource(dyn.Resource):
    """A dynamic resource whose provider reaches the cluster with the kubeconfig text in its inputs.

    The kubeconfig travels as a secret input and is declared an additional secret output, so neither
    a preview nor the state shows it. `output_keys` are outputs the provider adds to its inputs: they
    start as None, so that the resource's Output attributes of those names exist. Subclasses name
    their type as usual (`class X(KubeconfigResource, module="terway_stack", name="X")`).
    """

    def __init__(
        self,
        provider: dyn.ResourceProvider,
        name: str,
        props: dict[str, Any],
        kubeconfig: pulumi.Input[str],
        opts: Optional[pulumi.ResourceOptions] = None,
        output_keys: Sequence[str] = (),
    ) -> None:
        props = {**props, **{key: None for key in output_keys}, "kubeconfig": pulumi.Output.secret(kubeconfig)}
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"]))
        super().__init__(provider, name, props, opts)


if in_dynamic_provider_process():  # the engine waits for this process: see act/process_gc.py
    freeze_loaded_modules()  # pulumi, grpc, dill and the first provider's modules are loaded by now
    skip_final_collections()
