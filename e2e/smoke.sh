#!/usr/bin/env bash
# End-to-end smoke test of the e2e harness.
#
#   e2e/smoke.sh                 engine + control plane + pulumi up/preview --policy-pack/destroy
#   e2e/smoke.sh --cluster-only  engine + control plane + seed checks (no Pulumi CLI needed)
#
# Environment: TERWAY_ENGINE_CACHE (engine cache), TERWAY_E2E_VENV (virtualenv with
# pulumi, pulumi_kubernetes, pulumi_policy, kubernetes, pyyaml; default /tmp/v),
# TERWAY_E2E_NODES (fake nodes, default 6), TERWAY_E2E_KEEP=1 (keep the temp dir).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${TERWAY_E2E_VENV:-/tmp/v}"
CACHE="${TERWAY_ENGINE_CACHE:-$HOME/.cache/terway-stack/engine}"
NODES="${TERWAY_E2E_NODES:-6}"
CLUSTER_ONLY=""
[[ "${1:-}" == "--cluster-only" ]] && CLUSTER_ONLY=1

say() { printf '\n[smoke] %s\n' "$*" >&2; }
fail() { printf '\n[smoke] FAIL: %s\n' "$*" >&2; exit 1; }

[[ -x "$VENV/bin/python" ]] || fail "no virtualenv at $VENV (set TERWAY_E2E_VENV)"
PY="$VENV/bin/python"

say "engine: $HERE/build-engine.sh (reuses cached builds)"
"$HERE/build-engine.sh"
# shellcheck disable=SC1091
source "$CACHE/env.sh"
export PATH="$VENV/bin:$PATH"

if [[ -z "$CLUSTER_ONLY" ]]; then
  missing=()
  for b in pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    fail "Pulumi engine binaries not found on PATH: ${missing[*]} (run e2e/build-engine.sh), or run: e2e/smoke.sh --cluster-only"
  fi
  [[ -x "${TERWAY_PULUMI_PLUGINS:-/nonexistent}/resource-kubernetes-v4.32.0/pulumi-resource-kubernetes" ]] \
    || fail "pulumi-resource-kubernetes v4.32.0 not in \$TERWAY_PULUMI_PLUGINS (run e2e/build-engine.sh and source its env.sh)"
fi

WORK="$(mktemp -d /tmp/terway-e2e-smoke.XXXXXX)"
CP_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$CP_PID" ]] && kill -0 "$CP_PID" 2>/dev/null; then
    kill -TERM "$CP_PID" 2>/dev/null || true
    wait "$CP_PID" 2>/dev/null || true
  fi
  if [[ "${TERWAY_E2E_KEEP:-}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

say "control plane: $NODES kwok nodes, ACK seed state"
t0=$(date +%s)
PYTHONPATH="$HERE/.." "$PY" -m e2e.controlplane serve --nodes "$NODES" --ready-file "$WORK/cp.json" > "$WORK/controlplane.log" 2>&1 &
CP_PID=$!
until [[ -f "$WORK/cp.json" ]]; do
  if ! kill -0 "$CP_PID" 2>/dev/null; then cat "$WORK/controlplane.log" >&2; fail "control plane did not start"; fi
  sleep 0.5
done
KUBECONFIG="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["kubeconfig"])' "$WORK/cp.json")"
AUDIT_LOG="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["audit_log"])' "$WORK/cp.json")"
KUBECONFIG_INLINE="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["kubeconfig_inline"])' "$WORK/cp.json")"
export KUBECONFIG
say "control plane ready in $(( $(date +%s) - t0 ))s (KUBECONFIG=$KUBECONFIG)"

"$PY" - <<'EOF'
import json, os
from kubernetes import client, config
api = config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
nodes = core.list_node().items
zones = sorted({n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes})
ready = [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)]
ds = apps.read_namespaced_daemon_set("terway-eniip", "kube-system")
cm = core.read_namespaced_config_map("eni-config", "kube-system")
pods = core.list_namespaced_pod("kube-system", label_selector="app=terway-eniip").items
print(f"nodes: {len(ready)}/{len(nodes)} Ready, zones {zones}")
print(f"terway-eniip: desired={ds.status.desired_number_scheduled} available={ds.status.number_available}")
print(f"terway pods Running: {sum(p.status.phase == 'Running' for p in pods)}/{len(pods)}")
print(f"eni-config keys: {sorted(cm.data)}; managers: {[m.manager + '/' + m.operation for m in cm.metadata.managed_fields]}")
print(f"eni_conf vswitches: {json.loads(cm.data['eni_conf'])['vswitches']}")
assert len(ready) == len(nodes) and ds.status.number_available == len(nodes)
EOF

if [[ -z "$CLUSTER_ONLY" ]]; then
  export PULUMI_HOME="$WORK/pulumi-home"
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
  export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_CONFIG_PASSPHRASE=e2e-smoke
  mkdir -p "$PULUMI_HOME" "$WORK/state"
  ln -s "$TERWAY_PULUMI_PLUGINS" "$PULUMI_HOME/plugins"
  cp -r "$HERE/smoke" "$WORK/smoke"
  cd "$WORK/smoke"
  say "pulumi $(pulumi version)"
  pulumi login "file://$WORK/state"
  pulumi stack init e2e --non-interactive
  # certificates embedded: the provider gets the kubeconfig text, not a path
  pulumi config set --secret kubeconfig -- "$(cat "$KUBECONFIG_INLINE")"
  say "pulumi up"
  pulumi up --yes --skip-preview --non-interactive
  check_cm() { # name expected(yes|no)
    "$PY" - "$1" "$2" <<'PYEOF'
import os, sys
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
core = client.CoreV1Api(config.new_client_from_config(config_file=os.environ["KUBECONFIG"]))
name, want = sys.argv[1], sys.argv[2] == "yes"
try:
    cm = core.read_namespaced_config_map(name, "default")
    print(f"ConfigMap default/{name}: data={cm.data} managers={[m.manager for m in cm.metadata.managed_fields]}")
    ok = want
except ApiException as err:
    if err.status != 404:
        raise
    print(f"ConfigMap default/{name}: absent")
    ok = not want
sys.exit(0 if ok else 1)
PYEOF
  }
  check_cm e2e-smoke-dynamic yes || fail "dynamic resource did not create its ConfigMap"
  check_cm e2e-smoke yes || fail "ConfigMap e2e-smoke missing"
  pulumi stack output --json
  say "pulumi preview --policy-pack"
  pulumi preview --non-interactive --policy-pack "$WORK/smoke/policy" | tee "$WORK/preview.log"
  grep -q "smoke policy observed resource pulumi-python:dynamic:Resource" "$WORK/preview.log" \
    || fail "policy pack did not report on the dynamic resource"
  say "pulumi destroy"
  pulumi destroy --yes --non-interactive
  check_cm e2e-smoke-dynamic no || fail "destroy left ConfigMap e2e-smoke-dynamic"
  check_cm e2e-smoke no || fail "destroy left ConfigMap e2e-smoke"
  pulumi stack rm --yes --non-interactive e2e
fi

say "audit log: writes by field manager (top 15)"
"$PY" -c '
import sys, collections
sys.path.insert(0, sys.argv[1])
from e2e.audit_log import read_audit_log, field_manager_of, WRITE_VERBS
c = collections.Counter((field_manager_of(e), e["verb"]) for e in read_audit_log(sys.argv[2]) if e["verb"] in WRITE_VERBS)
for (m, v), n in c.most_common(15): print(f"{n:5d} {v:7s} {m}")
' "$HERE/.." "$AUDIT_LOG"
say "OK"
