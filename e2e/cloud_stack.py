"""What every `test_cloud_*` module starts from: the isolated network and one stack on the loopback API.

The cloud modules run inside the network namespace `e2e/run.sh` makes (`unshare -n`: `lo` plus a veth
pair with both ends inside, because kube-apiserver needs a default route), so that nothing they do can
leave the machine; run outside one, they fail instead of reaching a real endpoint.
"""
from __future__ import annotations

import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from e2e.alicloud_api import LoopbackAlibabaCloud
from e2e.alicloud_api.account import e2e_account, pod_vswitches
from e2e.pulumi_project import (
    PulumiCli, cloud_stack_config, copy_project, init_stack, require_alicloud_plugin, set_fake_alicloud_credentials,
)

ISOLATED_INTERFACES = ["lo", "tw0", "tw1"]


def assert_isolated_network() -> None:
    names = sorted(name for _, name in socket.if_nameindex())
    assert names == ISOLATED_INTERFACES, (
        f"network interfaces {names}: run this module in the isolated network namespace "
        "`bash e2e/run.sh` makes (unshare -n), so that it proves nothing leaves the machine"
    )


@contextmanager
def isolated_loopback_cloud() -> Iterator[LoopbackAlibabaCloud]:
    """The loopback Alibaba Cloud API with the e2e account, only inside the isolated network."""
    assert_isolated_network()
    with LoopbackAlibabaCloud(e2e_account()) as server:
        yield server


def cloud_stack(kubeconfig: str, endpoint: str, project_dir: Path, home: Path, stack: str, cluster: str, nodes: int,
                mode: str, on_error: Callable[[str], None]) -> PulumiCli:
    """A stack of this project creating the pod vSwitches of `pod_vswitches()` through the real
    pulumi-resource-alicloud, pointed at the loopback API at `endpoint` with fake credentials."""
    require_alicloud_plugin()
    cli = PulumiCli(copy_project(project_dir), home, on_error=on_error)
    init_stack(cli, stack, cloud_stack_config(cluster, nodes, mode, endpoint, pod_vswitches()), kubeconfig)
    set_fake_alicloud_credentials(cli)
    return cli
