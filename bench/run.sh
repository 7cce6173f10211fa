#!/usr/bin/env bash
# `make bench`: build or reuse the engine, then print the benchmark's measurements and ratios.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
"$REPO/e2e/build-engine.sh"
# shellcheck disable=SC1091
source "${TERWAY_ENGINE_CACHE:-$HOME/.cache/terway-stack/engine}/env.sh"
export PATH="$REPO/venv/bin:$PATH"
exec "$REPO/venv/bin/python" "$HERE/bench.py" "$@"
