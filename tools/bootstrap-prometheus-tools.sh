#!/usr/bin/env bash
# shellcheck disable=SC2016  # bash -c '...' "$@" bodies are meant to be literal
# Build the upstream Prometheus tools Keelson's tests run, from Go modules, into one bin dir.
#
# Usage: tools/bootstrap-prometheus-tools.sh [--print-bin-dir] [--help]
#
# Builds promtool + prometheus (github.com/prometheus/prometheus@v0.305.0, i.e. Prometheus 3.5.0)
# and amtool + alertmanager (github.com/prometheus/alertmanager@v0.28.1), the versions of the
# images the MonitoringStack deploys (components/images.py), into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/prometheus-tools-3.5.0-am0.28.1/bin
# then prints on stdout the one line
#   KEELSON_PROMETHEUS_TOOLS_BIN=<dir>
# (progress and timings go to stderr). tests/prometheus_tools.py finds the binaries there.
# --print-bin-dir prints the bin dir and exits 0 only when it is already complete (no build).
#
# Why not Debian's packages: bookworm's prometheus/promtool (2.42) are built without Kubernetes
# service discovery, and its amtool (0.25) has no webhook 'url_file'.
#
# All binaries are built with CGO_ENABLED=0 -trimpath from the Go module proxy only, version
# stamped through github.com/prometheus/common/version. The prometheus binary is built WITHOUT
# the 'builtinassets' tag: the module zip does not contain the compiled web UI, which the tests
# do not need (the HTTP API works; only the UI pages would be missing).
# Idempotent: a complete cache dir is reused instantly; a build happens in a temp dir next to it
# and is renamed into place only when every binary has passed its smoke test. Non-interactive.
set -Eeuo pipefail

# Keep in step with the Prometheus and Alertmanager images in components/images.py
# (tests/test_prometheus_config.py checks it). Prometheus 3.x is published as Go module v0.3xx.y.
PROMETHEUS_VERSION=3.5.0
PROMETHEUS_MODULE_VERSION=v0.305.0
ALERTMANAGER_VERSION=0.28.1
# Bump when the build recipe below changes (recorded in BUILDINFO).
RECIPE_REV=1

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-prometheus-tools USAGE_LINES=3,24
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

CACHE=${KEELSON_TOOLCHAIN_CACHE:-${HOME:?HOME is not set}/.cache/keelson/toolchain}
KEY="prometheus-tools-${PROMETHEUS_VERSION}-am${ALERTMANAGER_VERSION}"
FINAL="$CACHE/$KEY"
BIN_DIR="$FINAL/bin"
REQUIRED_EXES=(promtool prometheus amtool alertmanager)

bin_complete() { # dir
  local exe
  [ -f "$1/BUILDINFO" ] || return 1
  for exe in "${REQUIRED_EXES[@]}"; do
    [ -x "$1/bin/$exe" ] || return 1
  done
}

if [ "$PRINT_ONLY" = 1 ]; then
  if bin_complete "$FINAL"; then
    printf '%s\n' "$BIN_DIR"
    exit 0
  fi
  log "Prometheus tools not built yet (expected $BIN_DIR); run $0"
  exit 1
fi

if bin_complete "$FINAL"; then
  log "cached: $BIN_DIR"
  printf 'KEELSON_PROMETHEUS_TOOLS_BIN=%s\n' "$BIN_DIR"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Go environment. prometheus' go.mod has a replace directive, so `go install module/cmd/x@version`
# refuses it and the build runs in a copy instead.
find_go 1.23

mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.lock-$KEY"
  flock 9
  if bin_complete "$FINAL"; then # built by a concurrent run while we waited
    log "cached: $BIN_DIR"
    printf 'KEELSON_PROMETHEUS_TOOLS_BIN=%s\n' "$BIN_DIR"
    exit 0
  fi
fi

rm -rf "$CACHE/.tmp-$KEY".* 2>/dev/null || true
WORK=$(mktemp -d "$CACHE/.tmp-$KEY.XXXXXX")
LOG="$WORK/build.log"
OUT="$WORK/out"
mkdir -p "$OUT/bin" "$WORK/src"
: >"$LOG"
STEP=""


version_ldflags() { # version revision
  local v=github.com/prometheus/common/version
  printf '%s' "-s -w -X $v.Version=$1 -X $v.Revision=$2 -X $v.Branch=HEAD" \
    " -X $v.BuildUser=keelson-bootstrap -X $v.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"
}

