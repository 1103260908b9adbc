# shellcheck shell=bash
# The shared head of the tools/bootstrap-*.sh scripts. A script sets PROG (its name in log lines)
# and USAGE_LINES (the line range of its header comment, e.g. "3,16"), then sources this file
# with its arguments (shellcheck: PRINT_ONLY is read there, not here):
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"
# It defines log, die and usage, reports any failure with its line, the current ${STEP} and the
# work dir kept in ${WORK}, and parses the common flags: --print-bin-dir sets PRINT_ONLY=1.

log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n "${USAGE_LINES}p" "$0" | sed 's/^# \{0,1\}//'; }

STEP="" WORK=""
on_err() {
  log "FAILED (exit $1) at line $2 of $0${STEP:+ during: $STEP}"
  [ -n "${WORK:-}" ] && log "work dir kept for inspection: $WORK"
}
trap 'on_err $? $LINENO' ERR

# A build step that failed: name it, show the tail of the build log ${LOG}, keep ${WORK}.
fail() { # step, rc
  local context=""
  [ -n "${STEP:-}" ] && [ "$STEP" != "$1" ] && context="$STEP, step: "
  log "FAILED: $context$1 (exit $2)"
  if [ -n "${LOG:-}" ] && [ -s "$LOG" ]; then
    log "last 40 lines of $LOG:"
    tail -n 40 "$LOG" >&2 || true
  fi
  [ -n "${WORK:-}" ] && log "work dir kept for inspection: $WORK"
  exit 1
}

# shellcheck disable=SC2034  # PRINT_ONLY is read by the sourcing script
PRINT_ONLY=0
# shellcheck disable=SC2034
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) PRINT_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done
