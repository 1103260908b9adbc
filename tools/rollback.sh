#!/usr/bin/env bash
# Roll a stack back to the last commit that passed its post-deploy smoke check.
#
# Usage: tools/rollback.sh <stack>
#
# Reads the stack tag keelson:deployed-commit (the deploy workflow sets it after a passing smoke
# check), checks that commit out in a temporary git worktree, runs `pulumi up` from it, and runs
# the smoke check (tools/smoke_check.py) again. Exits 0 when the stack is back on that commit and
# passes the check, non-zero otherwise, naming what failed. Run it from the repository, with what
# `pulumi up` needs (backend, passphrase or secrets provider, KUBECONFIG). The program's virtualenv
# is reused when requirements.txt is the same in both commits; otherwise `make venv` builds one
# in the worktree.
#
# Environment: PULUMI (default: pulumi), SMOKE_CHECK_ARGS (extra arguments of the smoke check,
# e.g. --no-http or --timeout 600). Non-interactive.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by lib/script-head.sh
PROG=rollback USAGE_LINES=2,15
# shellcheck source-path=SCRIPTDIR source=lib/script-head.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/script-head.sh" "$@"
[ $# -eq 1 ] || { usage >&2; die "expected one stack name, got $# arguments"; }
STACK=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PULUMI=${PULUMI:-pulumi}
read -r -a SMOKE_ARGS <<< "${SMOKE_CHECK_ARGS:-}"

cd "$ROOT"
previous=$("$PULUMI" stack tag get keelson:deployed-commit --stack "$STACK" --non-interactive 2>/dev/null || true)
[ -n "$previous" ] ||
  die "no commit of stack $STACK ever passed its smoke check (no keelson:deployed-commit tag): nothing to roll back to"
git rev-parse --quiet --verify "$previous^{commit}" >/dev/null ||
  die "stack $STACK was last deployed from commit $previous, which this clone does not have (fetch the whole history)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keelson-rollback.XXXXXX")
cleanup() { git -C "$ROOT" worktree remove --force "$WORK/previous" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
git worktree add --quiet --detach "$WORK/previous" "$previous"

if git diff --quiet "$previous" HEAD -- requirements.txt && [ -x "$ROOT/.venv/bin/python" ]; then
  ln -s "$ROOT/.venv" "$WORK/previous/.venv"
else
  log "requirements.txt differs from $previous: building its virtualenv"
  make -C "$WORK/previous" venv >&2
fi

log "pulumi up --stack $STACK from $previous"
(cd "$WORK/previous" && "$PULUMI" up --stack "$STACK" --yes --skip-preview --non-interactive) >&2 ||
  die "pulumi up of $previous failed: stack $STACK is neither on the release nor on $previous"

"$PULUMI" stack output --json --stack "$STACK" --non-interactive > "$WORK/outputs.json"
"$ROOT/.venv/bin/python" "$ROOT/tools/smoke_check.py" --stack "$STACK" --outputs "$WORK/outputs.json" \
  ${SMOKE_ARGS[@]+"${SMOKE_ARGS[@]}"} >&2 ||
  die "stack $STACK is back on $previous, but its smoke check fails there too"
printf '%s\n' "$previous"
log "stack $STACK rolled back to $previous and passes its smoke check"
