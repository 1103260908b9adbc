#!/usr/bin/env bash
# shellcheck disable=SC2016  # bash -c '...' "$@" bodies are meant to be literal
# Build the Loki binary Keelson deploys, from Go modules, so the tests can run the real thing.
#
# Usage: tools/bootstrap-loki.sh [--print-bin-dir] [--help]
#
# Builds github.com/grafana/loki/v3@v<version> ./cmd/loki, where <version> is the tag of the Loki
# image the LoggingStack deploys (LOKI_VERSION in components/logging/loki_config.py; override with
# KEELSON_LOKI_VERSION), into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/loki-<version>/bin/loki
# and prints that bin dir as the only line on stdout (progress and timings go to stderr), so:
#   export PATH="$(tools/bootstrap-loki.sh):$PATH"
# --print-bin-dir prints the bin dir and exits 0 only when the binary is already built (no build).
#
# Idempotent: a built version is never rebuilt; the build happens in a temp dir next to the cache
# and is renamed into place only when complete. Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-loki USAGE_LINES=3,16
MODULE=github.com/grafana/loki/v3
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PIN_FILE=$SCRIPT_DIR/../components/logging/loki_config.py
if [ -n "${KEELSON_LOKI_VERSION:-}" ]; then
  VERSION=${KEELSON_LOKI_VERSION#v}
else
  [ -r "$PIN_FILE" ] || die "cannot read $PIN_FILE (set KEELSON_LOKI_VERSION to build without it)"
  VERSION=$(sed -n 's/^LOKI_VERSION = "\([^"]*\)".*$/\1/p' "$PIN_FILE" | head -n1)
  [ -n "$VERSION" ] || die "no 'LOKI_VERSION = \"x.y.z\"' line in $PIN_FILE"
fi
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'$VERSION' is not a release version such as 3.7.8"

cached_build_begin loki "$VERSION"


# The module's go.mod has `replace` lines (one of them local: ./pkg/push), which only apply in the
# main module, so `go install module@version` refuses it: build inside a writable copy instead.
download_module "$MODULE@v$VERSION"
REQUIRED_GO=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$MOD_DIR/go.mod" | head -n1)
log "using $GOVER (the module asks for go $REQUIRED_GO)"

SRC=$WORK/src
copy_tree "$MOD_DIR" "$SRC"

# A nested module (e.g. `replace github.com/grafana/loki/pkg/push => ./pkg/push`) is left out of the
# outer module's zip: fetch it at the version the outer go.mod requires and put it where the
# replace line points.
while read -r nested path; do
  [ -n "$nested" ] || continue
  [ -e "$SRC/$path/go.mod" ] && continue
  wanted=$(awk -v m="$nested" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$SRC/go.mod")
  [ -n "$wanted" ] || fail "find the required version of $nested (replaced by ./$path) in go.mod" 1
  log "  fetching nested module $nested@$wanted into ./$path"
  download_module "$nested@$wanted"
  rm -rf "${SRC:?}/$path"
  copy_tree "$MOD_DIR" "$SRC/$path"
done < <(sed -n 's|^replace \([^ ]*\) => \./\([^ ]*\)$|\1 \2|p' "$SRC/go.mod")

VPREFIX=$MODULE/pkg/util/build
LDFLAGS="-s -w -X $VPREFIX.Version=$VERSION -X $VPREFIX.Branch=release -X $VPREFIX.Revision=v$VERSION \
-X $VPREFIX.BuildUser=keelson -X $VPREFIX.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Loki is a large build; KEELSON_BUILD_JOBS bounds parallel compiles (and memory) on small builders.
run_step "go build ./cmd/loki (tags netgo; this takes several minutes)" bash -c \
  'cd "$1" && "$2" build -p "${KEELSON_BUILD_JOBS:-2}" -trimpath -tags netgo -ldflags "$3" -o "$4" ./cmd/loki' \
  _ "$SRC" "$GO" "$LDFLAGS" "$WORK/out/bin/loki"
run_step "loki -version" "$WORK/out/bin/loki" -version
grep -q "version $VERSION" "$LOG" || fail "check that the binary reports version $VERSION" 1

cached_build_finish loki "$VERSION" "module=$MODULE@v$VERSION
"
