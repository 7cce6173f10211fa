#!/usr/bin/env bash
# Real-engine e2e suite (`make e2e`): build or reuse the engine, smoke-test it, run e2e/tests.
#
# Python: $E2E_PYTHON, else the repo's venv/bin/python (made by `make venv`), else python3.
# Extra arguments go to pytest.  TERWAY_E2E_SKIP_SMOKE=1 skips e2e/smoke.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
CACHE="${TERWAY_ENGINE_CACHE:-$HOME/.cache/terway-stack/engine}"

PY="${E2E_PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "$REPO/venv/bin/python" ]]; then PY="$REPO/venv/bin/python"; else PY="$(command -v python3)"; fi
fi
VENV="$(cd "$(dirname "$PY")/.." && pwd)"

start=$(date +%s)
"$HERE/build-engine.sh"
# shellcheck disable=SC1091
source "$CACHE/env.sh"
echo "[e2e] engine ready after $(( $(date +%s) - start ))s"

if [[ "${TERWAY_E2E_SKIP_SMOKE:-}" != 1 ]]; then
  TERWAY_E2E_VENV="$VENV" bash "$HERE/smoke.sh"
fi

export PATH="$VENV/bin:$PATH"
cd "$REPO"
# No test collected (pytest exit 5) is a failure too: the suite must never pass by running nothing.
status=0
"$PY" -m pytest e2e/tests -q --ignore-glob='*/test_cloud_*.py' "$@" || status=$?
# The cloud scenarios (real alicloud provider against the loopback Alibaba Cloud API) run in a new
# network namespace: the kwok cluster, the API double and the engine all live inside it, so a request
# meant for the real cloud cannot leave the machine (the module checks the interfaces). Besides `lo` it
# holds one veth pair whose two ends are both inside, carrying the default route: kube-apiserver
# refuses to start without a default route ("Unable to find suitable network address"), and what
# goes into one end comes out of the other, still inside.
echo "[e2e] cloud scenarios in an isolated network namespace (unshare -n)"
unshare -n bash -c 'ip link set lo up && ip link add tw0 type veth peer name tw1 &&
  ip addr add 10.255.255.1/24 dev tw0 && ip link set tw0 up && ip link set tw1 up &&
  ip route add default via 10.255.255.2 dev tw0 && exec "$@"' netns \
  "$PY" -m pytest e2e/tests/test_cloud_*.py -q "$@" || status=$?
exit "$status"
