"""What every dynamic provider here shares: preview unknowns, secret wrappers, input diffs, the secret
kubeconfig, and messages that never quote a secret value.

pulumi.dynamic hands a provider's check/diff the unknown preview values as a sentinel string, and
inputs may arrive wrapped as RPC secrets. The providers compare inputs the same way: an unknown
counts as changed, a secret wrapper never does.

Secrets in messages. The engine strips the secret marks before a dynamic provider sees its inputs
(it does not accept secrets), so a provider cannot tell which of its values are secret. The program
tells it: each dynamic resource of a run with secret config gets the secret texts as one more secret
input, REDACTIONS_KEY (declare/secrets.py adds it to every dynamic resource). Every provider here
derives from `RedactingProvider`, whose methods learn those texts from their inputs and pass every
check failure, raised error and stderr line (the engine shows a provider's stderr) through
`decide.redaction.Redactor`: the secret value becomes [secret], wherever the message came from.
"""
from __future__ import annotations

import functools
import sys
import threading
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn
from pulumi.output import Unknown
from pulumi.runtime import rpc

from ..decide.redaction import Redactor
from .process_gc import freeze_loaded_modules, in_dynamic_provider_process, skip_final_collections

# The input holding the run's secret texts (a secret list of strings); never compared by a diff.
REDACTIONS_KEY = "redactions"


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


# --------------------------------------------------------------------------- redaction


class RedactedError(Exception):
    """An error of a provider whose message quoted a secret value: the same message, redacted."""


class _Learned:
    """The secret texts this provider process has been told, for every message it shows.

    One process serves one run's resources (up to four calls at once): the union of what they were
    told is what they all redact. It only grows, so a message is never redacted less than it should be.
    """

    def __init__(self) -> None:
        self.redactor = Redactor()
        self._lock = threading.Lock()

    def learn(self, props: Any) -> None:
        texts = plain(props.get(REDACTIONS_KEY)) if isinstance(props, Mapping) else None
        if not isinstance(texts, (list, tuple)) or has_unknown(texts):
            return
        with self._lock:
            self.redactor = self.redactor.with_texts([t for t in texts if isinstance(t, str)])
        if not self.redactor.empty:
            _redact_stderr()


LEARNED = _Learned()


class _RedactingStream:
    """sys.stderr of a provider process, every line redacted (progress reports, logging's last resort)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(LEARNED.redactor.redact(text) if isinstance(text, str) else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _redact_stderr() -> None:
    if not isinstance(sys.stderr, _RedactingStream):
        sys.stderr = _RedactingStream(sys.stderr)


def redacted(text: str) -> str:
    """`text` with every secret text this provider process was told shown as [secret]."""
    return LEARNED.redactor.redact(text)


def _redacting(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any) -> Any:
        props = [arg for arg in args if isinstance(arg, Mapping)]
        for arg in props:
            LEARNED.learn(arg)
        try:
            result = method(self, *args)
        except Exception as err:
            text = str(err)
            shown = redacted(text)
            if shown != text:
                raise RedactedError(shown) from None
            raise
        return _redacted_result(result, props[-1] if props else {})

    call.redacting = True
    return call


def _redacted_result(result: Any, props: Mapping[str, Any]) -> Any:
    """Failures redacted; the redactions carried on in checked inputs and outputs, so that every later
    call (create after check, delete from state) learns them too."""
    carried = props.get(REDACTIONS_KEY)
    if isinstance(result, dyn.CheckResult):
        result.failures = [dyn.CheckFailure(f.property, redacted(f.reason)) for f in result.failures or []]
        if carried is not None and isinstance(result.inputs, dict):
            result.inputs.setdefault(REDACTIONS_KEY, carried)
    elif isinstance(result, (dyn.CreateResult, dyn.UpdateResult)):
        if carried is not None and isinstance(result.outs, dict):
            result.outs.setdefault(REDACTIONS_KEY, carried)
    return result


class RedactingProvider(dyn.ResourceProvider):
    """A dynamic provider whose failures, errors and stderr lines never quote a secret value (see the
    module docstring). Subclasses define check/diff/create/update/read/delete as usual."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("check", "diff", "create", "update", "read", "delete"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "redacting", False):
                setattr(cls, name, _redacting(method))


if in_dynamic_provider_process():  # the engine waits for this process: see act/process_gc.py
    freeze_loaded_modules()  # pulumi, grpc, dill and the first provider's modules are loaded by now
    skip_final_collections()
