"""One kwokctl cluster (binary runtime): create it from the engine's binaries, delete it, read its logs.

``kwokctl create cluster --runtime binary`` runs etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and the kwok controller, makes the PKI and the kubeconfig, wires the audit log, and
supervises the processes. Everything it writes stays under ``<workdir>/kwok`` (``KWOK_WORKDIR``),
never in ``~/.kwok`` or ``~/.kube/config``.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from e2e.engine_binaries import ControlPlaneError, find_binary

# Binaries kwokctl is given: its flag -> binary name.
KWOKCTL_BINARIES = {
    "etcd-binary": "etcd",
    "kube-apiserver-binary": "kube-apiserver",
    "kube-controller-manager-binary": "kube-controller-manager",
    "kube-scheduler-binary": "kube-scheduler",
    "kwok-controller-binary": "kwok",
}
# Metadata for every request, as JSON lines (the readers are in e2e/audit_log.py).
AUDIT_POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                "rules": [{"level": "Metadata"}]}


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class KwokCluster:
    """kwokctl's view of one cluster named ``name`` whose files live under ``workdir``."""

    def __init__(self, name: str, workdir: Path, timeout: float) -> None:
        self.name = name
        self.workdir = workdir
        self.timeout = timeout
        self.created = False

    @property
    def cluster_dir(self) -> Path:
        """pki/, logs/ (one per component), kubeconfig.yaml."""
        return self.workdir / "kwok" / "clusters" / self.name

    @property
    def kubeconfig_path(self) -> Path:
        """kwokctl's own admin kubeconfig (its ``kwok-admin`` certificate, paths relative to cluster_dir)."""
        return self.cluster_dir / "kubeconfig.yaml"

    @property
    def audit_log(self) -> Path:
        return self.cluster_dir / "logs" / "audit.log"

    def server(self) -> str:
        """The API server's URL (a free loopback port chosen by kwokctl)."""
        return yaml.safe_load(self.kubeconfig_path.read_text())["clusters"][0]["cluster"]["server"]

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "KWOK_WORKDIR": str(self.workdir / "kwok")}
        try:
            result = subprocess.run(
                [str(find_binary("kwokctl")), "--name", self.name, *args],
                env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            raise ControlPlaneError(
                f"kwokctl {' '.join(args[:2])} did not finish in {timeout:.0f}s: {str(err.stderr or '')[-2000:]}\n"
                f"{self.component_logs()}"
            ) from None
        if check and result.returncode != 0:
            raise ControlPlaneError(
                f"kwokctl {' '.join(args[:2])} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-3000:]}\n{self.component_logs()}"
            )
        return result

    def create(self) -> None:
        policy = self.workdir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY))
        binaries = [f"--{flag}={find_binary(name)}" for flag, name in KWOKCTL_BINARIES.items()]
        self.created = True  # a failed create may still have started processes: delete() stops them
        args = (
            "create", "cluster",
            "--runtime=binary",
            *binaries,
            f"--kube-audit-policy={policy}",
            "--kube-authorization=true",
            f"--kubeconfig={self.workdir / 'kwokctl-kubeconfig'}",  # never the user's ~/.kube/config
            f"--wait={int(self.timeout)}s",
        )
        try:
            self.run(*args, timeout=self.timeout + 60)
        except ControlPlaneError as err:
            # Seen once with several clusters starting at once on 2 cores: kwokctl waited out a
            # component that never became ready. One fresh attempt, said out loud, then give up.
            print(f"[controlplane] kwokctl create failed, deleting and trying once more: {str(err)[:300]}", flush=True)
            self.run("delete", "cluster", check=False, timeout=60)
            self.run(*args, timeout=self.timeout + 60)

    def delete(self) -> None:
        if self.created:
            self.run("delete", "cluster", check=False, timeout=60)
            self.created = False

    def component_logs(self, lines: int = 10) -> str:
        logs = sorted((self.cluster_dir / "logs").glob("*.log"))
        return "\n".join(f"--- {p.name}:\n{tail(p, lines)}" for p in logs if p.name != "audit.log")