go_build() { # src dir, ldflags, tags, output, package
  run_step "go build $5 -> $(basename "$4")" bash -c 'cd "$1" && "$2" build -trimpath -tags "$3" \
      -ldflags "$4" -o "$5" "$6"' _ "$1" "$GO" "$3" "$2" "$4" "$5"
}

TIMINGS=()
timed() { # label, function
  local start=$SECONDS
  log "[$1] building"
  "$2"
  log "[$1] built in $((SECONDS - start))s"
  TIMINGS+=("$1: $((SECONDS - start))s")
}

# ---------------------------------------------------------------------------------------------
build_prometheus() {
  download_module "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION"
  [ "$(cat "$MOD_DIR/VERSION" 2>/dev/null)" = "$PROMETHEUS_VERSION" ] ||
    fail "check that github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION is Prometheus $PROMETHEUS_VERSION (VERSION file says '$(cat "$MOD_DIR/VERSION" 2>/dev/null)')" 1
  copy_tree "$MOD_DIR" "$WORK/src/prometheus"
  local tags=netgo
  if [ -d "$WORK/src/prometheus/web/ui/static" ]; then
    tags="netgo,builtinassets"
  else
    log "  note: no compiled web UI in the module zip; building prometheus without 'builtinassets'"
  fi
  local ldflags
  ldflags=$(version_ldflags "$PROMETHEUS_VERSION" "gomod-$PROMETHEUS_MODULE_VERSION")
  # One binary at a time: the machine may be busy with other builds.
  go_build "$WORK/src/prometheus" "$ldflags" "$tags" "$OUT/bin/promtool" ./cmd/promtool
  go_build "$WORK/src/prometheus" "$ldflags" "$tags" "$OUT/bin/prometheus" ./cmd/prometheus
  rm -rf "$WORK/src/prometheus"
}

build_alertmanager() {
  download_module "github.com/prometheus/alertmanager@v$ALERTMANAGER_VERSION"
  [ "$(cat "$MOD_DIR/VERSION" 2>/dev/null)" = "$ALERTMANAGER_VERSION" ] ||
    fail "check the VERSION file of github.com/prometheus/alertmanager@v$ALERTMANAGER_VERSION" 1
  copy_tree "$MOD_DIR" "$WORK/src/alertmanager"
  local ldflags
  ldflags=$(version_ldflags "$ALERTMANAGER_VERSION" "gomod-v$ALERTMANAGER_VERSION")
  go_build "$WORK/src/alertmanager" "$ldflags" netgo "$OUT/bin/amtool" ./cmd/amtool
  go_build "$WORK/src/alertmanager" "$ldflags" netgo "$OUT/bin/alertmanager" ./cmd/alertmanager
  rm -rf "$WORK/src/alertmanager"
}

smoke_test() { # binary, expected version
  local out
  out=$("$OUT/bin/$1" --version 2>&1 | head -n1) || fail "smoke test: $1 --version ($out)" 1
  log "  $out"
  case "$out" in
    *"version $2 "*|*"version $2") ;;
    *) fail "smoke test: '$1 --version' does not report version $2 (got: $out)" 1 ;;
  esac
}

TOTAL_START=$SECONDS
log "building into $WORK (final: $FINAL), $GOVER"
timed "prometheus $PROMETHEUS_VERSION" build_prometheus
timed "alertmanager $ALERTMANAGER_VERSION" build_alertmanager
smoke_test promtool "$PROMETHEUS_VERSION"
smoke_test prometheus "$PROMETHEUS_VERSION"
smoke_test amtool "$ALERTMANAGER_VERSION"
smoke_test alertmanager "$ALERTMANAGER_VERSION"

printf 'prometheus=%s (github.com/prometheus/prometheus@%s)\nalertmanager=%s\nrecipe_rev=%s\ngo=%s\nbuilt=%s\n' \
  "$PROMETHEUS_VERSION" "$PROMETHEUS_MODULE_VERSION" "$ALERTMANAGER_VERSION" "$RECIPE_REV" "$GOVER" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$OUT/BUILDINFO"
cp "$LOG" "$OUT/build.log"
rm -rf "$FINAL"
mv -T "$OUT" "$FINAL" || fail "move $OUT into place at $FINAL" 1
bin_complete "$FINAL" || fail "verify $BIN_DIR (${REQUIRED_EXES[*]})" 1
rm -rf "$WORK"
WORK=""

for t in "${TIMINGS[@]}"; do log "time: $t"; done
log "time: total $((SECONDS - TOTAL_START))s"
printf 'KEELSON_PROMETHEUS_TOOLS_BIN=%s\n' "$BIN_DIR"
