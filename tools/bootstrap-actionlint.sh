#!/usr/bin/env bash
# Build actionlint, the GitHub Actions workflow checker the tests run on .github/workflows/.
#
# Usage: tools/bootstrap-actionlint.sh [--print-bin-dir] [--help]
#
# Runs `go install github.com/rhysd/actionlint/cmd/actionlint@v<version>` (the pinned version below;
# override with KEELSON_ACTIONLINT_VERSION) into
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/actionlint-<version>/bin/actionlint
# and prints that bin dir as the only line on stdout (progress goes to stderr), so:
#   export PATH="$(tools/bootstrap-actionlint.sh):$PATH"
# --print-bin-dir prints the bin dir and exits 0 only when the binary is already built (no build).
#
# Idempotent: a built version is never rebuilt; the build happens in a temp dir next to the cache
# and is renamed into place only when complete. Uses the Go module proxy only. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-actionlint USAGE_LINES=3,14
MODULE=github.com/rhysd/actionlint
ACTIONLINT_VERSION=1.7.12
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

VERSION=${KEELSON_ACTIONLINT_VERSION:-$ACTIONLINT_VERSION}
VERSION=${VERSION#v}
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'$VERSION' is not a release version such as $ACTIONLINT_VERSION"

go_install_release actionlint "$MODULE/cmd/actionlint" "$VERSION" -version "$VERSION"
