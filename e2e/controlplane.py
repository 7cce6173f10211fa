"""A throw-away local Kubernetes control plane for end-to-end tests.

Runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the kwok
controller (fake nodes, pods made Running/Ready by kwok's default stages) from
the binaries built by ``e2e/build-engine.sh``, all bound to 127.0.0.1, in a
temporary directory that is removed on exit.  It then seeds the ACK starting
state that the Terway runbooks change (kube-system ServiceAccount ``terway``,
DaemonSet ``terway-eniip`` and ConfigMap ``eni-config``).

    from e2e.controlplane import ControlPlane
    with ControlPlane(nodes=6) as cp:
        os.environ["KUBECONFIG"] = cp.kubeconfig
        ...
        assert cp.count_writes(field_manager="pulumi-kubernetes", resource="configmaps") == 1

The API server writes an audit log (Metadata level, every request, JSON lines)
to ``cp.audit_log``; ``cp.audit_events()`` / ``cp.write_events()`` /
``cp.count_writes()`` read it.  Standard library + ``kubernetes`` + ``pyyaml`` only.

Environment:
    TERWAY_ENGINE_CACHE   engine cache (default ~/.cache/terway-stack/engine)
    TERWAY_E2E_KEEP=1     keep the temp dir (logs, certs, audit log) after exit
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import yaml

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

ZONES = ("cn-shanghai-f", "cn-shanghai-g")
REGION = "cn-shanghai"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"

#: The eni_conf document of a default ACK cluster (values are examples, types
#: are what ACK writes).  Tests compare against this to prove unmanaged keys
#: are kept byte-for-byte in meaning.
DEFAULT_ENI_CONF: dict[str, Any] = {
    "version": "1",
    "max_pool_size": 5,
    "min_pool_size": 0,
    "credential_path": "/var/addon/token-config",
    "vswitches": {"cn-shanghai-f": ["vsw-existing-f"], "cn-shanghai-g": ["vsw-existing-g"]},
    "eni_tags": {"ack.aliyun.com": "cxxx"},
    "service_cidr": "172.21.0.0/20",
    "security_group": "sg-xxx",
    "vswitch_selection_policy": "ordered",
    "ip_stack": "ipv4",
}

DEFAULT_CNI_CONF: dict[str, Any] = {
    "cniVersion": "0.4.0",
    "name": "terway",
    "type": "terway",
}

ENI_CONFIG_MANAGER = "ack-addon-manager"

# Components, the binary each needs, and the cache directory that holds it.
BINARIES = {
    "etcd": "etcd",
    "kube-apiserver": "kubernetes",
    "kube-controller-manager": "kubernetes",
    "kube-scheduler": "kubernetes",
    "kwok": "kwok",
}


class ControlPlaneError(RuntimeError):
    """The control plane could not be started (message says which part and why)."""


# --------------------------------------------------------------------------- engine lookup


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
    for p in os.environ.get("TERWAY_ENGINE_PATH", "").split(":"):
        if p:
            dirs.append(Path(p))
    return dirs


def find_binary(name: str) -> Path:
    """Locate an engine binary: the engine cache first, then $PATH. Fails loudly."""
    for d in _engine_path_dirs():
        cand = d / name
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    comp = BINARIES.get(name, name)
    for cand in sorted(engine_cache().glob(f"{comp}-*/bin/{name}"), reverse=True):
        if os.access(cand, os.X_OK):
            return cand
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ControlPlaneError(
        f"e2e engine binary {name!r} not found (looked in {engine_cache()}/{comp}-*/bin and $PATH). "
        f"Build it with: e2e/build-engine.sh   (set TERWAY_ENGINE_CACHE if the cache lives elsewhere)"
    )


def kwok_stages_dir() -> Path:
    kwok = find_binary("kwok")
    stages = kwok.parent.parent / "stages"
    if not (stages / "pod-ready.yaml").is_file():
        raise ControlPlaneError(
            f"kwok default stages not found in {stages}; rebuild with: e2e/build-engine.sh --force kwok"
        )
    return stages


# --------------------------------------------------------------------------- small helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child before exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphans if the test runner dies
    except OSError:
        pass


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if not exe:
        raise ControlPlaneError("openssl not found on PATH (needed to make the cluster's certificates)")
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ControlPlaneError(f"openssl {' '.join(args)} failed:\n{proc.stderr}")


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class AuditFilter:
    """Criteria for audit events; every given criterion must match."""

    verbs: Optional[Iterable[str]] = None
    user: Optional[str] = None
    user_agent: Optional[str] = None  # prefix match ("pulumi-kubernetes" matches "pulumi-kubernetes/4.34.2")
    field_manager: Optional[str] = None  # prefix match on ?fieldManager=, else on the user agent
    resource: Optional[str] = None  # plural resource, e.g. "configmaps"; "pods/eviction" matches a subresource
    namespace: Optional[str] = None
    name: Optional[str] = None
    ok_only: bool = True  # only requests that succeeded (HTTP < 400)
    # A server-side dry run (`?dryRun=All`, what pulumi-kubernetes sends during preview) persists nothing.
    include_dry_run: bool = False
    predicate: Optional[Callable[[dict], bool]] = field(default=None, repr=False)


def field_manager_of(event: dict) -> str:
    """The field manager of a write: ``?fieldManager=`` or, as the API server does, the user agent up to '/'."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(event.get("requestURI", "")).query)
    if query.get("fieldManager"):
        return query["fieldManager"][0]
    return (event.get("userAgent") or "").split("/", 1)[0]


