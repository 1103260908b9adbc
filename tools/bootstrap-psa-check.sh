#!/usr/bin/env bash
# shellcheck disable=SC2016  # bash -c '...' "$@" bodies are meant to be literal
# Build psa-check (tools/psa-check), which judges rendered pod templates with the real Pod Security
# admission library (k8s.io/pod-security-admission, pinned in tools/psa-check/go.mod).
#
# Usage: tools/bootstrap-psa-check.sh [--print-bin-dir] [--help]
#
# Builds tools/psa-check with `go build -trimpath` into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/psa-check-<hash>/bin/psa-check
# where <hash> is a short sha256 of its sources (go.mod, go.sum, *.go), so an edit rebuilds, and
# prints that bin dir as the only line on stdout (progress goes to stderr), so:
#   export PATH="$(tools/bootstrap-psa-check.sh):$PATH"
# --print-bin-dir prints the bin dir and exits 0 only when the binary is already built (no build).
#
# Idempotent: a built hash is never rebuilt; the build happens in a copy of the sources in a temp
# dir next to the cache (the repo is never written) and is renamed into place only when complete.
# Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-psa-check USAGE_LINES=3,17
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/psa-check" && pwd)
SOURCES=()
while IFS= read -r -d '' file; do SOURCES+=("$file"); done \
  < <(find "$SRC_DIR" -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | LC_ALL=C sort -z)
[ "${#SOURCES[@]}" -ge 3 ] || die "expected go.mod, go.sum and *.go in $SRC_DIR"
# The hash covers each file's name and content, so a rename rebuilds too.
HASH=$(for file in "${SOURCES[@]}"; do printf '%s\n' "${file##*/}"; sha256sum <"$file"; done | sha256sum | cut -c1-12)

cached_build_begin psa-check "$HASH"
mkdir -p "$WORK/src"
cp "${SOURCES[@]}" "$WORK/src/"
PSA_VERSION=$(awk '$1 == "k8s.io/pod-security-admission" {print $2; exit}' "$WORK/src/go.mod")
[ -n "$PSA_VERSION" ] || fail "find the k8s.io/pod-security-admission requirement in $SRC_DIR/go.mod" 1
log "building psa-check $HASH (k8s.io/pod-security-admission $PSA_VERSION) with $GOVER"
run_step "go build -trimpath (downloads the k8s.io modules on a cold cache)" bash -c \
  'cd "$1" && "$2" build -trimpath -ldflags "-s -w" -o "$3" .' _ "$WORK/src" "$GO" "$WORK/out/bin/psa-check"
# Smoke test: an empty directory holds no pod template, so every (zero) template passes.
mkdir -p "$WORK/empty"
run_step "psa-check on an empty directory" "$WORK/out/bin/psa-check" "$WORK/empty"
cached_build_finish psa-check "$HASH" "source=$HASH (tools/psa-check)
pod-security-admission=$PSA_VERSION
"
