"""Issue 19's cluster-side classes as generated cases against a stand-in API server
(tests/act/stub_apiserver.py), counted like tests/plan/hostile_cases.py counts the offline ones:

- timeouts: the API server accepts connections and never answers. Every reader and writer of the
  act layer (the preflight's check, the node read, the eni-config read and write) must end with one
  clear line, within its request timeout (shortened here to TIMEOUT seconds; the real ones are
  act/kube.py's 10 s connect + 30 s read and the node read's 20 s), never hang or raise something else;
- permissions: every SelfSubjectAccessReview is answered "denied" (with a generated reason, newlines
  and all). The preflight must refuse with one line per request of the run (verb and object), and
  send nothing but GETs and reviews.

`python -m tests.act.hostile_cluster N` prints the counts; tests/act/test_hostile_cluster.py asserts 0.
"""
from __future__ import annotations

import random
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from terway_stack.act import cluster_nodes, kube
from terway_stack.act.cluster_nodes import read_nodes
from terway_stack.act.configmap_writes import observe_keys
from terway_stack.act.eni_config_writer import write_eni_conf
from terway_stack.act.preflight import run_checks
from terway_stack.decide import facts
from terway_stack.decide.permissions import run_accesses
from terway_stack.decide.preflight import PreflightSettings

from .stub_apiserver import StubApiServer

TIMEOUT = 0.5
HANG_SECONDS = 20
KINDS = ("traceback", "hang", "wrongly accepted", "partial write", "unclear")
CLASSES = ("timeouts", "permissions")
REASONS = ["", "RBAC: no", "line one\nline two", "denied: " + "x" * 500, "\x1b[31mred\x1b[0m", "a: b: c"]


@dataclass
class Result:
    error: Optional[BaseException] = None
    value: Any = None
    hung: bool = False


def _in_thread(call: Callable[[], Any]) -> Result:
    result = Result()

    def run():
        try:
            result.value = call()
        except BaseException as err:  # noqa: BLE001 - judged below
            result.error = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_SECONDS)
    result.hung = thread.is_alive()
    return result


def settings_for(rng: random.Random) -> PreflightSettings:
    mode = rng.choice(["typha", "direct", "disabled"])
    daemon_sets = tuple(rng.sample(["terway-eniip", "terway-eni", "terway-eniip-2"], rng.randint(1, 3)))
    return PreflightSettings(
        mode=mode, daemon_sets=daemon_sets, manages_vswitches=rng.random() < 0.5,
        wanted_vswitches={"cn-shanghai-f": ["vsw-a1"]} if rng.random() < 0.5 else {},
        accesses=tuple(run_accesses([], daemon_sets, facts.TERWAY_NAMESPACE)),
    )


def one_clear_line(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text.strip() and "Traceback" not in text


def timeout_case(rng: random.Random) -> list[str]:
    which = rng.choice(["preflight", "nodes", "observe", "write"])
    with StubApiServer(frozen=True) as api:
        config = api.kubeconfig()
        settings = settings_for(rng)
        calls = {
            "preflight": lambda: run_checks({"kind": facts.PREFLIGHT_KIND, "settings": settings.as_props(), "kubeconfig": config}),
            "nodes": lambda: read_nodes(config),
            "observe": lambda: observe_keys(config, "kube-system", "eni-config", ["eni_conf"]),
            "write": lambda: write_eni_conf(config, "kube-system", "eni-config", {"cn-shanghai-f": ["vsw-a1"]}),
        }
        result = _in_thread(calls[which])
        writes = [r for r in api.requests if r[0] not in ("GET", "POST")]
    if result.hung:
        return ["hang"]
    found = ["partial write"] if writes else []
    if which == "preflight" and result.error is None:
        _inputs, failures = result.value
        if not failures:
            return found + ["wrongly accepted"]
        return found + ([] if all(one_clear_line(f.reason) for f in failures) else ["unclear"])
    if result.error is None:
        return found + ["wrongly accepted"]
    if not isinstance(result.error, Exception) or type(result.error).__module__.startswith(("urllib3", "socket", "builtins")):
        return found + ["traceback"]  # an exception nobody turned into a message
    return found + ([] if one_clear_line(str(result.error)) else ["unclear"])


def permission_case(rng: random.Random) -> list[str]:
    settings = settings_for(rng)
    reason = rng.choice(REASONS)
    objects = {
        kube.configmap_path("kube-system", "eni-config"): {
            "metadata": {"name": "eni-config", "namespace": "kube-system", "managedFields": []},
            "data": {"eni_conf": '{"vswitches": {"cn-shanghai-f": ["vsw-a1"]}}'}},
        kube.SELF_SUBJECT_ACCESS_REVIEWS: {"status": {"allowed": False, "reason": reason}},
        "/apis/authorization.k8s.io/v1/subjectaccessreviews": {"status": {"allowed": True}},
        kube.NODES: {"items": []},
        "/version": {"gitVersion": "v1.30.1"},
    }
    for name in settings.daemon_sets:
        objects[kube.daemonset_path("kube-system", name)] = {
            "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
            "status": {"desiredNumberScheduled": 4}}
    with StubApiServer(objects) as api:
        news = {"kind": facts.PREFLIGHT_KIND, "settings": settings.as_props(), "kubeconfig": api.kubeconfig()}
        result = _in_thread(lambda: run_checks(news))
        writes = [r for r in api.requests if r[0] not in ("GET", "POST")]
    if result.hung:
        return ["hang"]
    if result.error is not None:
        return ["traceback"]
    found = ["partial write"] if writes else []
    _inputs, failures = result.value
    denials = [f.reason for f in failures if "this identity may not" in f.reason]
    if len(denials) < len(settings.accesses):
        found.append("wrongly accepted")
    for access in settings.accesses:
        if not any(f"may not {access.verb} {access.target()}" in d for d in denials):
            found.append("unclear")
            break
    else:
        if not all(one_clear_line(f.reason) for f in failures):
            found.append("unclear")
    return found


GENERATORS = {"timeouts": timeout_case, "permissions": permission_case}


def counts(per_class: int, seed: int = 19) -> dict[str, dict[str, int]]:
    rng = random.Random(seed)
    saved = kube.REQUEST_TIMEOUT, cluster_nodes.TIMEOUT_SECONDS
    kube.REQUEST_TIMEOUT, cluster_nodes.TIMEOUT_SECONDS = (TIMEOUT, TIMEOUT), TIMEOUT
    try:
        table = {}
        for klass in CLASSES:
            row = {"cases": per_class, **{kind: 0 for kind in KINDS}}
            for _ in range(per_class):
                for kind in GENERATORS[klass](rng):
                    row[kind] += 1
            table[klass] = row
        return table
    finally:
        kube.REQUEST_TIMEOUT, cluster_nodes.TIMEOUT_SECONDS = saved


if __name__ == "__main__":
    table = counts(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
    for klass, row in table.items():
        print(klass, row)
