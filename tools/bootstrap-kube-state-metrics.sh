#!/usr/bin/env bash
# Build kube-state-metrics, the cluster-object exporter the live exporter test runs against the
# local control plane.
#
# Usage: tools/bootstrap-kube-state-metrics.sh [--print-bin-dir] [--help]
#
# Builds k8s.io/kube-state-metrics/v2@v<version> from its module zip (the version of the image the
# MonitoringStack deploys, components/images.py KUBE_STATE_METRICS; tests/test_exporters_live.py
# checks that they agree) into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/kube-state-metrics-<version>/bin/kube-state-metrics
# and prints that bin dir as the only line on stdout (progress goes to stderr).
# --print-bin-dir prints the bin dir and exits 0 only when the binary is already built (no build).
#
# Idempotent: a built version is never rebuilt; the build happens in a temp dir next to the cache
# and is renamed into place only when complete. Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-kube-state-metrics USAGE_LINES=4,15
KUBE_STATE_METRICS_VERSION=2.18.0
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

VERSION=$KUBE_STATE_METRICS_VERSION
MODULE=k8s.io/kube-state-metrics/v2
cached_build_begin kube-state-metrics "$VERSION"
# Not `go install module@version`: that also reads the module's version list for deprecation
# notices, which the proxy refuses for this module (403). The zip itself is served, so the build
# runs in a copy of it, resolving dependencies from its own go.mod and go.sum.
download_module "$MODULE@v$VERSION"
copy_tree "$MOD_DIR" "$WORK/src"
# The upstream Makefile stamps github.com/prometheus/common/version with the tag (v2.x.y), which
# `kube-state-metrics version` prints; a plain build would report no version.
(cd "$WORK/src" && run_step "go build $MODULE@v$VERSION (with $GOVER)" "$GO" build -trimpath \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=v$VERSION" -o "$WORK/out/bin/kube-state-metrics" .)
rm -rf "$WORK/src"
STEP="check that kube-state-metrics reports version v$VERSION"
reported=$("$WORK/out/bin/kube-state-metrics" version 2>&1 | head -n1)
[[ $reported == *"version v$VERSION "* ]] || die "$STEP: it reports '$reported'"
cached_build_finish kube-state-metrics "$VERSION" "module=$MODULE@v$VERSION
"
