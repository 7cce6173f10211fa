"""Secrets end to end: a value set with `--secret` stays a Pulumi secret wherever it flows.

The engine marks secret a whole top-level key (`pulumi config set --secret --path
terway:typha.image ...` makes all of `terway:typha` secret) and tells the program only which keys.
The settings carry those keys (`StackSettings.secret_roots`); `decide.config_values.secret_texts`
lists the values under them as the program uses them (cleaned, canonical). From there one mechanism
covers every resource, component and stack output, whatever code builds them:

- a stack transformation walks the inputs of every resource before it is registered, and wraps in
  `pulumi.Output.secret` each value that holds one of those texts (a string containing it, such as
  an image reference built from a secret region, or a number equal to it), also inside Outputs,
  which are checked when they resolve. The input names with a secret become
  `additional_secret_outputs`, so a provider that echoes them keeps them secret in state too;
- component outputs and stack outputs go through the same walk (`keep`); an output computed from a
  secret without containing its text (Typha replicas from a secret node count, usable IPs from a
  secret CIDR) is secret as a whole (`OUTPUT_SOURCES`);
- messages: every log line of the program and every input problem go through the run's
  `decide.redaction.Redactor`; each dynamic resource gets the secret texts as one more secret input
  (`act.dynamic.REDACTIONS_KEY`), from which its provider redacts its own failures, errors and
  stderr lines.

Mapping keys (zone ids, tag keys) are names, not values: they become parts of resource names, which
Pulumi never encrypts. Values that would become part of a resource name (the cluster name, the
DaemonSet names) cannot stay secret there, so a secret holding one is refused before anything is
declared (`names_problems`).
"""
from __future__ import annotations

import re
from typing import Any, Collection, Iterable, Mapping, Optional

import pulumi

from ..act.dynamic import REDACTIONS_KEY
from ..decide.config_values import scalar_leaves, secret_texts
from ..decide.problems import REGION_KEY, Problem, key_path
from ..decide.redaction import Redactor
from ..decide.settings import StackSettings

# Stack output -> the top-level keys it is computed from without containing their text.
OUTPUT_SOURCES: dict[str, tuple[str, ...]] = {
    "typhaReplicas": ("cluster", "typha"),
    "podVSwitchUsableIps": ("podVSwitches",),
    "podIpCapacity": ("podVSwitches",),
    "eniConfigTrigger": ("podVSwitches", "networkPolicy"),
}
_WORD = "0-9A-Za-z_"
# Outputs of a read resource that carry what was read: a Kubernetes object's data, its metadata (whose
# last-applied annotation and managedFields may repeat the data), and `__inputs`, where
# pulumi-kubernetes keeps the whole object it read (found in state by e2e/tests/test_secret_values.py).
READ_OUTPUTS_KEPT_SECRET = ("data", "binaryData", "metadata", "spec", "status", "__inputs")


