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

# find_go [MIN_VERSION]: set GO and GOVER to the Go toolchain on PATH (or /usr/local/go), or die
# naming how to get it (default minimum 1.26); builds stay offline-reproducible: no toolchain
# download, no cgo, module mode (module zips carry go.sum but no vendor dir).
# shellcheck disable=SC2034  # GOVER and MOD_GOMOD are read by the sourcing scripts
find_go() {
  local min=${1:-1.26}
  GO=$(command -v go || true)
  [ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || true
  [ -n "$GO" ] || die "go not found on PATH (install Go >= $min from https://go.dev/dl/ or Debian's golang package)"
  GOVER=$("$GO" env GOVERSION 2>/dev/null) || die "'$GO env GOVERSION' failed"
  [ "$(printf '%s\n%s\n' "go$min" "$GOVER" | sort -V | head -n1)" = "go$min" ] || die "$GO is $GOVER; Go >= $min is needed"
  export GOTOOLCHAIN=local CGO_ENABLED=0
  export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
}

# run_step DESCRIPTION COMMAND...: run COMMAND with its output appended to ${LOG}; on failure,
# fail() names the step and shows the log's tail. A set ${STEP_LABEL} prefixes the progress line.
run_step() {
  local desc=$1 rc=0
  shift
  log "  ${STEP_LABEL:+[$STEP_LABEL] }$desc"
  printf '\n### %s\n$ %s\n' "$desc" "$*" >>"$LOG"
  "$@" >>"$LOG" 2>&1 || rc=$?
  [ "$rc" = 0 ] || fail "$desc" "$rc"
}

# download_module MODULE@VERSION [COMMIT]: `go mod download` it (proxy only) and set MOD_DIR and
# MOD_GOMOD (its read-only directory and go.mod in the module cache), or fail naming how to list
# versions; with COMMIT, fail too when the module resolves to another commit.
# shellcheck disable=SC2034
download_module() {
  local mv=$1 want=${2:-} json err hash
  log "  ${STEP_LABEL:+[$STEP_LABEL] }go mod download $mv"
  json=$(cd "${WORK:-/tmp}" && "$GO" mod download -json "$mv" 2>&1) || true
  printf '\n### go mod download -json %s\n%s\n' "$mv" "$json" >>"$LOG"
  MOD_DIR=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
  MOD_GOMOD=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
  err=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
  if [ -z "$MOD_DIR" ] || [ ! -d "$MOD_DIR" ]; then
    log "go mod download $mv: ${err:-$(printf '%s' "$json" | tail -n 3)}"
    fail "download module $mv (list the versions the proxy serves: go list -m -versions ${mv%@*})" 1
  fi
  hash=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]\{40\}\)",\{0,1\}$/\1/p' | head -n1)
  if [ -n "$want" ] && [ -n "$hash" ] && [ "$hash" != "$want" ]; then
    log "module $mv resolves to commit $hash, but the pinned commit is $want"
    fail "verify commit of $mv" 1
  fi
}

# copy_tree SRC DEST: a writable copy of a (read-only) module-cache dir.
copy_tree() {
  mkdir -p "$(dirname "$2")"
  cp -R "$1" "$2"
  chmod -R u+w "$2"
}

# go_install_release NAME PACKAGE VERSION VERSION_ARGS EXPECTED [LDFLAGS]: the whole bootstrap of a
# tool that `go install PACKAGE@vVERSION` builds. Prints its bin dir as the only stdout line and
# exits: at once when ${KEELSON_TOOLCHAIN_CACHE}/NAME-VERSION/bin/NAME exists (--print-bin-dir:
# exit 1 when it does not), else after a build in a temp dir renamed into place, under a lock, once
# `NAME VERSION_ARGS` prints a first line containing EXPECTED. LDFLAGS are added to "-s -w".
go_install_release() {
  local name=$1 package=$2 version=$3 version_args=$4 expected=$5 ldflags=${6:-}
  local cache=${KEELSON_TOOLCHAIN_CACHE:-${HOME:?HOME is not set}/.cache/keelson/toolchain}
  local final=$cache/$name-$version bin_dir start reported
  bin_dir=$final/bin
  if [ -x "$bin_dir/$name" ]; then
    [ "$PRINT_ONLY" = 1 ] || log "$name $version already built ($bin_dir/$name)"
    printf '%s\n' "$bin_dir"
    exit 0
  fi
  if [ "$PRINT_ONLY" = 1 ]; then
    log "$name $version not built yet (expected $bin_dir/$name); run $0"
    exit 1
  fi
  find_go 1.26
  mkdir -p "$cache"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/.lock-$name"
    flock 9
    if [ -x "$bin_dir/$name" ]; then
      log "$name $version was built while waiting for the lock"
      printf '%s\n' "$bin_dir"
      exit 0
    fi
  fi
  rm -rf "$cache/.tmp-$name-$version".* 2>/dev/null || true
  WORK=$(mktemp -d "$cache/.tmp-$name-$version.XXXXXX")
  LOG=$WORK/build.log
  start=$SECONDS
  mkdir -p "$WORK/out/bin"
  (cd "$WORK" && GOBIN="$WORK/out/bin" run_step "go install $package@v$version (with $GOVER)" \
    "$GO" install -trimpath -ldflags "-s -w${ldflags:+ $ldflags}" "$package@v$version")
  STEP="check that $name reports version $version"
  # shellcheck disable=SC2086  # VERSION_ARGS is a word list
  reported=$("$WORK/out/bin/$name" $version_args 2>&1 | head -n1)
  [[ $reported == *"$expected"* ]] || die "$STEP: it reports '$reported'"
  printf 'module=%s@v%s\ngo=%s\nbuilt=%s\nseconds=%s\n' "$package" "$version" "$GOVER" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((SECONDS - start))" >"$WORK/out/BUILDINFO"
  cp "$LOG" "$WORK/out/build.log"
  if ! mv -T "$WORK/out" "$final" 2>/dev/null; then
    [ -x "$bin_dir/$name" ] || die "move the build into place at $final failed"
  fi
  rm -rf "$WORK"
  WORK=""
  log "built $name $version in $((SECONDS - start))s"
  printf '%s\n' "$bin_dir"
  exit 0
}