def is_dry_run(event: dict) -> bool:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(event.get("requestURI", "")).query)
    return "All" in query.get("dryRun", [])


def event_matches(ev: dict, f: AuditFilter) -> bool:
    if not f.include_dry_run and is_dry_run(ev):
        return False
    if f.verbs is not None and ev.get("verb") not in set(f.verbs):
        return False
    if f.user is not None and (ev.get("user") or {}).get("username") != f.user:
        return False
    if f.user_agent is not None and not (ev.get("userAgent") or "").startswith(f.user_agent):
        return False
    if f.field_manager is not None and not field_manager_of(ev).startswith(f.field_manager):
        return False
    ref = ev.get("objectRef") or {}
    if f.resource is not None:
        res = ref.get("resource", "")
        if ref.get("subresource"):
            res_full = f"{res}/{ref['subresource']}"
            if f.resource not in (res_full,):
                return False
        elif res != f.resource:
            return False
    if f.namespace is not None and ref.get("namespace") != f.namespace:
        return False
    if f.name is not None and ref.get("name") != f.name:
        return False
    if f.ok_only:
        code = (ev.get("responseStatus") or {}).get("code", 0)
        if code >= 400:
            return False
    if f.predicate is not None and not f.predicate(ev):
        return False
    return True


def read_audit_log(path: os.PathLike | str, start: int = 0) -> list[dict]:
    """Completed audit events (JSON lines) from byte offset ``start``."""
    events = []
    with open(path, "rb") as fh:
        fh.seek(start)
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a line still being written
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if ev.get("stage", "ResponseComplete") in ("ResponseComplete", "Panic"):
                events.append(ev)
    return events


# --------------------------------------------------------------------------- the control plane


