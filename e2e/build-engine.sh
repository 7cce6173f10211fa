#!/usr/bin/env bash
# Build the e2e "engine" binaries from Go modules (through the Go module proxy)
# into a cache outside the repo, and write $CACHE/env.sh for tests to source.
#
#   e2e/build-engine.sh            build what is missing (a present build is reused)
#   e2e/build-engine.sh --list     print components, versions and cache state
#   e2e/build-engine.sh --force    rebuild everything
#   e2e/build-engine.sh etcd kwok  build only the named components
#
# Most components are a wrapper module under e2e/engine/<name>/ whose go.mod/go.sum
# pin every version (the upstream modules carry replace directives, so
# `go install mod@version` does not work for them). The two Pulumi plugins the Go
# module proxy refuses (the Python language host, pulumi-resource-kubernetes and
# pulumi-resource-alicloud) are built from the upstream source tarballs in
# shared/third_party/, each checked against the sha256 pinned below and cached under a
# key made of that hash.
#
# Environment:
#   TERWAY_ENGINE_CACHE     cache root (default $HOME/.cache/terway-stack/engine)
#   TERWAY_ENGINE_JOBS      go build -p (default: number of CPUs)
#   TERWAY_THIRD_PARTY      the tarballs' folder (default: shared/third_party beside the repo)
#   TERWAY_K8S_PROVIDER_BIN an already installed pulumi-resource-kubernetes v4.32.0 to use
#                           instead of building one (default: the one in ~/.pulumi/plugins, if any)
#   TERWAY_ALICLOUD_PROVIDER_BIN  the same for pulumi-resource-alicloud v3.105.0
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TERWAY_ENGINE_CACHE:-$HOME/.cache/terway-stack/engine}"
JOBS="${TERWAY_ENGINE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

PULUMI_VERSION=v3.259.0
# Matches pulumi-kubernetes in requirements.txt: the SDK and the plugin must agree.
K8S_PROVIDER_VERSION=4.32.0
# Matches pulumi-alicloud in requirements.txt (3.105.0: the newest tag with source here).
ALICLOUD_PROVIDER_VERSION=3.105.0
# name | version | space-separated "package[=binary]" list | extra -ldflags
# Typha: the version the stack deploys by default, so the e2e suite proves that default works.
TYPHA_VERSION="$(sed -n 's/^DEFAULT_TYPHA_VERSION = "\(v[0-9.]*\)".*/\1/p' "$HERE"/../terway_stack/decide/*.py | head -1)"
FELIXLOAD_HASH="$(cat "$HERE"/felixload/*.go | sha256sum | cut -c1-16)"
COMPONENTS=(
  "etcd|v3.6.16|go.etcd.io/etcd/server/v3=etcd|"
  "kwok|v0.8.0|sigs.k8s.io/kwok/cmd/kwok=kwok sigs.k8s.io/kwok/cmd/kwokctl=kwokctl|-X sigs.k8s.io/kwok/pkg/consts.KubeVersion=1.34.4"
  # kwokctl picks each component's flags from its `--version`: stamp the real one (a plain
  # `go build` reports v0.0.0-master).
  "kubernetes|v1.34.4|k8s.io/kubernetes/cmd/kube-apiserver=kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager=kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler=kube-scheduler|-X k8s.io/component-base/version.gitVersion=v1.34.4 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34"
  "pulumi|$PULUMI_VERSION|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi=pulumi|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  "langhost|$PULUMI_VERSION|.=pulumi-language-python|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  "kubernetes-provider|v$K8S_PROVIDER_VERSION|./cmd/pulumi-resource-kubernetes=pulumi-resource-kubernetes|-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION"
  "alicloud-provider|v$ALICLOUD_PROVIDER_VERSION|./cmd/pulumi-resource-alicloud=pulumi-resource-alicloud|-X github.com/pulumi/pulumi-alicloud/provider/v3/pkg/version.Version=$ALICLOUD_PROVIDER_VERSION"
  # calico-typha, and our load tool e2e/felixload (built by post_build_typha in the same source);
  # main.sourceHash pins felixload's source in the cache key (calico-typha has no such symbol: the
  # linker ignores it there).
  "typha|$TYPHA_VERSION|./typha/cmd/calico-typha=calico-typha|-X github.com/projectcalico/calico/typha/pkg/buildinfo.GitVersion=$TYPHA_VERSION -X main.sourceHash=$FELIXLOAD_HASH"
)

