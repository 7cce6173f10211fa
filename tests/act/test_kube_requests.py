"""The providers send requests by REST path, never through the generated typed APIs of the client.

Why it matters: importing `kubernetes.client.CoreV1Api` (or any *Api) loads hundreds of model modules,
CPU paid on the critical path of `pulumi preview` by the preflight gate's check, which every writer
waits on (issue 21). The check runs in a fresh interpreter so that no other test's imports count.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, sys
from tests.act import rollout_values as t
from tests.act.stub_apiserver import StubApiServer
from terway_stack.act import preflight, rollout_restart

objects = {t.CM_PATH: {"metadata": {"name": "eni-config"}, "data": {"eni_conf": "{}"}}, t.DS_PATH: t.live_ds(),
           t.SSAR_PATH: {"status": {"allowed": True}}}
with StubApiServer(objects) as api:
    _, failures = preflight.run_checks({**t.preflight_props(confirm_max_unavailable=True), "kubeconfig": api.kubeconfig()})
    observed = rollout_restart.observe(api.kubeconfig(), "kube-system", "terway-eniip")
generated = sorted(m for m in sys.modules if m.startswith(("kubernetes.client.api.", "kubernetes.client.models.")))
print(json.dumps({"failures": [f.reason for f in failures], "generated": generated, "requests": api.requests}))
"""


def test_the_preflight_check_and_the_rollout_read_load_no_generated_api_or_model():
    run = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["failures"] == []
    assert ["GET", "/apis/apps/v1/namespaces/kube-system/daemonsets/terway-eniip"] in outcome["requests"]
    assert ["POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] in outcome["requests"]
    assert outcome["generated"] == []
