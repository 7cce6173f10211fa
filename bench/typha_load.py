"""(e) API-server load of N Felix agents, direct vs through a real Typha (issue 17).

One control plane (the e2e seed: Terway's RBAC and Calico CRDs, nodes with InternalIPs). The Typha
objects the stack renders (decide.typha_manifests) are applied as they are, so kwok schedules the
Deployment and the calico-typha Endpoints list node addresses; the real calico-typha then runs as a
local process with that Deployment's env, as kube-system/terway (e2e/typha_process.py).

For each N, felixload (e2e/felixload) runs N simulated Felixes as `terway`:
- direct: libcalico-go's felixsyncer per agent against the API server, QPS 1 (Terway's Felix);
- relay: one Endpoints GET per agent, then Calico's Typha client to an address found there.

Measured while the agents stay connected, against the state just before they started:
- added API-server watches: `apiserver_longrunning_requests{verb="WATCH"}` summed (1.34 has no
  apiserver_registered_watchers);
- requests by identity: audit-log events per user during the phase (Typha's own are `terway` too,
  told apart by user agent);
- kube-apiserver RSS (VmRSS of its process) before and after;
- time to in-sync, p50 and max, as felixload reports it.
Prints the figures and the relay/direct ratios; asserts nothing.
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from e2e.controlplane import ControlPlane  # noqa: E402
from e2e.identities import token_for  # noqa: E402
from e2e.typha_process import (  # noqa: E402
    TyphaProcess,
    felix_agents,
    service_account_kubeconfig,
    typha_binary,
)
from terway_stack.decide.settings import DEFAULT_TYPHA_VERSION, parse_settings  # noqa: E402
from terway_stack.decide.typha_manifests import render_typha  # noqa: E402

NS = "kube-system"
TERWAY_USER = "system:serviceaccount:kube-system:terway"
_WATCH_SERIES = re.compile(r'^apiserver_longrunning_requests\{[^}]*verb="WATCH"[^}]*\}\s+([0-9.e+]+)$', re.M)


def watches(cp: ControlPlane) -> int:
    pool = cp.api_client().rest_client.pool_manager
    text = pool.request("GET", f"{cp.server}/metrics", timeout=30).data.decode()
    return int(sum(float(v) for v in _WATCH_SERIES.findall(text)))


def apiserver_rss_mb(cp: ControlPlane) -> float:
    marker = str(cp.cluster_dir)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "kube-apiserver" in cmdline.split(" ", 1)[0] and marker in cmdline:
                status = (proc / "status").read_text()
                return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024
        except (OSError, TypeError):
            continue
    raise RuntimeError("kube-apiserver process of the control plane not found")


def requests_by_identity(cp: ControlPlane, since: int) -> Counter:
    counts: Counter = Counter()
    for event in cp.audit_events(since):
        user = (event.get("user") or {}).get("username", "?")
        agent = (event.get("userAgent") or "").split("/", 1)[0]
        who = f"{user} ({'typha' if 'typha' in agent.lower() else agent or '?'})" if user == TERWAY_USER else user
        counts[who] += 1
    return counts


def apply_typha_objects(cp: ControlPlane) -> dict:
    settings = parse_settings({
        "alicloud:region": "cn-shanghai",
        "cluster": {"name": "bench", "kubernetesVersion": "1.34", "nodeCount": cp.node_count},
    })
    manifests = render_typha(settings)
    cp.core().create_namespaced_service(NS, manifests.service)
    cp.apps().create_namespaced_deployment(NS, manifests.deployment)
    cp._wait("calico-typha Endpoints with addresses", lambda: any(
        s.addresses for s in (cp.core().read_namespaced_endpoints("calico-typha", NS).subsets or [])
    ))
    return manifests.deployment


def run_phase(cp: ControlPlane, felixload: Path, kubeconfig: Path, mode: str, agents: int) -> dict:
    before_watches, before_rss, since = watches(cp), apiserver_rss_mb(cp), cp.audit_offset()
    with felix_agents(felixload, kubeconfig, mode, agents, timeout=300) as load:
        report = json.loads(load.stdout.readline() or "{}")
        after_watches, after_rss = watches(cp), apiserver_rss_mb(cp)
    return {
        "mode": mode, "n": agents, "in_sync": report.get("inSync", 0), "p50_ms": report.get("p50Ms", 0.0),
        "max_ms": report.get("maxMs", 0.0), "watches": after_watches - before_watches,
        "rss_before": before_rss, "rss_after": after_rss, "requests": requests_by_identity(cp, since),
        "errors": len(report.get("errors") or []),
    }


def ratio(relay: float, direct: float) -> str:
    return f"{relay / direct:.3f}" if direct else "n/a"


def print_phase(r: dict) -> None:
    terway = {who: n for who, n in r["requests"].items() if who.startswith(TERWAY_USER)}
    print(
        f"(e) {r['mode']:>6} N={r['n']:>4}: in sync {r['in_sync']}/{r['n']} (p50 {r['p50_ms'] / 1000:.2f}s, max "
        f"{r['max_ms'] / 1000:.2f}s), +{r['watches']} API-server watches, kube-apiserver RSS {r['rss_before']:.0f} -> "
        f"{r['rss_after']:.0f} MB, requests as terway {terway}"
    )


def load_ratios(sizes: list[int]) -> None:
    felixload = typha_binary("felixload", DEFAULT_TYPHA_VERSION)
    with ControlPlane(nodes=6, timeout=300) as cp, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        deployment = apply_typha_objects(cp)
        ca = cp.cluster_dir / "pki" / "ca.crt"
        kubeconfig = service_account_kubeconfig(tmp / "felix", cp.server, ca, token_for(cp.core(), NS, "terway"), "terway")
        binary = typha_binary("calico-typha", DEFAULT_TYPHA_VERSION)
        with TyphaProcess(binary, deployment, cp.server, ca, token_for(cp.core(), NS, "terway"), tmp) as typha:
            typha.wait_ready(timeout=120)
            results = {}
            for n in sizes:
                for mode in ("relay", "direct"):
                    results[(mode, n)] = run_phase(cp, felixload, kubeconfig, mode, n)
                    print_phase(results[(mode, n)])
    for n in sizes:
        relay, direct = results[("relay", n)], results[("direct", n)]
        count = lambda r: sum(v for who, v in r["requests"].items() if who.startswith(TERWAY_USER))  # noqa: E731
        print(
            f"    relay/direct at N={n}: added watches {ratio(relay['watches'], direct['watches'])}, requests as terway "
            f"{ratio(count(relay), count(direct))}, RSS growth {ratio(relay['rss_after'] - relay['rss_before'], direct['rss_after'] - direct['rss_before'])}, "
            f"time to in-sync p50 {ratio(relay['p50_ms'], direct['p50_ms'])}"
        )
