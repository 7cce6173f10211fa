"""A throw-away local Kubernetes control plane for end-to-end tests, made by kwokctl.

This module composes the pieces, one job each (as envtest splits its control plane into binaries,
processes, certificates and the plane):

- ``e2e/engine_binaries.py``: where the engine's binaries are;
- ``e2e/kwokctl.py``: the kwokctl cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok);
- ``e2e/pki.py``: the suite's admin identity and its kubeconfigs;
- ``e2e/ack_seed.py``: ACK-like nodes and the kube-system starting state;
- ``e2e/audit_log.py``: readers of the API server's audit log.

    from e2e.controlplane import ControlPlane
    with ControlPlane(nodes=6) as cp:
        os.environ["KUBECONFIG"] = cp.kubeconfig
        ...
        assert cp.count_writes(field_manager="pulumi-kubernetes", resource="configmaps") == 1

Every request of ``cp.kubeconfig``'s client is made as ``cp.admin_user``.

Environment:
    TERWAY_ENGINE_CACHE   engine cache (default ~/.cache/terway-stack/engine)
    TERWAY_E2E_KEEP=1     keep the temp dir (kwokctl workdir: logs, certs, audit log) after exit
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from e2e import ack_seed, pki
from e2e.ack_seed import ZONES
from e2e.audit_log import AuditQueries
from e2e.engine_binaries import ControlPlaneError
from e2e.kwokctl import KwokCluster
from e2e.pki import ADMIN_USER


class ControlPlane(AuditQueries):
    """A kwokctl cluster (binary runtime) with ACK-like fake nodes and the ACK seed state.

    Parameters:
        nodes: number of fake kwok nodes, spread round-robin over ``zones``.
        zones: zone label values.
        seed: create the ACK starting state (``ack_seed.seed_objects``).
        eni_config_mode: "apply" (server-side apply, fieldManager ack-addon-manager) or
            "update" (plain create with fieldManager ack-addon-manager).
        workdir: use this directory instead of a fresh temp dir (it is not removed).
        keep: keep the temp dir after exit (also TERWAY_E2E_KEEP=1).
        timeout: seconds to wait for each readiness step.
    """

    admin_user = ADMIN_USER

    def __init__(
        self,
        nodes: int = 6,
        zones: tuple[str, ...] = ZONES,
        seed: bool = True,
        eni_config_mode: str = "apply",
        workdir: Optional[os.PathLike | str] = None,
        keep: Optional[bool] = None,
        timeout: float = 120.0,
    ) -> None:
        self.seed_objects = ack_seed.seed_objects(eni_config_mode) if seed else []
        self.node_count = nodes
        self.zones = tuple(zones)
        self.timeout = timeout
        self.keep = keep if keep is not None else os.environ.get("TERWAY_E2E_KEEP") == "1"
        self._own_dir = workdir is None
        # the temp dir is made by start(), so an unstarted ControlPlane leaves nothing behind
        self.dir: Path = Path(workdir) if workdir else None  # type: ignore[assignment]
        self.name = f"terway-e2e-{os.getpid()}-{id(self) % 100000}"
        self._cluster: Optional[KwokCluster] = None  # made by start(), when the directory exists
        self._api_client = None
        self.server = ""

    # ----------------------------------------------------------- public paths / clients

    @property
    def cluster_dir(self) -> Path:
        """kwokctl's directory for this cluster: pki/, logs/ (one per component), kubeconfig.yaml."""
        return self._cluster.cluster_dir

    @property
    def kubeconfig(self) -> str:
        return str(self.dir / "kubeconfig")

    @property
    def kubeconfig_inline_path(self) -> str:
        """The admin kubeconfig with certificates embedded (self-contained text for a Pulumi Provider)."""
        return str(self.dir / "kubeconfig.inline")

    @property
    def audit_log(self) -> str:
        return str(self._cluster.audit_log)

    @property
    def node_names(self) -> list[str]:
        return [ack_seed.node_name(i) for i in range(self.node_count)]

    def node_manifest(self, i: int) -> dict:
        return ack_seed.node_manifest(i, self.zones)

    def env(self) -> dict[str, str]:
        """Environment additions for a child process that should talk to this cluster."""
        return {"KUBECONFIG": self.kubeconfig}

    def kubeconfig_inline(self) -> str:
        """The admin kubeconfig with certificates embedded (for a Pulumi provider's ``kubeconfig`` input)."""
        return pki.inline_kubeconfig(Path(self.kubeconfig), self.cluster_dir)

    def api_client(self):
        """A ``kubernetes.client.ApiClient`` for the admin user (cached)."""
        if self._api_client is None:
            from kubernetes import config as kconfig

            self._api_client = kconfig.new_client_from_config(config_file=self.kubeconfig)
        return self._api_client

    def core(self):
        from kubernetes import client

        return client.CoreV1Api(self.api_client())

    def apps(self):
        from kubernetes import client

        return client.AppsV1Api(self.api_client())

    # ----------------------------------------------------------- lifecycle

    def __enter__(self) -> "ControlPlane":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "ControlPlane":
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="terway-e2e-"))
        self._cluster = KwokCluster(self.name, self.dir, self.timeout)
        try:
            self._cluster.create()
            self.server = self._cluster.server()
            crt, key = pki.issue_admin_certificate(self.cluster_dir / "pki", self.dir / "admin")
            pki.write_admin_kubeconfig(self._cluster.kubeconfig_path, crt, key, Path(self.kubeconfig))
            self._wait_apiserver_ready()
            Path(self.kubeconfig_inline_path).write_text(self.kubeconfig_inline())
            os.chmod(self.kubeconfig_inline_path, 0o600)
            self._create_nodes(range(self.node_count))
            if self.seed_objects:
                ack_seed.write_seed(self.api_client(), self.seed_objects, self.dir / "discovery-cache.json")
                self.wait_daemonset_available("kube-system", ack_seed.TERWAY_DAEMONSET)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._api_client is not None:
            with contextlib.suppress(Exception):
                self._api_client.close()
            self._api_client = None
        if self._cluster is not None:
            self._cluster.delete()
        if self._own_dir and not self.keep and self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None  # type: ignore[assignment]

    # ----------------------------------------------------------- readiness

    def _component_logs(self) -> str:
        return self._cluster.component_logs() if self._cluster else ""

    def _check_alive(self) -> None:
        if not self._apiserver_ready():
            raise ControlPlaneError(f"kube-apiserver is not ready\n{self._component_logs()}")

    def _wait(self, what: str, check: Callable[[], bool], timeout: Optional[float] = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        last_err: Optional[BaseException] = None
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except Exception as err:  # noqa: BLE001 - retried until the deadline
                last_err = err
            time.sleep(0.25)
        raise ControlPlaneError(f"timed out waiting for {what} (last error: {last_err!r})\n{self._component_logs()}")

    def _apiserver_ready(self) -> bool:
        # The client's own TLS pool (admin certificate), for a path the typed APIs do not cover.
        pool = self.api_client().rest_client.pool_manager
        try:
            return pool.request("GET", f"{self.server}/readyz", timeout=5, retries=False).status == 200
        except Exception:  # noqa: BLE001 - refused, TLS not up yet: not ready
            return False

    def _wait_apiserver_ready(self) -> None:
        from kubernetes import client

        self._wait("kube-apiserver /readyz", self._apiserver_ready)
        self._wait("namespace kube-system", lambda: self.core().read_namespace("kube-system") is not None)
        self._wait(
            "priority class system-node-critical",
            lambda: client.SchedulingV1Api(self.api_client()).read_priority_class("system-node-critical") is not None,
        )

    def wait_daemonset_available(self, namespace: str, name: str, timeout: Optional[float] = None) -> None:
        """Wait until the DaemonSet's current generation is rolled out and every pod is available."""

        def done() -> bool:
            ds = self.apps().read_namespaced_daemon_set(name, namespace)
            st = ds.status
            return (
                (st.observed_generation or 0) >= (ds.metadata.generation or 0)
                and (st.desired_number_scheduled or 0) == self.node_count
                and (st.updated_number_scheduled or 0) == st.desired_number_scheduled
                and (st.number_available or 0) == st.desired_number_scheduled
                and not st.number_unavailable
            )

        self._wait(f"DaemonSet {namespace}/{name} available on {self.node_count} nodes", done, timeout)

    # ----------------------------------------------------------- nodes

    def _create_nodes(self, indexes: range) -> None:
        core = self.core()
        internal_ip = ack_seed.host_address()
        for i in indexes:
            core.create_node(self.node_manifest(i))
            # ACK nodes have an InternalIP; kwok gives it to the node's hostNetwork pods (Typha's Endpoints).
            core.patch_node_status(ack_seed.node_name(i), ack_seed.node_addresses_patch(i, internal_ip))

        def ready() -> bool:
            nodes = self.core().list_node().items
            ok = [
                n for n in nodes
                if any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))
            ]
            return len(ok) >= self.node_count

        self._wait(f"{self.node_count} Ready nodes", ready)

    def add_nodes(self, count: int) -> list[str]:
        """Create ``count`` more fake nodes and wait until they are Ready."""
        start = self.node_count
        self.node_count += count
        self._create_nodes(range(start, self.node_count))
        return self.node_names[start:]