class ControlPlane:
    """Local etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok.

    Parameters:
        nodes: number of fake kwok nodes, spread round-robin over ``zones``.
        zones: zone label values.
        seed: create the ACK starting state (ServiceAccount, DaemonSet, eni-config).
        eni_config_mode: "apply" (server-side apply, fieldManager ack-addon-manager) or
            "update" (plain create with fieldManager ack-addon-manager).
        workdir: use this directory instead of a fresh temp dir (it is not removed).
        keep: keep the temp dir after exit (also TERWAY_E2E_KEEP=1).
        timeout: seconds to wait for each readiness step.
    """

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
        if eni_config_mode not in ("apply", "update"):
            raise ValueError("eni_config_mode must be 'apply' or 'update'")
        self.node_count = nodes
        self.zones = tuple(zones)
        self.seed_state = seed
        self.eni_config_mode = eni_config_mode
        self.timeout = timeout
        self.keep = keep if keep is not None else os.environ.get("TERWAY_E2E_KEEP") == "1"
        self._own_dir = workdir is None
        # the temp dir is made by start(), so an unstarted ControlPlane leaves nothing behind
        self.dir: Path = Path(workdir) if workdir else None  # type: ignore[assignment]
        self._procs: list[_Proc] = []
        self._api_client = None
        self.api_port = 0
        self.etcd_port = 0
        self.server = ""

    # ----------------------------------------------------------- public paths / clients

    @property
    def kubeconfig(self) -> str:
        return str(self.dir / "kubeconfig")

    @property
    def kubeconfig_inline_path(self) -> str:
        """The admin kubeconfig with certificates embedded (self-contained text for a Pulumi Provider)."""
        return str(self.dir / "kubeconfig.inline")

    @property
    def audit_log(self) -> str:
        return str(self.dir / "audit" / "audit.log")

    @property
    def node_names(self) -> list[str]:
        return [f"kwok-node-{i}" for i in range(self.node_count)]

    def env(self) -> dict[str, str]:
        """Environment additions for a child process that should talk to this cluster."""
        return {"KUBECONFIG": self.kubeconfig}

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
        try:
            bins = {name: find_binary(name) for name in BINARIES}
            self._bins = bins
            self._stages = kwok_stages_dir()
            (self.dir / "logs").mkdir(parents=True, exist_ok=True)
            (self.dir / "audit").mkdir(parents=True, exist_ok=True)
            self._make_pki()
            self._start_etcd()
            self._start_apiserver()
            self._write_kubeconfigs()
            self._wait_apiserver_ready()
            self._start_controller_manager()
            self._start_scheduler()
            self._start_kwok()
            self._create_nodes()
            self._wait_nodes_ready()
            if self.seed_state:
                self.seed()
                self.wait_daemonset_available("kube-system", "terway-eniip")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._api_client is not None:
            with contextlib.suppress(Exception):
                self._api_client.close()
            self._api_client = None
        # reverse start order: kwok, scheduler, kcm, apiserver, etcd
        for proc in reversed(self._procs):
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in reversed(self._procs):
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.kill()
                proc.popen.wait(timeout=5)
        for proc in self._procs:
            with contextlib.suppress(Exception):
                proc.popen.stdout and proc.popen.stdout.close()
        self._procs.clear()
        if self._own_dir and not self.keep and self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None  # type: ignore[assignment]

    # ----------------------------------------------------------- processes

    def _spawn(self, name: str, args: list[str]) -> _Proc:
        log = self.dir / "logs" / f"{name}.log"
        fh = open(log, "ab")
        popen = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        fh.close()
        proc = _Proc(name, popen, log)
        self._procs.append(proc)
        return proc

    def _check_alive(self) -> None:
        for proc in self._procs:
            code = proc.popen.poll()
            if code is not None:
                raise ControlPlaneError(
                    f"{proc.name} exited with code {code}; last lines of {proc.log}:\n{_tail(proc.log)}"
                )

    def _wait(self, what: str, check: Callable[[], bool], timeout: Optional[float] = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        last_err: Optional[BaseException] = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if check():
                    return
            except Exception as err:  # noqa: BLE001 - retried until the deadline
                last_err = err
            time.sleep(0.25)
        logs = "\n".join(f"--- {p.name} ({p.log}):\n{_tail(p.log, 10)}" for p in self._procs)
        raise ControlPlaneError(f"timed out waiting for {what} (last error: {last_err!r})\n{logs}")

    # ----------------------------------------------------------- PKI

    def _make_pki(self) -> None:
        pki = self.dir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        o = lambda *a: _openssl(*a, cwd=pki)  # noqa: E731
        o("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
        o("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2", "-subj", "/CN=terway-e2e-ca", "-out", "ca.crt")
        # service-account signing key pair
        o("genrsa", "-out", "sa.key", "2048")
        o("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        # API server serving certificate
        (pki / "serving.ext").write_text(
            "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
            "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
        )
        self._cert("apiserver", "/CN=kube-apiserver", "serving.ext")
        (pki / "client.ext").write_text("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        for name, subj in (
            ("admin", "/O=system:masters/CN=terway-e2e-admin"),
            ("controller-manager", "/CN=system:kube-controller-manager"),
            ("scheduler", "/CN=system:kube-scheduler"),
            ("kwok", "/O=system:masters/CN=kwok-controller"),
        ):
            self._cert(name, subj, "client.ext")

    def _cert(self, name: str, subj: str, ext: str) -> None:
        pki = self.dir / "pki"
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=pki)
        _openssl("req", "-new", "-key", f"{name}.key", "-subj", subj, "-out", f"{name}.csr", cwd=pki)
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-sha256", "-extfile", ext, "-out", f"{name}.crt", cwd=pki,
        )

    # ----------------------------------------------------------- components

    def _start_etcd(self) -> None:
        self.etcd_port, peer = free_port(), free_port()
        self._spawn("etcd", [
            str(self._bins["etcd"]),
            "--name=e2e",
            f"--data-dir={self.dir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{self.etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{self.etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ])

        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.etcd_port}/health", timeout=2) as r:
                return json.load(r).get("health") == "true"

        self._wait("etcd /health", healthy)

    def _start_apiserver(self) -> None:
        pki = self.dir / "pki"
        self.api_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        policy = self.dir / "audit" / "policy.yaml"
        policy.write_text(
            yaml.safe_dump({
                "apiVersion": "audit.k8s.io/v1",
                "kind": "Policy",
                "omitStages": ["RequestReceived"],
                "rules": [{"level": "Metadata"}],
            })
        )
        self._spawn("kube-apiserver", [
            str(self._bins["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.api_port}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--audit-log-mode=blocking",
            "--audit-log-maxsize=0",
            "--audit-log-maxbackup=0",
            "--v=1",
        ])

    def _kubeconfig_dict(self, user: str) -> dict:
        pki = self.dir / "pki"
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": {"server": self.server, "certificate-authority": str(pki / "ca.crt")}}],
            "users": [{"name": user, "user": {
                "client-certificate": str(pki / f"{user}.crt"),
                "client-key": str(pki / f"{user}.key"),
            }}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user}}],
            "current-context": "e2e",
        }

    def _write_kubeconfigs(self) -> None:
        for user in ("admin", "controller-manager", "scheduler", "kwok"):
            path = self.dir / ("kubeconfig" if user == "admin" else f"{user}.kubeconfig")
            path.write_text(yaml.safe_dump(self._kubeconfig_dict(user)))
            path.chmod(0o600)
        Path(self.kubeconfig_inline_path).write_text(self.kubeconfig_inline())
        os.chmod(self.kubeconfig_inline_path, 0o600)

    def kubeconfig_inline(self) -> str:
        """The admin kubeconfig with certificates embedded (for a Pulumi provider's ``kubeconfig`` input)."""
        import base64

        pki = self.dir / "pki"
        b64 = lambda p: base64.b64encode((pki / p).read_bytes()).decode()  # noqa: E731
        cfg = copy.deepcopy(self._kubeconfig_dict("admin"))
        cfg["clusters"][0]["cluster"] = {"server": self.server, "certificate-authority-data": b64("ca.crt")}
        cfg["users"][0]["user"] = {"client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")}
        return yaml.safe_dump(cfg)

    def _raw_get(self, path: str) -> tuple[int, bytes]:
        pki = self.dir / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        try:
            with urllib.request.urlopen(self.server + path, context=ctx, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def _wait_apiserver_ready(self) -> None:
        self._wait("kube-apiserver /readyz", lambda: self._raw_get("/readyz")[0] == 200)
        self._wait("namespace kube-system", lambda: self._raw_get("/api/v1/namespaces/kube-system")[0] == 200)
        self._wait(
            "priority class system-node-critical",
            lambda: self._raw_get("/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical")[0] == 200,
        )

    def _start_controller_manager(self) -> None:
        pki = self.dir / "pki"
        kc = self.dir / "controller-manager.kubeconfig"
        self._spawn("kube-controller-manager", [
            str(self._bins["kube-controller-manager"]),
            f"--kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service,-route,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-ephemeral-volume,-pvc-protection,-pv-protection",
            "--concurrent-daemonset-syncs=2",
            "--v=1",
        ])

    def _start_scheduler(self) -> None:
        kc = self.dir / "scheduler.kubeconfig"
        self._spawn("kube-scheduler", [
            str(self._bins["kube-scheduler"]),
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--leader-elect=false",
            "--v=1",
        ])

    def _start_kwok(self) -> None:
        docs = []
        for f in ("node-initialize.yaml", "node-heartbeat-with-lease.yaml", "pod-ready.yaml",
                  "pod-complete.yaml", "pod-delete.yaml"):
            docs.append((self._stages / f).read_text().strip())
        cfg = self.dir / "kwok.yaml"
        cfg.write_text("\n---\n".join(docs) + "\n")
        self._spawn("kwok", [
            str(self._bins["kwok"]),
            f"--config={cfg}",
            f"--kubeconfig={self.dir / 'kwok.kubeconfig'}",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
            "--node-lease-duration-seconds=40",
            "--node-ip=127.0.0.1",
            "--cidr=10.244.0.1/16",
            f"--server-address=127.0.0.1:{free_port()}",
        ])

    # ----------------------------------------------------------- nodes

    def node_manifest(self, i: int) -> dict:
        name = f"kwok-node-{i}"
        zone = self.zones[i % len(self.zones)]
        resources = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "type": "kwok",
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/region": REGION,
                    "topology.kubernetes.io/zone": zone,
                    "node.kubernetes.io/instance-type": "ecs.g7.4xlarge",
                },
            },
            "spec": {"providerID": f"{REGION}.i-kwok{i:04d}"},
            "status": {"allocatable": resources, "capacity": resources},
        }

    def _create_nodes(self) -> None:
        core = self.core()
        for i in range(self.node_count):
            core.create_node(self.node_manifest(i))

    def add_nodes(self, count: int) -> list[str]:
        """Create ``count`` more fake nodes and wait until they are Ready."""
        start = self.node_count
        self.node_count += count
        core = self.core()
        for i in range(start, self.node_count):
            core.create_node(self.node_manifest(i))
        self._wait_nodes_ready()
        return self.node_names[start:]

    def _wait_nodes_ready(self) -> None:
        def ready() -> bool:
            nodes = self.core().list_node().items
            ok = [
                n for n in nodes
                if any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))
            ]
            return len(ok) >= self.node_count

        self._wait(f"{self.node_count} Ready nodes", ready)

    # ----------------------------------------------------------- ACK seed state

    @staticmethod
    def terway_daemonset_manifest() -> dict:
        labels = {"app": "terway-eniip"}
        image = "registry-vpc.cn-shanghai.aliyuncs.com/acs/terway:v1.16.0"
        env = [{"name": "K8S_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
        return {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "terway-eniip", "namespace": "kube-system", "labels": dict(labels)},
            "spec": {
                "selector": {"matchLabels": dict(labels)},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {
                        "serviceAccountName": "terway",
                        "hostNetwork": True,
                        "priorityClassName": "system-node-critical",
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "tolerations": [{"operator": "Exists"}],
                        "initContainers": [{"name": "terway-init", "image": image, "command": ["/bin/init.sh"]}],
                        "containers": [
                            {"name": "terway", "image": image, "command": ["/usr/bin/terwayd"], "env": env},
                            {
                                "name": "policy",
                                "image": "registry-vpc.cn-shanghai.aliyuncs.com/acs/terway:v1.16.0",
                                "command": ["/bin/policyinit.sh"],
                                "env": env + [
                                    {"name": "DISABLE_POLICY", "valueFrom": {"configMapKeyRef": {
                                        "name": "eni-config", "key": "disable_network_policy", "optional": True}}},
                                    {"name": "FELIX_TYPHAK8SSERVICENAME", "valueFrom": {"configMapKeyRef": {
                                        "name": "eni-config", "key": "felix_relay_service", "optional": True}}},
                                ],
                            },
                        ],
                        "volumes": [{"name": "configvolume", "configMap": {"name": "eni-config"}}],
                    },
                },
            },
        }

    @staticmethod
    def eni_config_manifest() -> dict:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "eni-config", "namespace": "kube-system"},
            "data": {
                "eni_conf": json.dumps(DEFAULT_ENI_CONF, indent=2),
                "10-terway.conf": json.dumps(DEFAULT_CNI_CONF, indent=2),
                "disable_network_policy": "false",
                "in_cluster_loadbalance": "true",
            },
        }

    def seed(self) -> None:
        """Create the ACK starting state in kube-system."""
        core, apps = self.core(), self.apps()
        core.create_namespaced_service_account(
            "kube-system", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "terway"}},
            field_manager=ENI_CONFIG_MANAGER,
        )
        cm = self.eni_config_manifest()
        if self.eni_config_mode == "apply":
            core.patch_namespaced_config_map(
                "eni-config", "kube-system", cm, field_manager=ENI_CONFIG_MANAGER, force=True,
                _content_type="application/apply-patch+yaml",
            )
        else:
            core.create_namespaced_config_map("kube-system", cm, field_manager=ENI_CONFIG_MANAGER)
        apps.create_namespaced_daemon_set("kube-system", self.terway_daemonset_manifest(),
                                          field_manager=ENI_CONFIG_MANAGER)

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

    # ----------------------------------------------------------- audit log

    def audit_offset(self) -> int:
        """Current end of the audit log; pass to ``since=`` to look only at later requests."""
        try:
            return os.path.getsize(self.audit_log)
        except OSError:
            return 0

    def audit_events(self, since: int = 0) -> list[dict]:
        return read_audit_log(self.audit_log, since)

    def write_events(self, since: int = 0, **criteria: Any) -> list[dict]:
        """Write requests (create/update/patch/delete/deletecollection) matching ``AuditFilter`` criteria.

        Example: ``cp.write_events(field_manager="pulumi-kubernetes", resource="configmaps", namespace="kube-system")``
        """
        criteria.setdefault("verbs", WRITE_VERBS)
        f = AuditFilter(**criteria)
        return [ev for ev in self.audit_events(since) if event_matches(ev, f)]

    def count_writes(self, since: int = 0, **criteria: Any) -> int:
        return len(self.write_events(since, **criteria))

    def write_summary(self, since: int = 0, **criteria: Any) -> dict[tuple[str, str, str, str], int]:
        """Counts keyed by (field manager, verb, resource[/subresource], namespace/name) — handy in assertions' messages."""
        out: dict[tuple[str, str, str, str], int] = {}
        for ev in self.write_events(since, **criteria):
            ref = ev.get("objectRef") or {}
            res = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
            key = (field_manager_of(ev), ev["verb"], res, f"{ref.get('namespace', '')}/{ref.get('name', '')}")
            out[key] = out.get(key, 0) + 1
        return out


@contextlib.contextmanager
def control_plane(**kwargs: Any) -> Iterator[ControlPlane]:
    with ControlPlane(**kwargs) as cp:
        yield cp


def _serve(argv: list[str]) -> int:
    """``python e2e/controlplane.py serve [--nodes N] [--ready-file F]``: start, write F (JSON), run until SIGTERM/SIGINT."""
    import argparse

    ap = argparse.ArgumentParser(prog="controlplane.py serve")
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


if __name__ == "__main__":  # python e2e/controlplane.py [serve ...]
    import sys

    if sys.argv[1:2] == ["serve"]:
        sys.exit(_serve(sys.argv[2:]))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    t0 = time.monotonic()
    with ControlPlane(nodes=n) as cp:
        print(f"control plane up in {time.monotonic() - t0:.1f}s: {cp.server}")
        print(f"KUBECONFIG={cp.kubeconfig}")
        print(f"audit log: {cp.audit_log}")
        for key, count in sorted(cp.write_summary().items()):
            print(count, *key)
