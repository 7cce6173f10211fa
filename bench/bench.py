"""Benchmark: prints measurements and ratios; asserts nothing (tests do that).

(a) `pulumi preview` of the real stack vs a floor stack (bench/floor) that uses the same providers
    with one trivial resource each: median of several runs, as ratios of wall time and of CPU time
    (user + sys of the child processes: pulumi, its plugins, the Python program and the dynamic
    provider; the kube-apiserver and the loopback cloud API are not children and are not counted).
    The runs alternate (stack, floor, cloud, cloud floor, stack, ...), so a busy machine slows both
    sides alike. Two floors:
    - floor: a ConfigMap through an explicit Kubernetes provider and one no-op dynamic resource
      (the providers of the stack without Alibaba Cloud: `terway:cloudLookups: false`, adopted vSwitches);
    - cloud floor: the same plus one VPC through the real alicloud provider with the cloud stack's
      provider settings (loopback endpoint, fake keys), so it starts and configures that provider too.
    The cloud line is the stack creating pod vSwitches with SNAT, its look-ups through the real alicloud
    provider to the loopback Alibaba Cloud API, against both floors.
(b) The rolling restart on 100 and 1000 kwok nodes: the API writes the provider issues (audit log),
    the writes the DaemonSet controller does for it, and the rollout time; 1000-vs-100 ratios.
(c) Validation time as inputs grow 10x (bench/validation.py): about x10 means linear.
(d) `fleet up` of 3 to 5 stacks against the sum of their single `pulumi up`s (bench/fleet_bench.py).
(e) N = 50 and 200 Felix agents, direct vs through a real Typha: added API-server watches, requests
    per identity, API-server RSS, time to in-sync; relay/direct ratios (bench/typha_load.py).

Run with `make bench` (builds or reuses the engine first).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from e2e.audit_log import by_daemonset_controller  # noqa: E402
from e2e.controlplane import ControlPlane  # noqa: E402
from e2e.alicloud_api import LoopbackAlibabaCloud  # noqa: E402
from e2e.alicloud_api.account import e2e_account, pod_vswitches  # noqa: E402
from e2e.pulumi_project import (  # noqa: E402
    PulumiCli, cloud_stack_config, copy_project, require_alicloud_plugin, set_fake_alicloud_credentials,
)
from tests.engine_pickling import engine_copy  # noqa: E402
from terway_stack.act import terway_rollout as tr  # noqa: E402
from terway_stack.decide import facts  # noqa: E402

from typha_load import load_ratios  # noqa: E402  (bench/typha_load.py, next to this file)
from validation import validation_ratios  # noqa: E402  (bench/validation.py, next to this file)

FLOOR = Path(__file__).with_name("floor")  # one project; the cloud floor sets floor:alicloud
STACK_CONFIG = {
    "alicloud:region": "cn-shanghai",
    "terway:cluster": {"name": "bench", "kubernetesVersion": "1.34", "nodeCount": 6},
    "terway:networkPolicy": "typha",
    # No Alibaba Cloud here: the adopted ids are not looked up (as in the e2e stack).
    "terway:cloudLookups": False,
    "terway:podVSwitches": {"zones": {"cn-shanghai-f": {"vswitchId": "vsw-benchf"}, "cn-shanghai-g": {"vswitchId": "vsw-benchg"}}},
}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def child_cpu_seconds() -> float:
    """User + sys CPU of every ended child process this process waited for (and of theirs, in turn)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(fn) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one call that runs a child process to its end."""
    cpu = child_cpu_seconds()
    wall = timed(fn)
    return wall, child_cpu_seconds() - cpu


def prepared_stack(project: Path, home: Path, config: dict, kubeconfig: str, before_warm_up=None) -> PulumiCli:
    cli = PulumiCli(project, home)
    (project / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": config}))
    cli("stack", "init", "bench")
    cli("config", "set", "--secret", "kubernetes:kubeconfig", "--", kubeconfig)
    if before_warm_up is not None:
        before_warm_up(cli)
    cli("preview")  # warm-up: first run loads plugins into the OS cache
    return cli


def floor_project(folder: Path) -> Path:
    folder.mkdir()
    for item in FLOOR.iterdir():
        if item.is_file():
            (folder / item.name).write_text(item.read_text())
    (folder / "venv").symlink_to(Path(sys.prefix))
    return folder


def alternating(stacks: dict[str, PulumiCli], runs: int) -> dict[str, list[tuple[float, float]]]:
    """`pulumi preview` of each stack in turn, `runs` rounds: {name: [(wall, cpu), ...]}."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in stacks}
    for _ in range(runs):
        for name, cli in stacks.items():
            results[name].append(measured(lambda: cli("preview")))
    return results


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def preview_ratio(runs: int) -> None:
    require_alicloud_plugin()
    with ControlPlane(nodes=6) as cp, LoopbackAlibabaCloud(e2e_account()) as api, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stack_dir, cloud_dir = (tmp / "stack"), (tmp / "cloud")
        for folder in (stack_dir, cloud_dir):
            folder.mkdir()
            copy_project(folder)
        kubeconfig = cp.kubeconfig_inline()
        # The same stack creating a pod vSwitch with SNAT: every look-up goes through the real
        # pulumi-resource-alicloud to the loopback Alibaba Cloud API (a test double, e2e/alicloud_api).
        cloud_config = cloud_stack_config("bench", 6, "typha", api.endpoint, pod_vswitches())
        provider_settings = {k: v for k, v in cloud_config.items() if k.startswith("alicloud:")}
        stacks = {
            "stack": prepared_stack(stack_dir, tmp / "stack-home", STACK_CONFIG, kubeconfig),
            "floor": prepared_stack(floor_project(tmp / "floor"), tmp / "floor-home", {}, kubeconfig),
            "cloud": prepared_stack(cloud_dir, tmp / "cloud-home", cloud_config, kubeconfig,
                                    before_warm_up=set_fake_alicloud_credentials),
            "cloud floor": prepared_stack(floor_project(tmp / "cloud-floor"), tmp / "cloud-floor-home",
                                          {**provider_settings, "floor:alicloud": True}, kubeconfig,
                                          before_warm_up=set_fake_alicloud_credentials),
        }
        results = alternating(stacks, runs)
    (s, s_cpu), (f, f_cpu) = medians(results["stack"]), medians(results["floor"])
    (c, c_cpu), (cf, cf_cpu) = medians(results["cloud"]), medians(results["cloud floor"])
    print(f"(a) pulumi preview, median of {runs} alternating runs: stack {s:.2f}s, floor {f:.2f}s, ratio stack/floor {s / f:.2f}; "
          f"CPU (user+sys of child processes) stack {s_cpu:.2f}s, floor {f_cpu:.2f}s, CPU ratio {s_cpu / f_cpu:.2f}")
    print(f"    with cloud look-ups through the real alicloud provider (loopback API): {c:.2f}s, ratio /floor {c / f:.2f}; "
          f"against the cloud floor (+ alicloud provider, {cf:.2f}s) {c / cf:.2f}, CPU {c_cpu:.2f}s / {cf_cpu:.2f}s = {c_cpu / cf_cpu:.2f}")
    print("    runs (wall s): " + "; ".join(f"{name} {[round(w, 2) for w, _ in samples]}" for name, samples in results.items()))


