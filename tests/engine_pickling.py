"""A dynamic provider as the Pulumi engine handles it: serialized like ``pulumi.dynamic.Resource`` does,
loaded like the provider process (``pulumi/dynamic/__main__.py``) does.

One home for the unit tests, the e2e suite and the benchmark: a provider class is pickled by
reference (its module path), so these prove the path is stable and nothing rides on ``self``.
"""
from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def engine_pickle(provider: Any) -> tuple[str, bytes]:
    """(the base64 text the engine stores, its raw bytes)."""
    from pulumi.dynamic.dynamic import serialize_provider
    from pulumi.runtime._serialization import _serialize

    text, _ = _serialize(True, serialize_provider, provider)
    return text, base64.b64decode(text)


def engine_unpickle(raw: bytes) -> Any:
    import dill
    from pulumi.runtime._serialization import _deserialize

    return _deserialize(lambda: dill.loads(raw))


def engine_copy(provider: Any) -> Any:
    return engine_unpickle(engine_pickle(provider)[1])


def in_fresh_interpreter(text: str, expression: str) -> str:
    """Load the pickled provider ``p`` from ``text`` in a new Python process, as the engine's provider
    process does, and return ``expression`` evaluated there (stdout, stripped)."""
    code = f"import base64, dill, sys; p = dill.loads(base64.b64decode(sys.argv[1])); print({expression})"
    result = subprocess.run([sys.executable, "-c", code, text], cwd=REPO, capture_output=True, text=True, check=True)
    return result.stdout.strip()