# Components built from an upstream source tarball instead of a wrapper module: name | file | sha256.
THIRD_PARTY="${TERWAY_THIRD_PARTY:-$HERE/../../shared/third_party}"
TARBALLS=(
  "langhost|pulumi-language-python-v3.259.0-src.tar.gz|ee3961b2f03c923131eeb15076aa5638fafdaab87923e298531bc3ec978fd63d"
  "kubernetes-provider|pulumi-resource-kubernetes-v4.32.0-src.tar.gz|db40baaf52c10ce79d569c3ce977ddf458a557dcf5d40696a7eb181736f275b6"
  "alicloud-provider|pulumi-resource-alicloud-v3.105.0-src.tar.gz|9aa618741f9ebcecd2a145b0fd4a19fa647992ea2eb48047aa31c90f1874b9d7"
  # The default's tarball: a new default fails here (sha256 differs) until its tarball is pinned.
  "typha|calico-typha-$TYPHA_VERSION-src.tar.gz|3a0c0d132d1379422640046261666c884ffe1648fadaef4ee13bf614a268699b"
)
# The resource plugins the engine's plugin cache holds: component | plugin name | version.
PLUGINS=(
  "kubernetes-provider|kubernetes|$K8S_PROVIDER_VERSION"
  "alicloud-provider|alicloud|$ALICLOUD_PROVIDER_VERSION"
)

export GOTOOLCHAIN=local      # never fetch another Go toolchain
export GOFLAGS="-mod=readonly" # go.mod/go.sum are the pin; never rewrite them
export CGO_ENABLED=0
# sdk/v4 of pulumi-kubernetes is served by the proxy but has no checksum-database entry; the
# provider tarball's go.sum pins its hash (shared/third_party/README.md).
export GONOSUMDB=github.com/pulumi/pulumi-kubernetes

log() { printf '[build-engine] %s\n' "$*" >&2; }

row_of() { # table key: the rest of the table's "key|..." row, or nothing
  local -n rows="$1"
  local r
  for r in "${rows[@]}"; do
    [[ "${r%%|*}" == "$2" ]] && { echo "${r#*|}"; return 0; }
  done
  return 0
}

tarball_of() { row_of TARBALLS "$1"; } # "file|sha256" of a tarball-built component, or nothing

