"""Fixtures shared by the e2e modules."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.cloud_stack import isolated_loopback_cloud  # noqa: E402
from e2e.controlplane import control_plane  # noqa: E402
from e2e.pulumi_project import PulumiCli, copy_project, init_stack  # noqa: E402


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


@pytest.fixture(scope="module")
def pulumi(cp, kubeconfig, tmp_path_factory, request) -> PulumiCli:
    """A fresh copy of the project under the real CLI, with the module's STACK initialised from its
    STACK_CONFIG and given the control plane's kubeconfig as a secret."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    cli = PulumiCli(project, tmp_path_factory.mktemp("pulumi"), on_error=pytest.fail)
    return init_stack(cli, request.module.STACK, request.module.STACK_CONFIG, kubeconfig)


@pytest.fixture(scope="module")
def api():
    """The loopback Alibaba Cloud API (e2e/alicloud_api, a test double) for the test_cloud_* modules: only
    inside the isolated network e2e/run.sh makes, so nothing they do can leave the machine."""
    with isolated_loopback_cloud() as server:
        yield server
