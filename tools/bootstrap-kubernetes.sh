#!/usr/bin/env bash
# shellcheck disable=SC2016  # bash -c '...' "$@" bodies are meant to be literal
# Build Keelson's local Kubernetes control plane from Go modules: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl and kwok (fake nodes and kubelets).
#
# Usage: tools/bootstrap-kubernetes.sh [--print-bin-dir] [--help]
#
# Reads the pins from tools/cluster-versions.env and builds all six binaries with ONE `go build`
# in a wrapper module (so they share every compiled package) into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/kubernetes-<versions>/bin
# next to share/kwok/, the kwok Stages (node, pod and volume lifecycles) copied from the kwok module.
# Prints that bin dir as the only line on stdout (progress and timings go to stderr), so:
#   export PATH="$(tools/bootstrap-kubernetes.sh):$PATH"
# --print-bin-dir prints the bin dir and exits 0 only when it is already built (no build).
#
# Idempotent: a built set is never rebuilt; the build happens in a temp dir next to the cache and
# is renamed into place only when complete. Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# Bump when the recipe below changes, so a set built by an older recipe is not reused.
RECIPE_REV=1

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-kubernetes USAGE_LINES=4,17
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=cluster-versions.env
. "$SCRIPT_DIR/cluster-versions.env"
for v in KUBERNETES_VERSION ETCD_VERSION KWOK_VERSION; do
  [[ ${!v:-} =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$v in tools/cluster-versions.env is not MAJOR.MINOR.PATCH"
done
K8S_MINOR=${KUBERNETES_VERSION#*.}
K8S_MINOR=${K8S_MINOR%%.*}
STAGING_VERSION=v0.${KUBERNETES_VERSION#*.}

CACHE=${KEELSON_TOOLCHAIN_CACHE:-${HOME:?HOME is not set}/.cache/keelson/toolchain}
KEY=kubernetes-$KUBERNETES_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION-r$RECIPE_REV
FINAL=$CACHE/$KEY
BIN_DIR=$FINAL/bin
EXES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

complete() {
  local exe
  for exe in "${EXES[@]}"; do [ -x "$BIN_DIR/$exe" ] || return 1; done
  [ -s "$FINAL/share/kwok/stages.yaml" ]
}

if complete; then
  [ "$PRINT_ONLY" = 1 ] || log "cached: $BIN_DIR"
  printf '%s\n' "$BIN_DIR"
  exit 0
fi
if [ "$PRINT_ONLY" = 1 ]; then
  log "the control plane is not built yet (expected $BIN_DIR); run $0"
  exit 1
fi

find_go 1.26
mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.lock-$KEY"
  flock 9
  if complete; then
    log "built by a concurrent run: $BIN_DIR"
    printf '%s\n' "$BIN_DIR"
    exit 0
  fi
fi
rm -rf "$CACHE/.tmp-$KEY".* 2>/dev/null || true
WORK=$(mktemp -d "$CACHE/.tmp-$KEY.XXXXXX")
LOG=$WORK/build.log
OUT=$WORK/out
SRC=$WORK/src
mkdir -p "$OUT/bin" "$OUT/share/kwok" "$SRC"
: >"$LOG"
START=$SECONDS
log "building $KEY with $GOVER in $WORK"

# The wrapper module: k8s.io/kubernetes' staging replaces become the published modules of the
# same release, and etcd and kwok join the same module graph (so one build compiles each shared
# package once).
download_module "k8s.io/kubernetes@v$KUBERNETES_VERSION"
K8S_GOMOD=$MOD_GOMOD
STAGING=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$K8S_GOMOD")
[ -n "$STAGING" ] || fail "find the staging replace lines in k8s.io/kubernetes@v$KUBERNETES_VERSION's go.mod" 1
GO_LINE=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$K8S_GOMOD" | head -n1)
{
  printf 'module keelson.invalid/control-plane\n\ngo %s\n\n' "$GO_LINE"
  printf 'require (\n\tk8s.io/kubernetes v%s\n\tgo.etcd.io/etcd/server/v3 v%s\n\tsigs.k8s.io/kwok v%s\n)\n\n' \
    "$KUBERNETES_VERSION" "$ETCD_VERSION" "$KWOK_VERSION"
  printf 'replace (\n'
  for module in $STAGING; do
    case "$module" in
      # Examples the kubernetes binaries never import; they are not published for every release.
      k8s.io/sample-*) continue ;;
    esac
    printf '\t%s => %s %s\n' "$module" "$module" "$STAGING_VERSION"
  done
  printf ')\n'
} >"$SRC/go.mod"
printf '\n### wrapper go.mod\n%s\n' "$(cat "$SRC/go.mod")" >>"$LOG"

download_module "sigs.k8s.io/kwok@v$KWOK_VERSION"
KWOK_DIR=$MOD_DIR

V=k8s.io/component-base/version
CV=k8s.io/client-go/pkg/version
LDFLAGS="-s -w -X $V.gitVersion=v$KUBERNETES_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$K8S_MINOR \
-X $V.gitTreeState=clean -X $V.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
-X $CV.gitVersion=v$KUBERNETES_VERSION -X $CV.gitMajor=1 -X $CV.gitMinor=$K8S_MINOR"
# KEELSON_BUILD_JOBS bounds parallel compiles (and memory) on small builders.
run_step "go build: 6 binaries in one build (the longest step: about 15 minutes cold on 2 cores)" \
  bash -c 'cd "$1" && "$2" build -p "${KEELSON_BUILD_JOBS:-2}" -trimpath -ldflags "$3" -o "$4/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
    go.etcd.io/etcd/server/v3 sigs.k8s.io/kwok/cmd/kwok' _ "$SRC" "$GO" "$LDFLAGS" "$OUT/bin"
# `go build` names a /vN module's main package after the element before the version.
mv "$OUT/bin/server" "$OUT/bin/etcd"

# kwok's own Stages for a cluster of fake nodes: node start and heartbeat, pods Ready and deleted,
# and PVC/PV provisioning (their storage class 'kwok-volume' becomes 'standard', the class the
# production stack asks for and tools/local-cluster.sh creates).
STAGES=$OUT/share/kwok/stages.yaml
: >"$STAGES"
for stage in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
             volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml volume/fast/pvc-delete.yaml \
             volume/fast/pv-delete.yaml; do
  [ -f "$KWOK_DIR/kustomize/stage/$stage" ] || fail "find kwok's stage $stage in sigs.k8s.io/kwok@v$KWOK_VERSION" 1
  printf -- '---\n# from sigs.k8s.io/kwok@v%s kustomize/stage/%s\n' "$KWOK_VERSION" "$stage" >>"$STAGES"
  sed "s/'kwok-volume'/'standard'/g" "$KWOK_DIR/kustomize/stage/$stage" >>"$STAGES"
done

for exe in kube-apiserver kube-controller-manager kube-scheduler; do
  run_step "smoke test: $exe --version" bash -c '"$1" --version | grep -qx "Kubernetes v$2"' _ "$OUT/bin/$exe" "$KUBERNETES_VERSION"
done
run_step "smoke test: etcd --version" bash -c '"$1" --version | grep -q "etcd Version: $2"' _ "$OUT/bin/etcd" "$ETCD_VERSION"
run_step "smoke test: kubectl version --client" bash -c '"$1" version --client | grep -q "v$2"' _ "$OUT/bin/kubectl" "$KUBERNETES_VERSION"
run_step "smoke test: kwok --version" "$OUT/bin/kwok" --version

printf 'kubernetes=%s\netcd=%s\nkwok=%s\nrecipe_rev=%s\ngo=%s\nbuilt=%s\nseconds=%s\n' "$KUBERNETES_VERSION" \
  "$ETCD_VERSION" "$KWOK_VERSION" "$RECIPE_REV" "$GOVER" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$((SECONDS - START))" >"$OUT/BUILDINFO"
cp "$SRC/go.mod" "$OUT/go.mod"
cp "$LOG" "$OUT/build.log"
rm -rf "$FINAL"
mv -T "$OUT" "$FINAL" || fail "move the build into place at $FINAL" 1
complete || fail "verify $BIN_DIR (${EXES[*]})" 1
rm -rf "$WORK"
WORK=""
log "time: built the control plane in $((SECONDS - START))s"
printf '%s\n' "$BIN_DIR"
