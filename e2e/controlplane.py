"""A throw-away local Kubernetes control plane for end-to-end tests, made by kwokctl.

`kwokctl create cluster --runtime binary` runs etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and the kwok controller from the binaries built by ``e2e/build-engine.sh`` (kwokctl
makes the PKI, the kubeconfig and the audit wiring, supervises the processes, and gives kwok its
default stages: fake nodes become Ready, pods Running). This module adds only what the suite needs
on top: fake nodes labelled like ACK nodes (zone, instance type), the ACK starting state that the
Terway runbooks change (ServiceAccount ``terway``, DaemonSet ``terway-eniip``, ConfigMap
``eni-config``), and helpers that read the API server's audit log.

    from e2e.controlplane import ControlPlane
    with ControlPlane(nodes=6) as cp:
        os.environ["KUBECONFIG"] = cp.kubeconfig
        ...
        assert cp.count_writes(field_manager="pulumi-kubernetes", resource="configmaps") == 1

The audit log (Metadata level, every request, JSON lines) is ``cp.audit_log``; ``cp.audit_events()``
/ ``cp.write_events()`` / ``cp.count_writes()`` read it. Every request of ``cp.kubeconfig``'s client
is made as ``cp.admin_user`` (kwokctl's admin certificate).

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
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import yaml

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
# A review is a create the API server answers and stores nothing for (the preflight's
# SelfSubjectAccessReviews): never a write.
REVIEW_RESOURCES = frozenset({"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews", "tokenreviews"})

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

# Binaries kwokctl is given (its flag -> binary), and the cache directory that holds each.
KWOKCTL_BINARIES = {
    "etcd-binary": "etcd",
    "kube-apiserver-binary": "kube-apiserver",
    "kube-controller-manager-binary": "kube-controller-manager",
    "kube-scheduler-binary": "kube-scheduler",
    "kwok-controller-binary": "kwok",
}
BINARIES = {
    "etcd": "etcd",
    "kube-apiserver": "kubernetes",
    "kube-controller-manager": "kubernetes",
    "kube-scheduler": "kubernetes",
    "kwok": "kwok",
    "kwokctl": "kwok",
}
# The identity of cp.kubeconfig's requests (O=system:masters). kwokctl runs the controller manager and
# the scheduler with its own admin certificate (kwok-admin), so the stack and the tests get a user of
# their own, or the audit log could not tell our writes from the controllers'.
ADMIN_USER = "terway-e2e-admin"
AUDIT_POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                "rules": [{"level": "Metadata"}]}


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


# --------------------------------------------------------------------------- small helpers


def _openssl(*args: str) -> None:
    exe = shutil.which("openssl")
    if not exe:
        raise ControlPlaneError("openssl not found on PATH (needed for the test user's client certificate)")
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ControlPlaneError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


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


def by_daemonset_controller(event: dict) -> bool:
    """kube-controller-manager names the controller at the end of its user agent (one identity for all)."""
    return (event.get("userAgent") or "").endswith("/daemon-set-controller")


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
    """A kwokctl cluster (binary runtime) with ACK-like fake nodes and the ACK seed state.

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
        self.name = f"terway-e2e-{os.getpid()}-{id(self) % 100000}"
        self._created = False
        self._api_client = None
        self.server = ""

    # ----------------------------------------------------------- public paths / clients

    @property
    def cluster_dir(self) -> Path:
        """kwokctl's directory for this cluster: pki/, logs/ (one per component), kubeconfig.yaml."""
        return self.dir / "kwok" / "clusters" / self.name

    @property
    def kubeconfig(self) -> str:
        return str(self.dir / "kubeconfig")

    @property
    def kubeconfig_inline_path(self) -> str:
        """The admin kubeconfig with certificates embedded (self-contained text for a Pulumi Provider)."""
        return str(self.dir / "kubeconfig.inline")

    @property
    def audit_log(self) -> str:
        return str(self.cluster_dir / "logs" / "audit.log")

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
            self._create_cluster()
            self._write_admin_kubeconfig()
            self._wait_apiserver_ready()
            Path(self.kubeconfig_inline_path).write_text(self.kubeconfig_inline())
            os.chmod(self.kubeconfig_inline_path, 0o600)
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
        if self._created:
            self._kwokctl("delete", "cluster", check=False, timeout=60)
            self._created = False
        if self._own_dir and not self.keep and self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None  # type: ignore[assignment]

    # ----------------------------------------------------------- kwokctl

    def _kwokctl(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "KWOK_WORKDIR": str(self.dir / "kwok")}
        try:
            result = subprocess.run(
                [str(find_binary("kwokctl")), "--name", self.name, *args],
                env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            raise ControlPlaneError(
                f"kwokctl {' '.join(args[:2])} did not finish in {timeout:.0f}s: {str(err.stderr or '')[-2000:]}\n"
                f"{self._component_logs()}"
            ) from None
        if check and result.returncode != 0:
            raise ControlPlaneError(
                f"kwokctl {' '.join(args[:2])} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-3000:]}\n{self._component_logs()}"
            )
        return result

    def _create_cluster(self) -> None:
        policy = self.dir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY))
        binaries = [f"--{flag}={find_binary(name)}" for flag, name in KWOKCTL_BINARIES.items()]
        self._created = True  # a failed create may still have started processes: stop() deletes
        create = lambda: self._kwokctl(  # noqa: E731
            "create", "cluster",
            "--runtime=binary",
            *binaries,
            f"--kube-audit-policy={policy}",
            "--kube-authorization=true",
            f"--kubeconfig={self.dir / 'kwokctl-kubeconfig'}",  # never the user's ~/.kube/config
            f"--wait={int(self.timeout)}s",
            timeout=self.timeout + 60,
        )
        try:
            create()
        except ControlPlaneError as err:
            # Seen once with several clusters starting at once on 2 cores: kwokctl waited out a
            # component that never became ready. One fresh attempt, said out loud, then give up.
            print(f"[controlplane] kwokctl create failed, deleting and trying once more: {str(err)[:300]}", flush=True)
            self._kwokctl("delete", "cluster", check=False, timeout=60)
            create()
        kubeconfig = yaml.safe_load((self.cluster_dir / "kubeconfig.yaml").read_text())
        self.server = kubeconfig["clusters"][0]["cluster"]["server"]

    def _component_logs(self, lines: int = 10) -> str:
        logs = sorted((self.cluster_dir / "logs").glob("*.log")) if self.dir else []
        return "\n".join(f"--- {p.name}:\n{_tail(p, lines)}" for p in logs if p.name != "audit.log")

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

    def _write_admin_kubeconfig(self) -> None:
        """kwokctl's kubeconfig, with a client certificate for ADMIN_USER signed by kwokctl's CA."""
        pki, ours = self.cluster_dir / "pki", self.dir / "admin"
        ours.mkdir(exist_ok=True)
        key, csr, crt = ours / "admin.key", ours / "admin.csr", ours / "admin.crt"
        ext = ours / "client.ext"
        ext.write_text("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
        _openssl("req", "-new", "-key", str(key), "-subj", f"/O=system:masters/CN={ADMIN_USER}", "-out", str(csr))
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
                 "-CAcreateserial", "-CAserial", str(ours / "ca.srl"), "-days", "2", "-sha256",
                 "-extfile", str(ext), "-out", str(crt))
        cfg = yaml.safe_load((self.cluster_dir / "kubeconfig.yaml").read_text())
        for user in cfg.get("users", []):
            user["user"] = {"client-certificate": str(crt), "client-key": str(key)}
        Path(self.kubeconfig).write_text(yaml.safe_dump(cfg))
        os.chmod(self.kubeconfig, 0o600)

    def kubeconfig_inline(self) -> str:
        """The admin kubeconfig with certificates embedded (for a Pulumi provider's ``kubeconfig`` input)."""
        import base64

        cfg = yaml.safe_load(Path(self.kubeconfig).read_text())
        base = self.cluster_dir

        def embed(section: dict, key: str) -> None:
            if key in section:
                path = Path(section.pop(key))
                section[f"{key}-data"] = base64.b64encode((base / path).read_bytes()).decode()

        for cluster in cfg.get("clusters", []):
            embed(cluster["cluster"], "certificate-authority")
        for user in cfg.get("users", []):
            embed(user["user"], "client-certificate")
            embed(user["user"], "client-key")
        return yaml.safe_dump(cfg)

    def _apiserver_ready(self) -> bool:
        # The client's own TLS pool (admin certificate), for a path the typed APIs do not cover.
        pool = self.api_client().rest_client.pool_manager
        try:
            return pool.request("GET", f"{self.server}/readyz", timeout=5, retries=False).status == 200
        except Exception:  # noqa: BLE001 - refused, TLS not up yet: not ready
            return False

    def _wait_apiserver_ready(self) -> None:
        self._wait("kube-apiserver /readyz", self._apiserver_ready)
        self._wait("namespace kube-system", lambda: self.core().read_namespace("kube-system") is not None)
        self._wait(
            "priority class system-node-critical",
            lambda: self._scheduling().read_priority_class("system-node-critical") is not None,
        )

    def _scheduling(self):
        from kubernetes import client

        return client.SchedulingV1Api(self.api_client())

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
        if f.user is not None and f.user not in self.users_seen():
            # An empty answer for a user who never made a request proves nothing: fail instead.
            raise ValueError(f"no request by user {f.user!r} in the audit log (users seen: {sorted(self.users_seen())})")
        return [
            ev for ev in self.audit_events(since)
            if event_matches(ev, f) and (ev.get("objectRef") or {}).get("resource") not in REVIEW_RESOURCES
        ]

    def users_seen(self) -> set[str]:
        return {(ev.get("user") or {}).get("username", "") for ev in self.audit_events(0)}

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
