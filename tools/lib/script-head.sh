# shellcheck shell=bash
# The shared head of Keelson's scripts that take arguments (tools/rollback.sh, tools/fetch-crds.sh;
# the bootstraps use bootstrap-common.sh, which sources this). A script sets PROG (its name in
# log lines) and USAGE_LINES (the line range of its header comment, e.g. "2,15"), then sources
# this file with its arguments:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/script-head.sh" "$@"
# It defines log, die and usage, and answers -h/--help with the usage.

log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n "${USAGE_LINES}p" "$0" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