def restart_on(nodes: int) -> dict:
    with ControlPlane(nodes=nodes, timeout=900) as cp:
        since = cp.audit_offset()
        provider = engine_copy(tr.TerwayRolloutProvider())
        props = {
            "kind": facts.ROLLOUT_KIND, "restartMethod": facts.ROLLOUT_METHOD, "daemonSet": "terway-eniip",
            "namespace": "kube-system", "trigger": uuid.uuid4().hex, "restartOn": "change",
            "timeoutSeconds": 1800.0, "kubeconfig": cp.kubeconfig_inline(),
        }
        seconds = timed(lambda: provider.create(props))
        ours = cp.count_writes(since, user_agent=facts.ROLLOUT_USER_AGENT.split("/")[0])
        controller = cp.count_writes(since, predicate=by_daemonset_controller)
    return {"nodes": nodes, "seconds": seconds, "provider_writes": ours, "controller_writes": controller}


def restart_ratios(sizes: list[int]) -> None:
    results = [restart_on(n) for n in sizes]
    for r in results:
        print(
            f"(b) restart on {r['nodes']:>5} nodes: {r['seconds']:.1f}s rollout, {r['provider_writes']} provider write(s), "
            f"{r['controller_writes']} DaemonSet-controller writes, {r['seconds'] / r['nodes'] * 1000:.1f} ms/node"
        )
    small, large = results[0], results[-1]
    print(
        f"    ratio {large['nodes']}/{small['nodes']} nodes: time x{large['seconds'] / small['seconds']:.2f}, "
        f"provider writes x{large['provider_writes'] / max(1, small['provider_writes']):.2f}, "
        f"controller writes x{large['controller_writes'] / max(1, small['controller_writes']):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--agents", type=int, nargs="+", default=[50, 200], help="(e) Felix agents per phase")
    parser.add_argument("--fleet", type=int, default=3, help="stacks in the fleet measurement (3 to 5)")
    parser.add_argument("--only", choices=("preview", "restart", "validation", "fleet", "load"))
    args = parser.parse_args()
    if args.only in (None, "validation"):
        validation_ratios()
    if args.only in (None, "preview"):
        preview_ratio(args.runs)
    if args.only in (None, "restart"):
        restart_ratios(args.nodes)
    if args.only in (None, "fleet"):
        from fleet_bench import fleet_ratio  # beside this script

        fleet_ratio(args.fleet)
    if args.only in (None, "load"):
        load_ratios(args.agents)


if __name__ == "__main__":
    main()
