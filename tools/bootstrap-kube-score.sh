#!/usr/bin/env bash
# Build kube-score, the Kubernetes object analyser the tests run on the rendered staging and production manifests.
#
# Usage: tools/bootstrap-kube-score.sh [--print-bin-dir] [--help]
#
# Runs `go install github.com/zegl/kube-score/cmd/kube-score@v<version>` (the pinned version below;
# override with KEELSON_KUBE_SCORE_VERSION) into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/kube-score-<version>/bin/kube-score
# and prints that bin dir as the only line on stdout (progress goes to stderr), so:
#   export PATH="$(tools/bootstrap-kube-score.sh):$PATH"
# --print-bin-dir prints the bin dir and exits 0 only when the binary is already built (no build).
#
# Idempotent: a built version is never rebuilt; the build happens in a temp dir next to the cache
# and is renamed into place only when complete. Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-kube-score USAGE_LINES=3,14
MODULE=github.com/zegl/kube-score
KUBE_SCORE_VERSION=1.20.0
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

VERSION=${KEELSON_KUBE_SCORE_VERSION:-$KUBE_SCORE_VERSION}
VERSION=${VERSION#v}
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'$VERSION' is not a release version such as $KUBE_SCORE_VERSION"

CACHE=${KEELSON_TOOLCHAIN_CACHE:-${HOME:?HOME is not set}/.cache/keelson/toolchain}
FINAL=$CACHE/kube-score-$VERSION
BIN_DIR=$FINAL/bin

if [ -x "$BIN_DIR/kube-score" ]; then
  [ "$PRINT_ONLY" = 1 ] || log "kube-score $VERSION already built ($BIN_DIR/kube-score)"
  printf '%s\n' "$BIN_DIR"
  exit 0
fi
if [ "$PRINT_ONLY" = 1 ]; then
  log "kube-score $VERSION not built yet (expected $BIN_DIR/kube-score); run $0"
  exit 1
fi

GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || true
[ -n "$GO" ] || die "go not found on PATH; install Go >= 1.24 (https://go.dev/dl/)"
GOVER=$("$GO" env GOVERSION 2>/dev/null) || die "'$GO env GOVERSION' failed"
export GOTOOLCHAIN=local CGO_ENABLED=0

mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.lock-kube-score"
  flock 9
  if [ -x "$BIN_DIR/kube-score" ]; then
    log "kube-score $VERSION was built while waiting for the lock"
    printf '%s\n' "$BIN_DIR"
    exit 0
  fi
fi

rm -rf "$CACHE/.tmp-kube-score-$VERSION".* 2>/dev/null || true
WORK=$(mktemp -d "$CACHE/.tmp-kube-score-$VERSION.XXXXXX")
LOG=$WORK/build.log
START=$SECONDS
STEP="go install $MODULE/cmd/kube-score@v$VERSION"
log "$STEP (with $GOVER)"
mkdir -p "$WORK/out/bin"
# kube-score's release builds (goreleaser) set main.version; a plain `go install` would report
# "development", so the version is set the same way here.
if ! (cd "$WORK" && GOBIN="$WORK/out/bin" "$GO" install -trimpath -ldflags "-s -w -X main.version=$VERSION" \
      "$MODULE/cmd/kube-score@v$VERSION") >"$LOG" 2>&1; then
  log "last 40 lines of $LOG:"
  tail -n 40 "$LOG" >&2 || true
  die "$STEP failed; work dir kept: $WORK"
fi
STEP="check that kube-score reports version $VERSION"
REPORTED=$("$WORK/out/bin/kube-score" version 2>&1 | head -n1)
[[ $REPORTED == *"version: $VERSION,"* ]] || die "$STEP: it reports '$REPORTED'"

printf 'module=%s/cmd/kube-score@v%s\ngo=%s\nbuilt=%s\nseconds=%s\n' "$MODULE" "$VERSION" "$GOVER" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((SECONDS - START))" >"$WORK/out/BUILDINFO"
cp "$LOG" "$WORK/out/build.log"
if ! mv -T "$WORK/out" "$FINAL" 2>/dev/null; then
  [ -x "$BIN_DIR/kube-score" ] || die "move the build into place at $FINAL failed"
fi
rm -rf "$WORK"
WORK=""
log "built kube-score $VERSION in $((SECONDS - START))s"
printf '%s\n' "$BIN_DIR"