class Secrecy:
    """Which values are secret, found by their text, and how to keep them so."""

    def __init__(self, texts: Collection[str], numbers: Collection[int], roots: Collection[str] = ()):
        self.roots = frozenset(roots)
        self.numbers = frozenset(numbers)
        self.texts = frozenset(t for t in texts if t)
        # Standing alone only: a secret "net" must not turn every "network" secret.
        self._pattern = (
            re.compile(rf"(?<![{_WORD}])(?:{'|'.join(map(re.escape, sorted(self.texts, key=len, reverse=True)))})"
                       rf"(?![{_WORD}])") if self.texts else None
        )
        self.redactor = Redactor(self.texts)

    @classmethod
    def of(cls, settings: StackSettings) -> "Secrecy":
        texts, numbers = secret_texts(settings)
        return cls(texts, numbers, settings.secret_roots)

    @property
    def empty(self) -> bool:
        return self._pattern is None and not self.numbers

    def holds_secret(self, value: Any) -> bool:
        """Whether a plain value (not an Output) contains a secret text or number anywhere."""
        for node in scalar_leaves(value):
            if isinstance(node, str):
                if self._pattern is not None and self._pattern.search(node):
                    return True
            elif isinstance(node, int) and not isinstance(node, bool) and node in self.numbers:
                return True
        return False

    def keep(self, value: Any) -> Any:
        """`value` with every part that holds a secret wrapped as a secret Output (Outputs when they resolve).

        Walks mappings and lists, the shape every input of this stack has; an SDK `...Args` object
        would not be walked, so declare passes plain dicts.
        """
        if self.empty:
            return value
        if isinstance(value, pulumi.Output):
            return value.apply(self.keep)
        if isinstance(value, Mapping):
            return {key: self.keep(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.keep(item) for item in value]
        return pulumi.Output.secret(value) if self.holds_secret(value) else value

    def derived_from_secret(self, sources: Iterable[str]) -> bool:
        return any(source in self.roots for source in sources)

    def outputs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Stack outputs: each kept secret where it holds a secret, and whole where computed from one."""
        kept = {}
        for name, value in values.items():
            if self.derived_from_secret(OUTPUT_SOURCES.get(name, ())):
                kept[name] = pulumi.Output.secret(value)
            else:
                kept[name] = self.keep(value)
        return kept

    def transformation(self, args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
        """For `pulumi.runtime.register_stack_transformation`: every resource's inputs, kept secret."""
        if self.empty:
            return None
        if args.opts is not None and args.opts.id is not None:
            # A read (`ConfigMap.get`, whose props are an SDK args object): what it reads back may hold a
            # secret this stack wrote there (eni_conf lists a secret vSwitch id after the first `up`), and
            # its outputs are state. Kept secret whole.
            kept = pulumi.ResourceOptions(additional_secret_outputs=list(READ_OUTPUTS_KEPT_SECRET))
            return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, kept))
        if not isinstance(args.props, Mapping):
            return None
        props, secret_names = {}, []
        for name, value in args.props.items():
            if name.startswith("__"):  # the dynamic provider's own pickled code
                props[name] = value
                continue
            props[name] = self.keep(value)
            if not isinstance(value, pulumi.Output) and self.holds_secret(value):
                secret_names.append(name)
        if "__provider" in args.props and self.texts:
            # A dynamic provider learns the run's secret texts, to redact its messages (act/dynamic.py).
            props[REDACTIONS_KEY] = pulumi.Output.secret(sorted(self.texts))
            secret_names.append(REDACTIONS_KEY)
        opts = args.opts
        if secret_names:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secret_names))
        return pulumi.ResourceTransformationResult(props, opts)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)


# The Secrecy of the run in progress, for the log redaction below (a program is one run per process;
# the mock runtime's runs each set their own).
_current = Secrecy((), ())


def redacted(text: str) -> str:
    """`text` with every secret value of the run in progress shown as [secret]."""
    return _current.redact(text)


def _redacting(log_function):
    def log(message: str, *args: Any, **kwargs: Any) -> None:
        return log_function(_current.redact(message) if isinstance(message, str) else message, *args, **kwargs)

    log.redacting = True
    return log


def _redact_every_log_line() -> None:
    """Every line the program logs (warnings, notes, the preflight's findings) goes through the run's
    redaction, whoever logs it: a message never quotes a secret value."""
    for level in ("debug", "info", "warn", "error"):
        function = getattr(pulumi.log, level)
        if not getattr(function, "redacting", False):
            setattr(pulumi.log, level, _redacting(function))


def keep_secrets_everywhere(settings: StackSettings) -> Secrecy:
    """Register the transformation for every resource declared from now on, and redact every log line;
    returns the Secrecy."""
    global _current
    secrecy = _current = Secrecy.of(settings)
    _redact_every_log_line()
    if not secrecy.empty:
        pulumi.runtime.register_stack_transformation(secrecy.transformation)
    return secrecy


def kept_component_outputs(settings: StackSettings, outputs: Mapping[str, Any], *sources: str) -> dict[str, Any]:
    """A component's outputs (they are state too): whole secrets when computed from a secret `sources`
    key, else kept secret where they hold a secret's text."""
    secrecy = Secrecy.of(settings)
    if secrecy.derived_from_secret(sources):
        return {name: pulumi.Output.secret(value) for name, value in outputs.items()}
    return {name: secrecy.keep(value) for name, value in outputs.items()}


# Values that become part of resource names (URNs), by the top-level key holding them.
def _named_values(settings: StackSettings) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    named: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    if settings.pod_vswitches is not None and settings.pod_vswitches.created_zones:
        named["cluster"] = [(("cluster", "name"), settings.cluster.name)]
        # Zone ids (names in resource names) start with the region.
        named[REGION_KEY] = [((REGION_KEY,), settings.region)]
    named["terway"] = [(("terway", "daemonSets", str(i)), ds) for i, ds in enumerate(settings.terway.daemon_sets)]
    return named


def names_problems(settings: StackSettings) -> list[Problem]:
    """A secret key holding a value the stack puts into resource names: refused, it could not stay secret."""
    problems = []
    for root, values in _named_values(settings).items():
        if root in settings.secret_roots:
            for loc, _value in values:
                problems.append(
                    Problem(
                        key_path(loc),
                        f"is a secret ({key_path([root])} was set with --secret), but it becomes part of resource "
                        "names, which Pulumi stores and prints in plain text; set this key without --secret",
                    )
                )
    return problems