@contextlib.contextmanager
def control_plane(**kwargs: Any) -> Iterator[ControlPlane]:
    with ControlPlane(**kwargs) as cp:
        yield cp


def _serve(argv: list[str]) -> int:
    """``python -m e2e.controlplane serve [--nodes N] [--ready-file F]``: start, write F (JSON), run until SIGTERM/SIGINT."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m e2e.controlplane serve")
    ap.add_argument("--nodes", type=int, default=6)
    ap.add_argument("--ready-file", help="write a JSON {kubeconfig, audit_log, server, dir} here once ready")
    ap.add_argument("--no-seed", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir on exit")
    args = ap.parse_args(argv)
    stop = {"now": False}

    def on_signal(signum, _frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t0 = time.monotonic()
    with ControlPlane(nodes=args.nodes, seed=not args.no_seed, keep=args.keep or None) as cp:
        info = {"kubeconfig": cp.kubeconfig, "kubeconfig_inline": cp.kubeconfig_inline_path, "audit_log": cp.audit_log, "server": cp.server, "dir": str(cp.dir)}
        print(f"[controlplane] up in {time.monotonic() - t0:.1f}s: {json.dumps(info)}", flush=True)
        if args.ready_file:
            tmp = args.ready_file + ".tmp"
            Path(tmp).write_text(json.dumps(info))
            os.replace(tmp, args.ready_file)
        while not stop["now"]:
            time.sleep(0.2)
            cp._check_alive()
        print("[controlplane] stopping", flush=True)
    return 0


def _main(argv: list[str]) -> int:
    """``python -m e2e.controlplane [N]``: start one with N nodes, print the write summary, stop."""
    if argv[:1] == ["serve"]:
        return _serve(argv[1:])
    t0 = time.monotonic()
    with ControlPlane(nodes=int(argv[0]) if argv else 6) as cp:
        print(f"control plane up in {time.monotonic() - t0:.1f}s: {cp.server}")
        print(f"KUBECONFIG={cp.kubeconfig}")
        print(f"audit log: {cp.audit_log}")
        for key, count in sorted(cp.write_summary().items()):
            print(count, *key)
    return 0


if __name__ == "__main__":  # python -m e2e.controlplane [serve ...]
    import sys

    sys.exit(_main(sys.argv[1:]))
