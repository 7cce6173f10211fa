#!/usr/bin/env bash
# Build the e2e "engine" binaries from Go modules (through the Go module proxy)
# into a cache outside the repo, and write $CACHE/env.sh for tests to source.
#
#   e2e/build-engine.sh            build what is missing (a present build is reused)
#   e2e/build-engine.sh --list     print components, versions and cache state
#   e2e/build-engine.sh --force    rebuild everything
#   e2e/build-engine.sh etcd kwok  build only the named components
#
# Each component is a wrapper module under e2e/engine/<name>/ whose go.mod/go.sum
# pin every version (the upstream modules carry replace directives, so
# `go install mod@version` does not work for them).
#
# Environment:
#   TERWAY_ENGINE_CACHE   cache root (default $HOME/.cache/terway-stack/engine)
#   TERWAY_ENGINE_JOBS    go build -p (default: number of CPUs)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TERWAY_ENGINE_CACHE:-$HOME/.cache/terway-stack/engine}"
JOBS="${TERWAY_ENGINE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

PULUMI_VERSION=v3.259.0
# name | version | space-separated "package[=binary]" list | extra -ldflags
COMPONENTS=(
  "etcd|v3.6.16|go.etcd.io/etcd/server/v3=etcd|"
  "kwok|v0.8.0|sigs.k8s.io/kwok/cmd/kwok=kwok|"
  "kubernetes|v1.34.4|k8s.io/kubernetes/cmd/kube-apiserver=kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager=kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler=kube-scheduler|"
  "pulumi|$PULUMI_VERSION|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi=pulumi|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  "langhost|$PULUMI_VERSION|.=pulumi-language-python|-X main.Version=${PULUMI_VERSION#v}"
)

export GOTOOLCHAIN=local      # never fetch another Go toolchain
export GOFLAGS="-mod=readonly" # go.mod/go.sum are the pin; never rewrite them
export CGO_ENABLED=0

log() { printf '[build-engine] %s\n' "$*" >&2; }

pin_hash() { # hash of every file of the wrapper module (go.mod, go.sum, own sources, scripts)
  (cd "$HERE/engine/$1" && find . -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16
}

# kwok's controller needs Stage objects; copy kwok's own default stages (the ones
# kwokctl uses: node fast init, node heartbeat, pod fast ready/complete/delete)
# out of the pinned module so controlplane.py can use them offline.
post_build_kwok() {
  local mod="$1" out="$2/stages" src f
  src="$(cd "$mod" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  mkdir -p "$out"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    install -m 0644 "$src/kustomize/stage/$f" "$out/$(basename "$f")"
  done
}

# Next to our language host: the exec shim from the pinned Pulumi SDK module (what the
# CLI distribution ships as pulumi-language-python-exec) and our own small plugin scripts.
post_build_langhost() {
  local mod="$1" out="$2/bin" sdk
  sdk="$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$out/pulumi-language-python-exec"
  install -m 0755 "$mod/scripts/pulumi-resource-pulumi-python" "$out/"
  install -m 0755 "$mod/scripts/pulumi-analyzer-policy-python" "$out/"
}

build_one() {
  local name="$1" version="$2" pkgs="$3" ldextra="${4:-}"
  local dir="$CACHE/$name-$version" mod="$HERE/engine/$name" hash
  hash="$(pin_hash "$name")"
  if [[ -z "${FORCE:-}" && -f "$dir/.complete" ]] && grep -qx "pin=$hash" "$dir/.complete"; then
    log "$name $version: reusing $dir/bin"
    return 0
  fi
  command -v go >/dev/null || { log "go not found on PATH"; return 1; }
  log "$name $version: building (go build -p $JOBS) ..."
  local tmp="$CACHE/.tmp-$name-$version.$$"
  rm -rf "$tmp" && mkdir -p "$tmp/bin"
  local start end spec pkg bin
  start=$(date +%s)
  ( cd "$mod" && go mod download ) >&2
  for spec in $pkgs; do
    pkg="${spec%%=*}"; bin="${spec#*=}"
    ( cd "$mod" && go build -p "$JOBS" -trimpath -ldflags "-s -w $ldextra" -o "$tmp/bin/$bin" "$pkg" ) >&2
  done
  if declare -F "post_build_$name" >/dev/null; then "post_build_$name" "$mod" "$tmp"; fi
  end=$(date +%s)
  {
    echo "pin=$hash"
    echo "version=$version"
    echo "go=$(go env GOVERSION)"
    echo "seconds=$((end - start))"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } > "$tmp/.complete"
  rm -rf "$dir" && mv "$tmp" "$dir"
  log "$name $version: built in $((end - start))s -> $dir/bin"
}

write_env() {
  local path="" c name version
  # The CLI looks for its bundled plugins (language host, pulumi-python dynamic provider,
  # policy-python analyzer) next to its own executable, and warns "using X from $PATH" when
  # they are found elsewhere: hard-link the CLI and our Python plugins into one bin dir.
  local bundle="$CACHE/pulumi-bundle-$PULUMI_VERSION/bin"
  rm -rf "$bundle" && mkdir -p "$bundle"
  for c in "$CACHE/pulumi-$PULUMI_VERSION/bin" "$CACHE/langhost-$PULUMI_VERSION/bin"; do
    [[ -d "$c" ]] || continue
    for f in "$c"/*; do ln -f "$f" "$bundle/" 2>/dev/null || cp -p "$f" "$bundle/"; done
  done
  for c in "${COMPONENTS[@]}"; do
    IFS='|' read -r name version _ <<<"$c"
    case "$name" in pulumi|langhost) continue ;; esac
    path="$path${path:+:}$CACHE/$name-$version/bin"
  done
  # Stand-in kubernetes provider (Python, ours): the real one is not served by the Go proxy here.
  local standin="$CACHE/k8s-standin/bin"
  rm -rf "$standin" && mkdir -p "$standin"
  install -m 0755 "$HERE/engine/k8s-standin/pulumi-resource-kubernetes" "$standin/"
  install -m 0644 "$HERE/engine/k8s-standin/pulumi_k8s_standin.py" "$standin/"
  path="$bundle:$path:$standin"
  cat > "$CACHE/env.sh" <<EOF
# Generated by e2e/build-engine.sh; source it to put the e2e engine on PATH.
export TERWAY_ENGINE_CACHE="$CACHE"
export TERWAY_ENGINE_PATH="$path"
export PATH="$path:\$PATH"
# Pulumi: never read ~/.pulumi, never check for updates, never download a plugin.
export PULUMI_HOME="\${PULUMI_HOME:-$CACHE/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# pulumi-resource-kubernetes on PATH is the harness's Python stand-in, not the real provider.
export TERWAY_E2E_K8S_PROVIDER=standin
EOF
  log "wrote $CACHE/env.sh"
}

main() {
  local only=() list=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --force) FORCE=1 ;;
      --list) list=1 ;;
      -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
      *) only+=("$1") ;;
    esac
    shift
  done
  mkdir -p "$CACHE"
  local c name version pkgs ldextra want
  for c in "${COMPONENTS[@]}"; do
    IFS='|' read -r name version pkgs ldextra <<<"$c"
    if [[ -n "$list" ]]; then
      if [[ -f "$CACHE/$name-$version/.complete" ]]; then
        echo "$name $version built: $(grep seconds= "$CACHE/$name-$version/.complete")"
      else
        echo "$name $version missing"
      fi
      continue
    fi
    if [[ ${#only[@]} -gt 0 ]]; then
      want=""
      for o in "${only[@]}"; do [[ "$o" == "$name" ]] && want=1; done
      [[ -n "$want" ]] || continue
    fi
    build_one "$name" "$version" "$pkgs" "$ldextra"
  done
  if [[ -z "$list" ]]; then
    write_env
    echo "source $CACHE/env.sh"
  fi
}

main "$@"
