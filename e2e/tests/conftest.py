"""Fixtures shared by the e2e modules."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.controlplane import control_plane  # noqa: E402


@pytest.fixture(scope="module")
def cp(request):
    """One control plane per test module, with the module's NODES fake nodes (no skip: a missing
    engine binary fails the fixture, naming it)."""
    with control_plane(nodes=getattr(request.module, "NODES", 6), timeout=180) as plane:
        yield plane


@pytest.fixture(scope="module")
def kubeconfig(cp) -> str:
    """The admin kubeconfig text with certificates embedded, as a provider receives it."""
    return cp.kubeconfig_inline()
