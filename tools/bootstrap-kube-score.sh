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

# kube-score's release builds (goreleaser) set main.version; a plain `go install` would report
# "development", so the version is set the same way here.
go_install_release kube-score "$MODULE/cmd/kube-score" "$VERSION" version "version: $VERSION," "-X main.version=$VERSION"