pin_hash() { # wrapper module: hash of its files; tarball: its pinned sha256 (checked before use)
  local tb; tb="$(tarball_of "$1")"
  if [[ -n "$tb" ]]; then echo "${tb#*|}" | cut -c1-16; return 0; fi
  (cd "$HERE/engine/$1" && find . -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16
}

# Unpack a verified tarball into $2; fails loudly when it is missing or its hash differs.
unpack_tarball() {
  local name="$1" dest="$2" tb file sha actual
  tb="$(tarball_of "$name")"; file="${tb%%|*}"; sha="${tb#*|}"
  [[ -f "$THIRD_PARTY/$file" ]] || { log "$name: $THIRD_PARTY/$file not found (set TERWAY_THIRD_PARTY)"; return 1; }
  actual="$(sha256sum "$THIRD_PARTY/$file" | cut -d' ' -f1)"
  [[ "$actual" == "$sha" ]] || { log "$name: $file has sha256 $actual, expected $sha"; return 1; }
  mkdir -p "$dest" && tar -xzf "$THIRD_PARTY/$file" -C "$dest"
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

# Next to the language host, as the CLI distribution ships them: the exec shim and the
# dynamic-provider plugin script, from python/cmd and python/dist of the pinned sdk/v3 module.
post_build_langhost() {
  local mod="$1" out="$2/bin" sdk
  sdk="$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$out/pulumi-language-python-exec"
  install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$out/pulumi-resource-pulumi-python"
}

# The load tool (e2e/felixload) is built inside the unpacked Calico module, so it imports Calico's
# own syncer and Typha client packages at the very version of the calico-typha next to it.
post_build_typha() {
  local mod="$1" out="$2/bin"
  mkdir -p "$mod/felixload" && cp "$HERE"/felixload/*.go "$mod/felixload/"
  ( cd "$mod" && go build -p "$JOBS" -trimpath -ldflags "-s -w -X main.sourceHash=$FELIXLOAD_HASH" \
      -o "$out/felixload" ./felixload ) >&2
}

plugin_of() { row_of PLUGINS "$1"; } # "plugin|version" of a resource-plugin component, or nothing

# A real provider binary installed by `pulumi plugin install` (or named by its environment variable)
# is used as it is, instead of a build.
installed_provider() { # plugin version
  local var cand
  case "$1" in
    kubernetes) var="${TERWAY_K8S_PROVIDER_BIN:-}" ;;
    alicloud) var="${TERWAY_ALICLOUD_PROVIDER_BIN:-}" ;;
  esac
  cand="${var:-$HOME/.pulumi/plugins/resource-$1-v$2/pulumi-resource-$1}"
  [[ -x "$cand" ]] && echo "$cand"
  return 0
}

build_one() {
  local name="$1" version="$2" pkgs="$3" ldextra="${4:-}"
  local dir="$CACHE/$name-$version" mod="$HERE/engine/$name" hash
  # The pin covers the sources and how they are built (packages, link flags).
  hash="$( { pin_hash "$name"; echo "$pkgs|$ldextra"; } | sha256sum | cut -c1-16)"
  local plugin installed
  plugin="$(plugin_of "$name")"
  if [[ -n "$plugin" ]]; then
    installed="$(installed_provider "${plugin%%|*}" "${plugin#*|}")"
    if [[ -n "$installed" ]]; then
      log "$name $version: using the installed $installed"
      return 0
    fi
  fi
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
  if [[ -n "$(tarball_of "$name")" ]]; then
    # `go mod download` would fetch every module of the upstream go.mod, some of which the proxy
    # refuses and the build never needs: let `go build` fetch what it imports.
    mod="$tmp/src"
    unpack_tarball "$name" "$mod"
  else
    ( cd "$mod" && go mod download ) >&2
  fi
  for spec in $pkgs; do
    pkg="${spec%%=*}"; bin="${spec#*=}"
    ( cd "$mod" && go build -p "$JOBS" -trimpath -ldflags "-s -w $ldextra" -o "$tmp/bin/$bin" "$pkg" ) >&2
  done
  if declare -F "post_build_$name" >/dev/null; then "post_build_$name" "$mod" "$tmp"; fi
  rm -rf "$tmp/src"
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

# Installs one resource plugin into the engine's plugin cache with the CLI's own `plugin install`.
install_plugin() { # home cli component plugin version
  local home="$1" cli="$2" comp="$3" plugin="$4" version="$5" provider installed
  provider="$(installed_provider "$plugin" "$version")"
  provider="${provider:-$CACHE/$comp-v$version/bin/pulumi-resource-$plugin}"
  [[ -x "$provider" ]] || { log "missing $provider: run e2e/build-engine.sh"; return 1; }
  installed="$home/plugins/resource-$plugin-v$version/pulumi-resource-$plugin"
  # Reinstall only when it differs: a running suite may be using the installed one.
  if ! cmp -s "$provider" "$installed"; then
    rm -rf "$home/plugins/resource-$plugin-v$version"*
    PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true "$cli" plugin install resource "$plugin" \
      "v$version" --file "$provider" >&2
  fi
}

write_env() {
  local path="" c name version f
  # The CLI runs its bundled plugins (the Python language host and the pulumi-python dynamic
  # provider) from next to its own executable: hard-link them into one bin dir with it.
  local bundle="$CACHE/pulumi-bundle-$PULUMI_VERSION/bin"
  mkdir -p "$bundle"
  for f in "$CACHE/pulumi-$PULUMI_VERSION/bin/pulumi" "$CACHE/langhost-$PULUMI_VERSION/bin/pulumi-language-python"; do
    [[ -x "$f" ]] || { log "missing $f: run e2e/build-engine.sh"; return 1; }
  done
  for c in "$CACHE/pulumi-$PULUMI_VERSION/bin" "$CACHE/langhost-$PULUMI_VERSION/bin"; do
    for f in "$c"/*; do
      cmp -s "$f" "$bundle/$(basename "$f")" || ln -f "$f" "$bundle/" 2>/dev/null || cp -p "$f" "$bundle/"
    done
  done
  for c in "${COMPONENTS[@]}"; do
    IFS='|' read -r name version _ <<<"$c"
    case "$name" in pulumi|langhost|*-provider) continue ;; esac
    path="$path${path:+:}$CACHE/$name-$version/bin"
  done
  # Resource plugins are versioned: they go into a plugin cache, where the CLI finds each by the
  # version the SDK asks for (found on PATH it would be an "ambient" plugin).
  local home="$CACHE/pulumi-home" p comp plugin pversion
  for p in "${PLUGINS[@]}"; do
    IFS='|' read -r comp plugin pversion <<<"$p"
    install_plugin "$home" "$bundle/pulumi" "$comp" "$plugin" "$pversion" || return 1
  done
  path="$bundle:$path"
  cat > "$CACHE/env.sh.$$" <<ENVEOF
# Generated by e2e/build-engine.sh; source it to put the e2e engine on PATH.
export TERWAY_ENGINE_CACHE="$CACHE"
export TERWAY_ENGINE_PATH="$path"
export PATH="$path:\$PATH"
# The plugin cache holding pulumi-resource-kubernetes v$K8S_PROVIDER_VERSION and
# pulumi-resource-alicloud v$ALICLOUD_PROVIDER_VERSION; e2e/pulumi_project.py
# links each test's PULUMI_HOME/plugins to it.
export TERWAY_PULUMI_PLUGINS="$home/plugins"
export PULUMI_HOME="\${PULUMI_HOME:-$home}"
# Pulumi: never check for updates, never download a plugin, never take a plugin from \$PATH.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
ENVEOF
  mv "$CACHE/env.sh.$$" "$CACHE/env.sh"  # atomically: a running suite may be sourcing it
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
