# shellcheck shell=bash
# The shared head of the tools/bootstrap-*.sh scripts. A script sets PROG (its name in log lines)
# and USAGE_LINES (the line range of its header comment, e.g. "3,16"), then sources this file
# with its arguments (shellcheck: PRINT_ONLY is read there, not here); a script with one flag of
# its own names it in EXTRA_FLAG, and EXTRA_FLAG_SET=1 says it was given:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"
# It defines log, die and usage, reports any failure with its line, the current ${STEP} and the
# work dir kept in ${WORK}, and parses the common flags: --print-bin-dir sets PRINT_ONLY=1.

# shellcheck source-path=SCRIPTDIR source=script-head.sh
. "$(dirname "${BASH_SOURCE[0]}")/script-head.sh" "$@"

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

# shellcheck disable=SC2034  # PRINT_ONLY and EXTRA_FLAG_SET are read by the sourcing script
PRINT_ONLY=0 EXTRA_FLAG_SET=0
# shellcheck disable=SC2034
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) PRINT_ONLY=1 ;;
    "${EXTRA_FLAG:-}") [ -n "${EXTRA_FLAG:-}" ] || { usage >&2; die "unknown argument: $arg"; }; EXTRA_FLAG_SET=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

# find_go [MIN_VERSION]: set GO and GOVER to the Go toolchain on PATH (or /usr/local/go), or die
# naming how to get it (default minimum 1.26); builds stay offline-reproducible: no toolchain
# download, no cgo, module mode (module zips carry go.sum but no vendor dir), and no workspace: a
# go.work in any directory above the cache would otherwise take over the builds (and refuse -mod=mod).
# shellcheck disable=SC2034  # GOVER and MOD_GOMOD are read by the sourcing scripts
find_go() {
  local min=${1:-1.26}
  GO=$(command -v go || true)
  [ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || true
  [ -n "$GO" ] || die "go not found on PATH (install Go >= $min from https://go.dev/dl/ or Debian's golang package)"
  GOVER=$("$GO" env GOVERSION 2>/dev/null) || die "'$GO env GOVERSION' failed"
  [ "$(printf '%s\n%s\n' "go$min" "$GOVER" | sort -V | head -n1)" = "go$min" ] || die "$GO is $GOVER; Go >= $min is needed"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
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

# cached_build_begin NAME TAG: the head of a build cached at ${KEELSON_TOOLCHAIN_CACHE}/NAME-TAG/bin/NAME.
# Sets CACHE, FINAL and BIN_DIR. When the binary is there, prints BIN_DIR and exits 0 (with
# --print-bin-dir, exits 1 when it is not); otherwise finds Go, takes the cache lock (and exits 0
# if another build finished meanwhile) and sets WORK (a temp dir next to the cache, the build goes
# to $WORK/out), LOG and START for the caller's build steps.
# shellcheck disable=SC2034  # CACHE, WORK, LOG and START are read by the sourcing scripts
cached_build_begin() {
  local name=$1 tag=$2
  CACHE=${KEELSON_TOOLCHAIN_CACHE:-${HOME:?HOME is not set}/.cache/keelson/toolchain}
  FINAL=$CACHE/$name-$tag
  BIN_DIR=$FINAL/bin
  if [ -x "$BIN_DIR/$name" ]; then
    [ "$PRINT_ONLY" = 1 ] || log "$name $tag already built ($BIN_DIR/$name)"
    printf '%s\n' "$BIN_DIR"
    exit 0
  fi
  if [ "$PRINT_ONLY" = 1 ]; then
    log "$name $tag not built yet (expected $BIN_DIR/$name); run $0"
    exit 1
  fi
  find_go 1.26
  mkdir -p "$CACHE"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock-$name"
    flock 9
    if [ -x "$BIN_DIR/$name" ]; then
      log "$name $tag was built while waiting for the lock"
      printf '%s\n' "$BIN_DIR"
      exit 0
    fi
  fi
  rm -rf "$CACHE/.tmp-$name-$tag".* 2>/dev/null || true
  WORK=$(mktemp -d "$CACHE/.tmp-$name-$tag.XXXXXX")
  LOG=$WORK/build.log
  : >"$LOG"
  START=$SECONDS
  mkdir -p "$WORK/out/bin"
}

# cached_build_finish NAME TAG BUILDINFO: writes BUILDINFO (text) and the build log into $WORK/out,
# renames it into place at FINAL, prints BIN_DIR and exits 0.
cached_build_finish() {
  local name=$1 tag=$2 info=$3
  printf '%sgo=%s\nbuilt=%s\nseconds=%s\n' "$info" "$GOVER" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((SECONDS - START))" \
    >"$WORK/out/BUILDINFO"
  cp "$LOG" "$WORK/out/build.log"
  if ! mv -T "$WORK/out" "$FINAL" 2>/dev/null; then
    [ -x "$BIN_DIR/$name" ] || die "move the build into place at $FINAL failed"
  fi
  rm -rf "$WORK"
  WORK=""
  log "built $name $tag in $((SECONDS - START))s"
  printf '%s\n' "$BIN_DIR"
  exit 0
}

# go_install_release NAME PACKAGE VERSION VERSION_ARGS EXPECTED [LDFLAGS]: the whole bootstrap of a
# tool that `go install PACKAGE@vVERSION` builds (see cached_build_begin for the cache), checked by
# `NAME VERSION_ARGS` printing a first line that contains EXPECTED. LDFLAGS are added to "-s -w".
go_install_release() {
  local name=$1 package=$2 version=$3 version_args=$4 expected=$5 ldflags=${6:-} reported
  cached_build_begin "$name" "$version"
  (cd "$WORK" && GOBIN="$WORK/out/bin" run_step "go install $package@v$version (with $GOVER)" \
    "$GO" install -trimpath -ldflags "-s -w${ldflags:+ $ldflags}" "$package@v$version")
  STEP="check that $name reports version $version"
  # shellcheck disable=SC2086  # VERSION_ARGS is a word list
  reported=$("$WORK/out/bin/$name" $version_args 2>&1 | head -n1)
  [[ $reported == *"$expected"* ]] || die "$STEP: it reports '$reported'"
  cached_build_finish "$name" "$version" "module=$package@v$version
"
}
