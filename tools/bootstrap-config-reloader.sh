#!/usr/bin/env bash
# Build prometheus-config-reloader, the sidecar that reloads Alertmanager, for the live reload test.
#
# Usage: tools/bootstrap-config-reloader.sh [--print-bin-dir] [--help]
#
# Builds ./cmd/prometheus-config-reloader of the Go module github.com/prometheus-operator/prometheus-operator@v<version>
# (the version of the image the MonitoringStack deploys, components/images.py CONFIG_RELOADER, the
# same as the operator's; tests/test_alertmanager_reload.py checks that they agree) into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/prometheus-config-reloader-<version>/bin/prometheus-config-reloader
# and prints that bin dir as the only line on stdout (progress goes to stderr).
# --print-bin-dir prints the bin dir and exits 0 only when the binary is already built (no build).
#
# Idempotent: a built version is never rebuilt; the build happens in a temp dir next to the cache
# and is renamed into place only when complete. Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-config-reloader USAGE_LINES=3,15
CONFIG_RELOADER_VERSION=0.85.0
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

VERSION=$CONFIG_RELOADER_VERSION
MODULE=github.com/prometheus-operator/prometheus-operator
cached_build_begin prometheus-config-reloader "$VERSION"
# Not `go install module/cmd/...@version`: the module's go.mod replaces two of its own modules
# with local directories, which `go install pkg@version` refuses, so the build runs in a copy of
# the module zip, resolving dependencies from its own go.mod and go.sum.
download_module "$MODULE@v$VERSION"
copy_tree "$MOD_DIR" "$WORK/src"
# Those two are modules of their own, tagged with the same version and left out of the main zip:
# each is put back where the replace directive looks for it.
for sub in pkg/apis/monitoring pkg/client; do
  download_module "$MODULE/$sub@v$VERSION"
  copy_tree "$MOD_DIR" "$WORK/src/$sub"
done
# The upstream Makefile stamps github.com/prometheus/common/version with the VERSION file, which
# `--version` prints; a plain build would report no version.
(cd "$WORK/src" && run_step "go build $MODULE/cmd/prometheus-config-reloader@v$VERSION (with $GOVER)" "$GO" build \
  -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=$VERSION" \
  -o "$WORK/out/bin/prometheus-config-reloader" ./cmd/prometheus-config-reloader)
rm -rf "$WORK/src"
STEP="check that prometheus-config-reloader reports version $VERSION"
reported=$("$WORK/out/bin/prometheus-config-reloader" --version 2>&1 | head -n1)
[[ $reported == *"version $VERSION "* ]] || die "$STEP: it reports '$reported'"
cached_build_finish prometheus-config-reloader "$VERSION" "module=$MODULE@v$VERSION
"
