"""One connection to the ACK cluster, shared by every Kubernetes resource and the restart provider."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, TypeVar

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ..act.kube import PROVIDER_REQUEST_TIMEOUT_SECONDS, KubeconfigError, parse_kubeconfig
from ..decide.kubeconfig_merge import kubeconfig_paths, merge_kubeconfigs
from ..decide.problems import InputError, Problem

T = TypeVar("T")
KUBECONFIG_KEY = "kubernetes:kubeconfig"
CONTEXT_KEY = "kubernetes:context"


@dataclass(frozen=True)
class ClusterConnection:
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]  # always secret: it carries tokens or client keys
    # The same text, for the few read-only GETs the program must make before it declares resources
    # (the live node count, the live Typha objects). Never exported, logged or passed to a resource.
    _text: str = field(default="", repr=False, compare=False)

    def read_now(self, reader: Callable[[str], T]) -> T:
        """Run a read-only cluster reader synchronously with the kubeconfig text."""
        return reader(self._text)


# The kubeconfig carries tokens and keys: every message below says what is wrong and where, and
# never quotes the text (act/kube.py's parser never passes PyYAML's own errors on: they quote the line).
NOT_SHOWN = "its text is a secret and is not shown"


def _is_file(path: Path) -> bool:
    # A kubeconfig given as one line of JSON is text, not a path: a too-long "file name" is not an error.
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _read(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError([Problem(source, f"the kubeconfig file cannot be read ({type(err).__name__})")]) from None


def _kubeconfig_text(config: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str]:
    """(text, where it came from). Same precedence as the Kubernetes provider: config key (text or path),
    then KUBECONFIG, then ~/.kube/config."""
    value = config.get(KUBECONFIG_KEY)
    if value:
        if not isinstance(value, str):
            raise InputError([Problem(KUBECONFIG_KEY, f"must be the kubeconfig text or a path; {NOT_SHOWN}")])
        path = Path(os.path.expanduser(value)) if "\n" not in value else None
        return (_read(path, KUBECONFIG_KEY) if path and _is_file(path) else value), KUBECONFIG_KEY
    from_environment = _from_kubeconfig_variable(environ.get("KUBECONFIG", ""))
    if from_environment:
        return from_environment
    default = Path(os.path.expanduser("~/.kube/config"))
    if _is_file(default):
        return _read(default, "~/.kube/config"), "~/.kube/config"
    raise InputError(
        [Problem(KUBECONFIG_KEY, "no kubeconfig: set it (pulumi config set --secret kubernetes:kubeconfig ...) or KUBECONFIG")]
    )


def _from_kubeconfig_variable(value: str) -> Optional[tuple[str, str]]:
    """KUBECONFIG as kubectl reads it: every listed file that exists, merged (decide/kubeconfig_merge.py);
    a single file is used as it is. None when it lists no existing file."""
    files = [path for path in (Path(os.path.expanduser(p)) for p in kubeconfig_paths(value)) if _is_file(path)]
    if len(files) <= 1:
        return (_read(files[0], "KUBECONFIG"), "KUBECONFIG") if files else None
    documents = []
    for index, path in enumerate(files, start=1):
        source = f"KUBECONFIG (file {index} of {len(files)}: {path})"
        documents.append((str(path), _parse_kubeconfig(_read(path, source), source)))
    return yaml.safe_dump(merge_kubeconfigs(documents), sort_keys=False), f"KUBECONFIG ({len(files)} files merged)"


def _parse_kubeconfig(kubeconfig: str, source: str) -> dict[str, Any]:
    try:
        return parse_kubeconfig(kubeconfig)
    except KubeconfigError as err:
        raise InputError([Problem(source, f"{err}; {NOT_SHOWN}")]) from None


def _pin_context(kubeconfig: str, context: Optional[str], source: str = KUBECONFIG_KEY) -> str:
    """Check the kubeconfig parses; make `context` the current one, so every client of this text talks to
    the same cluster."""
    document = _parse_kubeconfig(kubeconfig, source)
    if not context:
        return kubeconfig
    if not isinstance(context, str):
        raise InputError([Problem(CONTEXT_KEY, "must be the name of a context")])
    contexts = document.get("contexts")
    names = [c.get("name") for c in contexts if isinstance(c, dict)] if isinstance(contexts, list) else []
    if context not in names:
        raise InputError(
            [Problem(CONTEXT_KEY, f"the kubeconfig ({source}) has no context of that name ({len(names)} contexts; "
                     "`kubectl config get-contexts` lists them)")]
        )
    document["current-context"] = context
    return yaml.safe_dump(document, sort_keys=False)


def connect(config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> ClusterConnection:
    text, source = _kubeconfig_text(config, environ)
    pinned = _pin_context(text, config.get(CONTEXT_KEY), source)
    kubeconfig = pulumi.Output.secret(pinned)
    provider = k8s.Provider(
        "cluster",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        # Adopt objects a team applied by hand from the runbook (same names) instead of failing.
        upsert_existing_objects=True,
        # Every request the plugin makes ends within the stack's request timeout (act/kube.py): a frozen
        # API server fails its step instead of holding the run for as long as it stays frozen.
        kube_client_settings=k8s.KubeClientSettingsArgs(timeout=PROVIDER_REQUEST_TIMEOUT_SECONDS),
    )
    return ClusterConnection(provider=provider, kubeconfig=kubeconfig, _text=pinned)
