#!/usr/bin/env bash
# Build node_exporter, the node metrics exporter the live exporter test runs on this machine.
#
# Usage: tools/bootstrap-node-exporter.sh [--print-bin-dir] [--help]
#
# Runs `go install github.com/prometheus/node_exporter@v<version>` (the version of the image the
# MonitoringStack deploys, components/images.py NODE_EXPORTER; tests/test_exporters_live.py checks
# that they agree) into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/node_exporter-<version>/bin/node_exporter
# and prints that bin dir as the only line on stdout (progress goes to stderr).
# --print-bin-dir prints the bin dir and exits 0 only when the binary is already built (no build).
#
# Idempotent: a built version is never rebuilt; the build happens in a temp dir next to the cache
# and is renamed into place only when complete. Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-node-exporter USAGE_LINES=3,14
NODE_EXPORTER_VERSION=1.10.2
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

# Release builds (promu) stamp github.com/prometheus/common/version; a plain `go install` would
# report no version, so it is stamped the same way here.
go_install_release node_exporter github.com/prometheus/node_exporter "$NODE_EXPORTER_VERSION" --version \
  "version $NODE_EXPORTER_VERSION " "-X github.com/prometheus/common/version.Version=$NODE_EXPORTER_VERSION"
