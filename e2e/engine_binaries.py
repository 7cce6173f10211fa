"""Where the e2e engine's binaries are: the engine cache that ``e2e/build-engine.sh`` fills, then $PATH.

Like envtest's binary lookup, a missing binary is an error that says where it looked and how to get
it, never a skip.

Environment:
    TERWAY_ENGINE_CACHE   engine cache (default ~/.cache/terway-stack/engine)
    TERWAY_ENGINE_PATH    extra directories to search first (also read from $CACHE/env.sh)
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

# The cache directory (``<component>-<version>/bin``) that holds each binary.
COMPONENT_OF_BINARY = {
    "etcd": "etcd",
    "kube-apiserver": "kubernetes",
    "kube-controller-manager": "kubernetes",
    "kube-scheduler": "kubernetes",
    "kwok": "kwok",
    "kwokctl": "kwok",
}


class ControlPlaneError(RuntimeError):
    """A part of the local control plane is missing or failed (the message says which and why)."""


def engine_cache() -> Path:
    return Path(os.environ.get("TERWAY_ENGINE_CACHE") or Path.home() / ".cache/terway-stack/engine")


def _engine_path_dirs() -> list[Path]:
    """Directories listed by $CACHE/env.sh (TERWAY_ENGINE_PATH), then $TERWAY_ENGINE_PATH."""
    dirs: list[Path] = []
    env_sh = engine_cache() / "env.sh"
    if env_sh.is_file():
        for line in env_sh.read_text().splitlines():
            if line.startswith("export TERWAY_ENGINE_PATH="):
                dirs += [Path(p) for p in line.split("=", 1)[1].strip().strip('"').split(":") if p]
    dirs += [Path(p) for p in os.environ.get("TERWAY_ENGINE_PATH", "").split(":") if p]
    return dirs


def find_binary(name: str) -> Path:
    """Locate an engine binary: the engine cache first, then $PATH. Fails loudly."""
    for directory in _engine_path_dirs():
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    component = COMPONENT_OF_BINARY.get(name, name)
    for candidate in sorted(engine_cache().glob(f"{component}-*/bin/{name}"), reverse=True):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ControlPlaneError(
        f"e2e engine binary {name!r} not found (looked in {engine_cache()}/{component}-*/bin and $PATH). "
        f"Build it with: e2e/build-engine.sh   (set TERWAY_ENGINE_CACHE if the cache lives elsewhere)"
    )
