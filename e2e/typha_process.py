"""The real calico-typha as a local process, run the way the kubelet would run the stack's Deployment.

kwok runs no containers, so the e2e suite runs the binary built by ``e2e/build-engine.sh`` (the
release the stack defaults to) itself:

- the container's env and args exactly as the live Deployment holds them (anything the process
  cannot be given as plain text, a ``valueFrom`` say, fails loudly instead of being guessed);
- the in-cluster identity a pod of ServiceAccount ``terway`` gets: ``KUBERNETES_SERVICE_HOST/PORT``
  and a TokenRequest token with the cluster CA at /var/run/secrets/kubernetes.io/serviceaccount,
  mounted in a private mount namespace (``unshare -m``), so nothing on the host changes;
- hostNetwork: it listens on the host, on Typha's ports 5473 (Felix) and 9098 (health). The fake
  nodes' InternalIP is this host's address (``ack_seed.host_address``), so the addresses the
  ``calico-typha`` Endpoints list reach this process, as Felix's discovery finds them.

Only one such process can hold those ports: ``HOST_PORTS_LOCK`` serialises them across processes.
Also the load tool, ``felixload`` (e2e/felixload), built next to it.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

from e2e.engine_binaries import engine_cache

HOST_PORTS_LOCK = "/tmp/terway-e2e-typha-host-ports.lock"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
HEALTH_URL = "http://localhost:9098"  # TYPHA_HEALTHENABLED; Typha's default health host and port


class TyphaError(RuntimeError):
    pass


def typha_binary(name: str, version: str) -> Path:
    """calico-typha or felixload of the Typha build for `version` (the stack's default). Fails loudly."""
    path = engine_cache() / f"typha-{version}" / "bin" / name
    if not os.access(path, os.X_OK):
        raise TyphaError(f"{path} not found: build it with e2e/build-engine.sh typha (Typha {version})")
    return path


def container_of(deployment: dict) -> dict:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def container_env(container: dict) -> dict[str, str]:
    env = {}
    for item in container.get("env") or []:
        if "value" not in item:
            raise TyphaError(f"env {item.get('name')} has no plain value ({sorted(item)}): not reproducible here")
        env[item["name"]] = item["value"]
    return env


class TyphaProcess:
    """One running calico-typha; use as a context manager (holds HOST_PORTS_LOCK while it runs)."""

    def __init__(self, binary: Path, deployment: dict, server: str, ca_file: Path, token: str, workdir: Path):
        self.binary, self.deployment, self.server = binary, deployment, server
        self.ca_file, self.token, self.workdir = ca_file, token, workdir
        self.log_path = workdir / "calico-typha.log"
        self.proc: Optional[subprocess.Popen] = None
        self._lock: Optional[Any] = None
        self.exit_seconds: Optional[float] = None

    def argv_and_env(self) -> tuple[list[str], dict[str, str]]:
        container = container_of(self.deployment)
        host, port = self.server.removeprefix("https://").rsplit(":", 1)
        env = {
            **container_env(container),
            "KUBERNETES_SERVICE_HOST": host,
            "KUBERNETES_SERVICE_PORT": port,
            "PATH": "/usr/bin:/bin",
            "HOSTNAME": "typha-e2e",
        }
        # The image's entrypoint is calico-typha; the Deployment may add args (or replace the command).
        argv = [*(container.get("command") or [str(self.binary)]), *(container.get("args") or [])]
        argv[0] = str(self.binary) if Path(argv[0]).name == "calico-typha" else argv[0]
        return argv, env

    def _service_account_files(self) -> Path:
        folder = self.workdir / "serviceaccount"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text(self.token)
        (folder / "ca.crt").write_bytes(self.ca_file.read_bytes())
        (folder / "namespace").write_text(self.deployment["metadata"]["namespace"])
        for f in folder.iterdir():
            f.chmod(0o600)
        return folder

    def start(self) -> "TyphaProcess":
        self._lock = open(HOST_PORTS_LOCK, "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        argv, env = self.argv_and_env()
        files = self._service_account_files()
        # A private /run (so /var/run/secrets/...) in a private mount namespace, then exec Typha.
        script = (
            'mount -t tmpfs -o size=1m,mode=0755 tmpfs /run && mkdir -p "$SA_TARGET" && cp "$SA_SOURCE"/* "$SA_TARGET"/ '
            '&& exec "$@"'
        )
        wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *argv]
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            wrapper, env={**env, "SA_SOURCE": str(files), "SA_TARGET": SERVICE_ACCOUNT_DIR},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        return self

    def health(self, path: str) -> Optional[int]:
        try:
            with urllib.request.urlopen(f"{HEALTH_URL}{path}", timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return None

    def wait_ready(self, timeout: float = 60) -> float:
        """Seconds until /readiness answered 2xx; fails with the log's tail otherwise."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                raise TyphaError(f"calico-typha exited {self.proc.returncode}:\n{self.log_tail()}")
            status = self.health("/readiness")
            if status is not None and 200 <= status < 300:
                return time.monotonic() - start
            time.sleep(0.2)
        raise TyphaError(f"calico-typha not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 60) -> float:
        """SIGTERM, as the kubelet sends at pod deletion; returns the seconds until the process exited."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.exit_seconds = time.monotonic() - start
        return self.exit_seconds

    def stop(self) -> None:
        self.terminate(timeout=10)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> "TyphaProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def felix_agents(binary: Path, kubeconfig: Path, mode: str, agents: int, policy: str = "", timeout: int = 120,
                 qps: float = 1.0) -> Iterator[subprocess.Popen]:
    """felixload running `agents` simulated Felixes; its stdout gives JSON lines. Closing stdin ends it."""
    argv = [str(binary), f"-mode={mode}", f"-n={agents}", f"-kubeconfig={kubeconfig}", f"-timeout={timeout}s",
            f"-qps={qps}"]
    if policy:
        argv.append(f"-policy={policy}")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(Exception):
            proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def service_account_kubeconfig(path: Path, server: str, ca_file: Path, token: str, user: str) -> Path:
    """A kubeconfig for a token (what Felix, as `terway`, has in the pod)."""
    import base64

    import yaml

    document = {
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "e2e", "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode()}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "e2e", "user": user}}],
    }
    path.write_text(yaml.safe_dump(document))
    path.chmod(0o600)
    return path
