#!/usr/bin/env bash
# Fetch a project's CustomResourceDefinitions from the Go module proxy into a local cache.
#
# Usage: tools/fetch-crds.sh <cert-manager|prometheus-operator|velero> [version]
#        (default version: the one Keelson pins)
#
# Downloads the project's Go module with `go mod download -json` (the Go module proxy and checksum
# database only; no GitHub release assets), then copies the CRD YAMLs it ships (and, for
# cert-manager, the Helm chart's values.schema.json as helm-values.schema.json) into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/keelson/<project>-crds/<version>/
# and prints that directory as the only line on stdout (progress goes to stderr).
# The tests validate every rendered custom resource against these schemas.
#
# Idempotent: a complete cache dir is reused without calling Go; a new one is filled in a temp
# dir next to it and renamed into place only when complete. Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/script-head.sh
PROG=fetch-crds USAGE_LINES=2,16
# shellcheck source-path=SCRIPTDIR source=lib/script-head.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/script-head.sh" "$@"
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  usage >&2
  die "expected a project and at most a version, got $# arguments"
fi
PROJECT=$1
shift
case "$PROJECT" in
  # Keep in step with CERT_MANAGER_VERSION in components/builders/cert_manager.py
  # (tests/test_cert_issuer.py checks it). The newest 1.x the proxy serves when pinned.
  cert-manager)
    DEFAULT_VERSION=1.21.2 MODULE=github.com/cert-manager/cert-manager CRD_DIR=deploy/crds
    CHART_SCHEMA=deploy/charts/cert-manager/values.schema.json ;;
  # Keep in step with PROMETHEUS_OPERATOR_VERSION in components/monitoring/operator.py.
  prometheus-operator)
    DEFAULT_VERSION=0.85.0 MODULE=github.com/prometheus-operator/prometheus-operator
    CRD_DIR=example/prometheus-operator-crd CHART_SCHEMA= ;;
  # Keep in step with VELERO_VERSION in components/backups.py.
  velero)
    DEFAULT_VERSION=1.18.3 MODULE=github.com/vmware-tanzu/velero CRD_DIR=config/crd/v1/bases CHART_SCHEMA= ;;
  *) usage >&2; die "unknown project '$PROJECT': expected cert-manager, prometheus-operator or velero" ;;
esac

VERSION=${1:-$DEFAULT_VERSION}
VERSION=${VERSION#v}
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "'$VERSION' is not a release version such as $DEFAULT_VERSION (MAJOR.MINOR.PATCH, optional leading v)"

CACHE_ROOT=${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/keelson/$PROJECT-crds
TARGET=$CACHE_ROOT/$VERSION
MARKER=.complete

if [ -f "$TARGET/$MARKER" ]; then
  log "$PROJECT v$VERSION CRDs already cached"
  printf '%s\n' "$TARGET"
  exit 0
fi

command -v go >/dev/null 2>&1 ||
  die "the 'go' command is not on PATH; install Go (https://go.dev/dl/) or copy the CRDs of $PROJECT v$VERSION into $TARGET/ and touch $TARGET/$MARKER"

mkdir -p "$CACHE_ROOT"
WORK=$(mktemp -d "$CACHE_ROOT/.tmp-$VERSION-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Run outside any Go module, so the repo (or a parent go.mod) can never influence resolution.
log "downloading $MODULE@v$VERSION through $(go env GOPROXY)"
set +e
JSON=$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "$MODULE@v$VERSION" 2>"$WORK/go.stderr")
STATUS=$?
set -e
ERROR=$(printf '%s\n' "$JSON" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p')
MODULE_DIR=$(printf '%s\n' "$JSON" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ $STATUS -ne 0 ] || [ -n "$ERROR" ] || [ -z "$MODULE_DIR" ]; then
  cat "$WORK/go.stderr" >&2
  ERROR=${ERROR//\\n\\t/ }
  die "could not download $MODULE@v$VERSION${ERROR:+ (${ERROR%.})}. List the versions the proxy serves with: go list -m -versions $MODULE"
fi

CRDS=("$MODULE_DIR/$CRD_DIR"/*.yaml)
[ -e "${CRDS[0]}" ] || die "$MODULE@v$VERSION has no $CRD_DIR/*.yaml in $MODULE_DIR; pick another version"

STAGE=$WORK/crds
mkdir "$STAGE"
cp "${CRDS[@]}" "$STAGE/"
if [ -n "$CHART_SCHEMA" ]; then
  if [ -f "$MODULE_DIR/$CHART_SCHEMA" ]; then
    cp "$MODULE_DIR/$CHART_SCHEMA" "$STAGE/helm-values.schema.json"
  else
    log "warning: $MODULE@v$VERSION ships no $CHART_SCHEMA; Helm values will not be checked"
  fi
fi
# The module cache is read-only; the copies must stay removable.
chmod -R u+w "$STAGE"
printf '%s %s\n' "$MODULE@v$VERSION" "$(printf '%s\n' "$JSON" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')" >"$STAGE/$MARKER"

rm -rf "$TARGET"
mv "$STAGE" "$TARGET"
log "copied ${#CRDS[@]} CRDs of $PROJECT v$VERSION"
printf '%s\n' "$TARGET"
