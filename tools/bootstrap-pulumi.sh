#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2016  # bash -c '...' "$@" bodies are meant to be literal
# Build Keelson's pinned Pulumi toolchain from Go modules and expose it in one bin dir.
#
# Usage: tools/bootstrap-pulumi.sh [--with-consumer-hosts] [--print-bin-dir] [--help]
#
# Reads the pins from tools/pulumi-versions.env (override with KEELSON_PULUMI_VERSIONS_FILE),
# builds every component into its own versioned cache dir
#   ${KEELSON_TOOLCHAIN_CACHE:-$HOME/.cache/keelson/toolchain}/<component>-<version>/bin
# and hard-links the executables into $CACHE/bin-<key>/, then prints on stdout the one line
#   KEELSON_PULUMI_BIN=<dir>
# (progress and timings go to stderr), so callers can do:
#   eval "$(tools/bootstrap-pulumi.sh)" && export PATH="$KEELSON_PULUMI_BIN:$PATH"
# --print-bin-dir prints the bin dir and exits 0 only when it is already complete (no build).
# --with-consumer-hosts also builds the Node.js and YAML language hosts (marked * below), which
# only the example consumers in other languages need, into a bin dir of their own.
#
# Components (all built with CGO_ENABLED=0 -trimpath from the Go module proxy only):
#   pulumi                        github.com/pulumi/pulumi/pkg/v3 ./cmd/pulumi (+ sdk/v3 at ../sdk)
#   pulumi-language-python        a small Python language host written below (the upstream module
#   pulumi-language-python-exec     .../sdk/python/cmd/pulumi-language-python/v3 is refused by the
#                                   proxy at every version) + the upstream exec script from sdk/v3
#   pulumi-language-nodejs *      a small Node.js language host, the Go module in
#                                   tools/pulumi-language-nodejs, built on sdk/v3 + pkg/v3 (the
#                                   upstream .../sdk/nodejs/cmd/pulumi-language-nodejs/v3 is refused
#                                   likewise); it runs the program's own @pulumi/pulumi cmd/run
#   pulumi-resource-kubernetes    github.com/pulumi/pulumi-kubernetes/provider/v4 (+ sdk/v4 at ../sdk),
#                                   schema embedded with the module's own `go generate`
#   pulumi-resource-random        upstream terraform-provider-random + pulumi-terraform-bridge, with
#                                   the shim module and bridge wiring written below (the
#                                   pulumi-random provider/v4 module is refused by the proxy)
#   pulumi-language-yaml *        github.com/pulumi/pulumi-yaml ./cmd/pulumi-language-yaml, with its
#                                   pkg/v3 and sdk/v3 raised to the CLI's tag (one engine version)
#
# Upgrading: edit tools/pulumi-versions.env only. What the registries served on 2026-12-03:
#   github.com/pulumi/pulumi/pkg/v3     v3.260.0, v3.274.0-v3.277.0 served; v3.261.0-v3.273.0 and
#                                       v3.278.0 refused (403). v3.277.0 needs Go >= 1.26.6.
#   github.com/pulumi/pulumi/sdk/v3     every tag up to v3.277.0 served
#   .../sdk/python/cmd/pulumi-language-python/v3, .../sdk/nodejs/cmd/pulumi-language-nodejs/v3
#                                       refused at every version tried (v3.150.0-v3.277.0)
#   PyPI pulumi                         newest 3.272.0 (so the CLI runs ahead of the Python SDK)
#   github.com/pulumi/pulumi-kubernetes/provider/v4   one commit only (f47bc2d, 4.25.0); the
#                                       PyPI SDK goes to 4.34.2, but a newer SDK than the provider
#                                       is not an option, so both stay at 4.25.0
#   github.com/pulumi/pulumi-random/provider/v4       refused (404/403) at every version
#   github.com/pulumi/pulumi-yaml       v1.25.0, v1.28.0, v1.30.0, v1.30.1, v1.32.0, v1.37.0,
#                                       v1.38.0, v1.38.1, v1.38.3 served; refused (403): v1.24.0,
#                                       v1.26.0, v1.27.0, v1.29.0, v1.31.0, v1.32.1, v1.33.0-v1.36.0,
#                                       v1.36.1, v1.37.1, v1.37.2, v1.38.2, v1.38.4-v1.38.8,
#                                       v1.39.0-v1.39.3, v1.40.0-v1.40.2, v1.41.0-v1.50.0, v2.0.0.
#                                       Its @v/list names only v1.11.1 and v1.25.0: probe each tag.
#                                       v1.38.3 requires pkg/sdk v3.257.0; it compiles against v3.277.0
#
# Idempotent: a component whose cache dir exists is not rebuilt; builds happen in a temp dir
# next to the cache and are renamed into place only when complete. Non-interactive.
set -Eeuo pipefail

# Bump when the build recipe below changes, so cached components built by an older recipe
# are not reused.
RECIPE_REV=1
# Bump when the language host source below changes: only that component is rebuilt.
# 2: RunPlugin, so `pulumi preview --policy-pack <dir>` runs Python policy packs.
LANGHOST_REV=2
# (The Node.js language host needs no such number: it is keyed by a hash of its sources.)

# shellcheck disable=SC2034  # read by lib/bootstrap-common.sh
PROG=bootstrap-pulumi USAGE_LINES=3,16 EXTRA_FLAG=--with-consumer-hosts
# shellcheck source-path=SCRIPTDIR source=lib/bootstrap-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap-common.sh" "$@"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSIONS_FILE=${KEELSON_PULUMI_VERSIONS_FILE:-$SCRIPT_DIR/pulumi-versions.env}
[ -r "$VERSIONS_FILE" ] || die "cannot read versions file $VERSIONS_FILE"
# shellcheck source=pulumi-versions.env
. "$VERSIONS_FILE"
for v in PULUMI_VERSION PULUMI_KUBERNETES_VERSION PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION \
         PULUMI_RANDOM_VERSION TF_PROVIDER_RANDOM_MODULE_VERSION PULUMI_TERRAFORM_BRIDGE_VERSION \
         PULUMI_YAML_VERSION; do
  [ -n "${!v:-}" ] || die "$v is not set in $VERSIONS_FILE"
done

CACHE=${KEELSON_TOOLCHAIN_CACHE:-${HOME:?HOME is not set}/.cache/keelson/toolchain}

K8S_SHORT=${PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION##*-}
TF_RANDOM_SHORT=${TF_PROVIDER_RANDOM_MODULE_VERSION##*-}
K_PULUMI="pulumi-${PULUMI_VERSION}"
K_LANG="pulumi-language-python-${PULUMI_VERSION}-r${RECIPE_REV}-h${LANGHOST_REV}"
# The Node.js language host is keyed by a hash of its sources (tools/pulumi-language-nodejs:
# go.mod, go.sum, *.go; names and contents), so an edit there rebuilds only that component.
NODEHOST_SRC=$SCRIPT_DIR/pulumi-language-nodejs
NODEHOST_SOURCES=()
while IFS= read -r -d '' file; do NODEHOST_SOURCES+=("$file"); done \
  < <(find "$NODEHOST_SRC" -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | LC_ALL=C sort -z)
[ "${#NODEHOST_SOURCES[@]}" -ge 3 ] || die "expected go.mod, go.sum and *.go in $NODEHOST_SRC"
NODEHOST_HASH=$(for file in "${NODEHOST_SOURCES[@]}"; do printf '%s\n' "${file##*/}"; sha256sum <"$file"; done |
  sha256sum | cut -c1-12)
K_NODE="pulumi-language-nodejs-${PULUMI_VERSION}-r${RECIPE_REV}-s${NODEHOST_HASH}"
K_K8S="pulumi-resource-kubernetes-${PULUMI_KUBERNETES_VERSION}-${K8S_SHORT}"
K_RANDOM="pulumi-resource-random-${PULUMI_RANDOM_VERSION}-tf${TF_RANDOM_SHORT}-bridge${PULUMI_TERRAFORM_BRIDGE_VERSION}-r${RECIPE_REV}"
K_YAML="pulumi-language-yaml-${PULUMI_YAML_VERSION}-p${PULUMI_VERSION}-r${RECIPE_REV}"
# The core runs Keelson's own program (make up); --with-consumer-hosts adds the language hosts
# that only the example consumers in other languages need (make test), in a bin dir of its own.
COMPONENTS=("$K_PULUMI" "$K_LANG" "$K_K8S" "$K_RANDOM")
REQUIRED_EXES=(pulumi pulumi-language-python pulumi-language-python-exec
               pulumi-resource-kubernetes pulumi-resource-random)
if [ "$EXTRA_FLAG_SET" = 1 ]; then
  COMPONENTS+=("$K_NODE" "$K_YAML")
  REQUIRED_EXES+=(pulumi-language-nodejs pulumi-language-yaml)
fi

bin_key() {
  printf '%s\n' "${COMPONENTS[@]}" | cksum | cut -d' ' -f1
}
BIN_DIR="$CACHE/bin-p${PULUMI_VERSION}-k${PULUMI_KUBERNETES_VERSION}-r${PULUMI_RANDOM_VERSION}-$(bin_key)"

bin_complete() {
  local exe
  [ -d "$BIN_DIR" ] || return 1
  for exe in "${REQUIRED_EXES[@]}"; do
    [ -x "$BIN_DIR/$exe" ] || return 1
  done
}

if [ "$PRINT_ONLY" = 1 ]; then
  if bin_complete; then
    printf '%s\n' "$BIN_DIR"
    exit 0
  fi
  log "toolchain not built yet (expected $BIN_DIR); run $0$([ "$EXTRA_FLAG_SET" = 1 ] && printf " %s" "$EXTRA_FLAG")"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# Go environment
find_go 1.26.6
# The checksum database does not know the untagged provider pseudo-versions (and some of their
# dependencies); the module zips' own go.sum files still pin everything else.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi,github.com/terraform-providers"
LDFLAGS_STRIP="-s -w"

mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.lock"
  flock 9
fi

# ---------------------------------------------------------------------------------------------
# Build helpers (run_step and download_module come from lib/bootstrap-common.sh). Each component
# build runs with COMP, DESC, WORK, LOG and OUT set; STEP_LABEL=COMP labels its progress lines.
COMP="" DESC="" LOG="" OUT="" STEP_LABEL=""


TIMINGS=()
install_component() { # key, description, build function
  local key=$1 start final
  COMP=$1 DESC=$2 STEP_LABEL=$1
  STEP="building component $COMP ($DESC)"
  final="$CACHE/$key"
  start=$SECONDS
  if [ -d "$final/bin" ]; then
    log "[$key] cached ($final)"
    TIMINGS+=("$key: cached (0s)")
    return 0
  fi
  rm -rf "$CACHE/.tmp-$key".* 2>/dev/null || true
  WORK=$(mktemp -d "$CACHE/.tmp-$key.XXXXXX")
  LOG="$WORK/build.log"
  OUT="$WORK/out"
  mkdir -p "$OUT/bin" "$WORK/src"
  : >"$LOG"
  log "[$key] building $DESC"
  "$3"
  printf 'component=%s\ndescription=%s\nrecipe_rev=%s\ngo=%s\nbuilt=%s\n' \
    "$key" "$DESC" "$RECIPE_REV" "$GOVER" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$OUT/BUILDINFO"
  cp "$LOG" "$OUT/build.log"
  if ! mv -T "$OUT" "$final" 2>/dev/null; then
    [ -d "$final/bin" ] || fail "move $OUT into place at $final" 1
  fi
  rm -rf "$WORK"
  WORK="" LOG=""
  log "[$key] built in $((SECONDS - start))s"
  TIMINGS+=("$key: built in $((SECONDS - start))s")
}

# ---------------------------------------------------------------------------------------------
# pulumi CLI
build_pulumi() {
  download_module "github.com/pulumi/pulumi/pkg/v3@v${PULUMI_VERSION}" "${PULUMI_COMMIT:-}"
  copy_tree "$MOD_DIR" "$WORK/src/pkg"
  # pkg/v3's go.mod has `replace github.com/pulumi/pulumi/sdk/v3 => ../sdk`.
  download_module "github.com/pulumi/pulumi/sdk/v3@v${PULUMI_VERSION}"
  copy_tree "$MOD_DIR" "$WORK/src/sdk"
  run_step "go build ./cmd/pulumi" bash -c 'cd "$1" && "$2" build -trimpath \
      -ldflags "$3 -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$4" \
      -o "$5" ./cmd/pulumi' _ "$WORK/src/pkg" "$GO" "$LDFLAGS_STRIP" "$PULUMI_VERSION" "$OUT/bin/pulumi"
  run_step "smoke test: pulumi version" bash -c '[ "$("$1" version)" = "v$2" ]' _ "$OUT/bin/pulumi" "$PULUMI_VERSION"
}

# ---------------------------------------------------------------------------------------------
# Python language host
write_langhost_source() { # dir
  mkdir -p "$1"
  cat >"$1/go.mod" <<EOF
module keelson.local/pulumi-language-python

go 1.25

require github.com/pulumi/pulumi/sdk/v3 v${PULUMI_VERSION}

replace github.com/pulumi/pulumi/sdk/v3 => ../sdk
EOF
  cat >"$1/main.go" <<'EOF'
// Keelson's minimal Pulumi language host for Python (generated by tools/bootstrap-pulumi.sh).
//
// The upstream module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 cannot
// be fetched from the Go module proxy available to Keelson, so this small host is built instead,
// on top of the matching github.com/pulumi/pulumi/sdk/v3 module. It implements what
// `pulumi preview/up/destroy/refresh/install/about` need, and runs programs through the
// upstream `pulumi-language-python-exec` script that sits next to this binary. RunPlugin runs
// Python policy packs (`pulumi preview --policy-pack <dir>`) the way the upstream host does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

const execScript = "pulumi-language-python-exec"

// Exit code the exec script uses after it has already shown an error to the user.
const exitAfterUserMessage = 32

func main() {
	flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.String("root", "", "Project root path (ignored)")
	flag.String("virtualenv", "", "Deprecated, use runtime options (ignored)")
	flag.String("toolchain", "", "Deprecated, use runtime options (ignored)")
	flag.String("typechecker", "", "Deprecated, use runtime options (ignored)")
	logging.InitLogging(false, 0, false)
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		cmdutil.Exit(errors.New("missing required engine RPC address argument"))
	}
	host := &pythonHost{engineAddress: args[0]}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func execScriptPath() (string, error) {
	if self, err := os.Executable(); err == nil {
		if resolved, rerr := filepath.EvalSymlinks(self); rerr == nil {
			self = resolved
		}
		candidate := filepath.Join(filepath.Dir(self), execScript)
		if _, serr := os.Stat(candidate); serr == nil {
			return candidate, nil
		}
	}
	return exec.LookPath(execScript)
}

func optString(info *pulumirpc.ProgramInfo, key string) string {
	if info.GetOptions() == nil {
		return ""
	}
	if v, ok := info.GetOptions().GetFields()[key]; ok {
		return v.GetStringValue()
	}
	return ""
}

func resolveToolchain(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Virtualenv: optString(info, "virtualenv"),
	}
	if opts.ProgramDir == "" {
		opts.ProgramDir = opts.Root
	}
	switch strings.ToLower(optString(info, "toolchain")) {
	case "", "auto":
		if opts.Virtualenv != "" {
			opts.Toolchain = toolchain.Pip
		} else {
			opts.Toolchain = toolchain.Auto
		}
	case "pip":
		opts.Toolchain = toolchain.Pip
	case "poetry":
		opts.Toolchain = toolchain.Poetry
	case "uv":
		opts.Toolchain = toolchain.Uv
	default:
		return nil, fmt.Errorf("unsupported python toolchain %q", optString(info, "toolchain"))
	}
	switch strings.ToLower(optString(info, "typechecker")) {
	case "mypy":
		opts.Typechecker = toolchain.TypeCheckerMypy
	case "pyright":
		opts.Typechecker = toolchain.TypeCheckerPyright
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *pythonHost) Handshake(ctx context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *pythonHost) GetPluginInfo(ctx context.Context, _ *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// pluginScan prints the pulumi-plugin.json files shipped by the installed Python packages.
const pluginScan = `
import json, importlib.metadata as md
out = []
for dist in md.distributions():
    for f in dist.files or []:
        if f.name == "pulumi-plugin.json":
            try:
                out.append(json.loads(f.read_text()))
            except Exception:
                pass
print(json.dumps(out))
`

type pluginJSON struct {
	Resource         bool   `json:"resource"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	Server           string `json:"server"`
	Parameterization *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Value   []byte `json:"value"`
	} `json:"parameterization"`
}

func (h *pythonHost) GetRequiredPackages(ctx context.Context,
	req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", pluginScan)
	if err != nil {
		return nil, err
	}
	cmd.Dir = req.GetInfo().GetProgramDirectory()
	out, err := cmd.Output()
	if err != nil {
		// A missing or broken environment is reported by Run; do not fail plugin discovery.
		logging.V(5).Infof("GetRequiredPackages: scanning python packages failed: %v", err)
		return &pulumirpc.GetRequiredPackagesResponse{}, nil
	}
	var plugins []pluginJSON
	if err := json.Unmarshal(out, &plugins); err != nil {
		return nil, fmt.Errorf("parsing pulumi-plugin.json scan output: %w", err)
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	seen := map[string]bool{}
	for _, p := range plugins {
		if !p.Resource || p.Name == "" {
			continue
		}
		v := strings.TrimPrefix(p.Version, "v")
		key := p.Name + "@" + v
		if p.Parameterization != nil {
			key += "/" + p.Parameterization.Name
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		dep := &pulumirpc.PackageDependency{Kind: "resource", Name: p.Name, Version: v, Server: p.Server}
		if p.Parameterization != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: p.Parameterization.Name, Version: p.Parameterization.Version, Value: p.Parameterization.Value,
			}
		}
		resp.Packages = append(resp.Packages, dep)
	}
	return resp, nil
}

func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	tc, err := resolveToolchain(info)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	script, err := execScriptPath()
	if err != nil {
		return nil, fmt.Errorf("could not find %s next to the language host or on PATH: %w", execScript, err)
	}
	program := info.GetEntryPoint()
	if program == "" {
		program = "."
	}
	args := []string{script,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddress,
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization", req.GetOrganization())
	}
	if info.GetRootDirectory() != "" {
		args = append(args, "--root_directory", info.GetRootDirectory())
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Dir = info.GetProgramDirectory()
	if cmd.Dir == "" {
		cmd.Dir = req.GetPwd()
	}
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "PULUMI_CONFIG="+string(cfg), "PULUMI_CONFIG_SECRET_KEYS="+string(keys))
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitAfterUserMessage {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("python program exited with code %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin runs a Python plugin directory the engine hands to its language host, such as a policy
// pack (a PulumiPolicy.yaml with `runtime: python`), as the upstream host does for a bare
// directory: `python <plugin dir> <args...>` runs the plugin's __main__.py in the plugin's own
// virtualenv (runtime option `virtualenv`, default `venv`), with the engine's environment, and
// streams its stdout (where the analyzer prints its port) and stderr back to the engine.
func (h *pythonHost) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	info := req.GetInfo()
	tc, err := resolvePluginToolchain(info)
	if err != nil {
		return err
	}
	args := append([]string{info.GetProgramDirectory()}, req.GetArgs()...)
	cmd, err := tc.Command(server.Context(), args...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd.Dir = req.GetPwd()
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				//nolint:gosec // exit codes fit in 8 bits
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		return fmt.Errorf("could not run python plugin %s: %w", info.GetProgramDirectory(), err)
	}
	return closer.Close()
}

// resolvePluginToolchain is resolveToolchain for plugins: like the upstream host, a pip plugin
// without a `virtualenv` option uses `venv` beside it, never the ambient Python.
func resolvePluginToolchain(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	name := strings.ToLower(optString(info, "toolchain"))
	if optString(info, "virtualenv") == "" && (name == "" || name == "auto" || name == "pip") {
		opts := toolchain.PythonOptions{
			Root:       info.GetRootDirectory(),
			ProgramDir: info.GetProgramDirectory(),
			Virtualenv: "venv",
			Toolchain:  toolchain.Pip,
		}
		return toolchain.ResolveToolchain(opts)
	}
	return resolveToolchain(info)
}

type streamWriter struct {
	send   func(*pulumirpc.InstallDependenciesResponse) error
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	msg := &pulumirpc.InstallDependenciesResponse{Stdout: b}
	if w.stderr {
		msg = &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}
	if err := w.send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *pythonHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	srv grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	tc, err := resolveToolchain(info)
	if err != nil {
		return err
	}
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	return tc.InstallDependencies(srv.Context(), dir, req.GetUseLanguageVersionTools(), true,
		streamWriter{send: srv.Send}, streamWriter{send: srv.Send, stderr: true})
}

func (h *pythonHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	about, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: about.PythonExecutable, Version: about.PythonVersion.String()}, nil
}

func (h *pythonHost) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}
EOF
}

build_langhost() {
  download_module "github.com/pulumi/pulumi/sdk/v3@v${PULUMI_VERSION}"
  copy_tree "$MOD_DIR" "$WORK/src/sdk"
  write_langhost_source "$WORK/src/langhost"
  cp "$WORK/src/sdk/go.sum" "$WORK/src/langhost/go.sum"
  run_step "go mod tidy (language host)" bash -c 'cd "$1" && "$2" mod tidy' _ "$WORK/src/langhost" "$GO"
  run_step "go build pulumi-language-python" bash -c 'cd "$1" && "$2" build -trimpath \
      -ldflags "$3 -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$4" \
      -o "$5" .' _ "$WORK/src/langhost" "$GO" "$LDFLAGS_STRIP" "$PULUMI_VERSION" "$OUT/bin/pulumi-language-python"
  local exec_script="$WORK/src/sdk/python/cmd/pulumi-language-python-exec"
  [ -f "$exec_script" ] || fail "find python/cmd/pulumi-language-python-exec in sdk/v3@v$PULUMI_VERSION" 1
  install -m 0755 "$exec_script" "$OUT/bin/pulumi-language-python-exec"
  local policy
  policy=$(find "$WORK/src/sdk/python" -type f -name 'pulumi-analyzer-policy-python' 2>/dev/null | head -n1)
  if [ -n "$policy" ]; then
    install -m 0755 "$policy" "$OUT/bin/pulumi-analyzer-policy-python"
  else
    log "  [$COMP] note: no pulumi-analyzer-policy-python in sdk/v3@v$PULUMI_VERSION (not shipped there)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Node.js language host
build_nodehost() {
  local src="$WORK/src/nodehost" bin="$OUT/bin/pulumi-language-nodejs"
  mkdir -p "$src"
  cp "${NODEHOST_SOURCES[@]}" "$src/"
  # Build against the pinned Pulumi version whatever go.mod was last checked in with; when they
  # agree (the usual case) tidy changes nothing and the checked-in go.sum pins every module.
  run_step "go mod edit + tidy (pulumi sdk/v3 and pkg/v3 at v$PULUMI_VERSION)" bash -c 'cd "$1" &&
      "$2" mod edit -require="github.com/pulumi/pulumi/sdk/v3@v$3" -require="github.com/pulumi/pulumi/pkg/v3@v$3" &&
      "$2" mod tidy' _ "$src" "$GO" "$PULUMI_VERSION"
  run_step "go build pulumi-language-nodejs" bash -c 'cd "$1" && "$2" build -trimpath \
      -ldflags "$3 -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$4" \
      -o "$5" .' _ "$src" "$GO" "$LDFLAGS_STRIP" "$PULUMI_VERSION" "$bin"
  run_step "smoke test: pulumi-language-nodejs -version" bash -c '[ "$("$1" -version)" = "v$2" ]' \
    _ "$bin" "$PULUMI_VERSION"
  # Started without an engine, the host must serve gRPC and print its port as its first line.
  run_step "smoke test: pulumi-language-nodejs serves and prints its port" bash -c '"$1" >"$2" 2>&1 & pid=$!
      for _ in $(seq 100); do grep -qE "^[0-9]+$" "$2" && break; sleep 0.1; done
      kill "$pid"; wait "$pid" || true
      grep -qE "^[0-9]+$" "$2"' _ "$bin" "$WORK/nodehost-port.out"
}

# ---------------------------------------------------------------------------------------------
# Kubernetes provider
build_kubernetes() {
  download_module "github.com/pulumi/pulumi-kubernetes/provider/v4@${PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION}" \
    "${PULUMI_KUBERNETES_PROVIDER_COMMIT:-}"
  copy_tree "$MOD_DIR" "$WORK/src/provider"
  # provider/v4's go.mod has `replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => ../sdk`.
  download_module "github.com/pulumi/pulumi-kubernetes/sdk/v4@v${PULUMI_KUBERNETES_VERSION}" \
    "${PULUMI_KUBERNETES_SDK_COMMIT:-}"
  copy_tree "$MOD_DIR" "$WORK/src/sdk"
  local cmd_dir="$WORK/src/provider/cmd/pulumi-resource-kubernetes"
  # main.go: //go:generate go run ./generate.go (VERSION env) -> schema-embed.json,
  # terraform-mapping-embed.json, both //go:embed'ed.
  run_step "go generate (embed versioned schema)" bash -c 'cd "$1" && VERSION="$3" "$2" generate .' \
    _ "$cmd_dir" "$GO" "$PULUMI_KUBERNETES_VERSION"
  if [ ! -s "$cmd_dir/schema-embed.json" ] || [ ! -s "$cmd_dir/terraform-mapping-embed.json" ]; then
    fail "check go generate output (schema-embed.json, terraform-mapping-embed.json)" 1
  fi
  run_step "go build ./cmd/pulumi-resource-kubernetes" bash -c 'cd "$1" && "$2" build -trimpath \
      -ldflags "$3 -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$4" \
      -o "$5" ./cmd/pulumi-resource-kubernetes' \
    _ "$WORK/src/provider" "$GO" "$LDFLAGS_STRIP" "$PULUMI_KUBERNETES_VERSION" "$OUT/bin/pulumi-resource-kubernetes"
}

# ---------------------------------------------------------------------------------------------
# Random provider
write_random_source() { # dir (gets shim/ and provider/), bridge module dir
  local d=$1 bridge=$2
  mkdir -p "$d/shim" "$d/provider/cmd/pulumi-tfgen-random" "$d/provider/cmd/pulumi-resource-random"
  # The shim lives under the upstream module path so Go's internal-package rule lets it import
  # github.com/terraform-providers/terraform-provider-random/internal/provider.
  cat >"$d/shim/go.mod" <<EOF
module github.com/terraform-providers/terraform-provider-random/shim

go 1.22.7

require github.com/terraform-providers/terraform-provider-random ${TF_PROVIDER_RANDOM_MODULE_VERSION}
EOF
  cat >"$d/shim/shim.go" <<'EOF'
// Package shim exposes the upstream terraform-provider-random plugin-framework provider.
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream random provider.
func NewProvider() tfpf.Provider { return provider.New() }
EOF
  {
    cat <<EOF
module keelson.local/pulumi-resource-random

go 1.25

require (
	github.com/pulumi/pulumi-terraform-bridge/v3 v${PULUMI_TERRAFORM_BRIDGE_VERSION}
	github.com/terraform-providers/terraform-provider-random/shim v0.0.0
)

replace github.com/terraform-providers/terraform-provider-random/shim => ../shim

// Non-local replace directives of the bridge's own go.mod (replaces only apply in the main module):
EOF
    grep -E '^replace [^ ]+ (v[^ ]+ )?=> [^./]' "$bridge/go.mod" || true
  } >"$d/provider/go.mod"
  cat >"$d/provider/provider.go" <<'EOF'
// Package random bridges the upstream Terraform random provider to Pulumi with the token layout
// of the published pulumi-random SDKs (random:index/randomX:RandomX). Generated by
// tools/bootstrap-pulumi.sh.
package random

import (
	"context"
	_ "embed"
	"errors"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is stamped at link time.
var Version = "0.0.0-dev"

//go:embed bridge-metadata.json
var metadata []byte

// Provider returns the bridge configuration for the random package.
func Provider() tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Description:  "A Pulumi package to safely use randomness in Pulumi programs.",
		Keywords:     []string{"pulumi", "random"},
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-random",
		Version:      Version,
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_string": {
				// Older states may lack the schema version marker; treat them as version 1.
				PreStateUpgradeHook: func(a tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
					if a.PriorStateSchemaVersion == 0 {
						return 1, a.PriorState, nil
					}
					return a.PriorStateSchemaVersion, a.PriorState, nil
				},
			},
			"random_bytes": {ComputeID: bytesID},
		},
		Python:                      &tfbridge.PythonInfo{RespectSchemaVersion: true},
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	prov.MustComputeTokens(tokens.SingleModule("random_", "index",
		func(module, name string) (string, error) {
			return tokens.MakeStandard("random")(module, "Random"+name)
		}))
	prov.MustApplyAutoAliases()
	return prov
}

// bytesID uses the (unwrapped) base64 value as the resource ID.
func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	b, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes: no base64 property in state")
	}
	if b.IsSecret() {
		b = b.SecretValue().Element
	}
	if !b.IsString() {
		return "", errors.New("random_bytes: base64 property is not a string")
	}
	return resource.ID(b.StringValue()), nil
}
EOF
  echo '{}' >"$d/provider/bridge-metadata.json"
  cat >"$d/provider/cmd/pulumi-tfgen-random/main.go" <<'EOF'
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	random "keelson.local/pulumi-resource-random"
)

func main() { tfgen.Main("random", random.Provider()) }
EOF
  cat >"$d/provider/cmd/pulumi-resource-random/main.go" <<'EOF'
package main

import (
	"context"
	_ "embed"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	random "keelson.local/pulumi-resource-random"
)

//go:embed schema.json
var schema []byte

func main() {
	pf.Main(context.Background(), "random", random.Provider(), pf.ProviderMetadata{PackageSchema: schema})
}
EOF
}

build_random() {
  download_module "github.com/terraform-providers/terraform-provider-random@${TF_PROVIDER_RANDOM_MODULE_VERSION}" \
    "${TF_PROVIDER_RANDOM_COMMIT:-}"
  local upstream=$MOD_DIR
  download_module "github.com/pulumi/pulumi-terraform-bridge/v3@v${PULUMI_TERRAFORM_BRIDGE_VERSION}" \
    "${PULUMI_TERRAFORM_BRIDGE_COMMIT:-}"
  local bridge=$MOD_DIR src="$WORK/src/random"
  write_random_source "$src" "$bridge"
  # Seed go.sum from the modules' own go.sum files (fewer checksum-database lookups).
  cp "$upstream/go.sum" "$src/shim/go.sum"
  cat "$bridge/go.sum" "$upstream/go.sum" | sort -u >"$src/provider/go.sum"
  run_step "go mod tidy (shim)" bash -c 'cd "$1" && "$2" mod tidy' _ "$src/shim" "$GO"
  run_step "go mod tidy (provider)" bash -c 'cd "$1" && "$2" mod tidy' _ "$src/provider" "$GO"
  run_step "go build pulumi-tfgen-random" bash -c 'cd "$1" && "$2" build -trimpath \
      -ldflags "-X keelson.local/pulumi-resource-random.Version=$3" -o "$4" ./cmd/pulumi-tfgen-random' \
    _ "$src/provider" "$GO" "$PULUMI_RANDOM_VERSION" "$WORK/pulumi-tfgen-random"
  run_step "generate schema.json + bridge-metadata.json" bash -c 'cd "$1" && \
      "$2" schema --out "$3" --skip-examples && mv "$3/bridge-metadata.json" "$1/bridge-metadata.json"' \
    _ "$src/provider" "$WORK/pulumi-tfgen-random" "$src/provider/cmd/pulumi-resource-random"
  [ -s "$src/provider/cmd/pulumi-resource-random/schema.json" ] || fail "check generated schema.json" 1
  run_step "go build pulumi-resource-random" bash -c 'cd "$1" && "$2" build -trimpath \
      -ldflags "$3 -X keelson.local/pulumi-resource-random.Version=$4" \
      -o "$5" ./cmd/pulumi-resource-random' \
    _ "$src/provider" "$GO" "$LDFLAGS_STRIP" "$PULUMI_RANDOM_VERSION" "$OUT/bin/pulumi-resource-random"
  cp "$src/provider/cmd/pulumi-resource-random/schema.json" "$OUT/schema.json"
}

# ---------------------------------------------------------------------------------------------
# YAML language host: the upstream command, built against the CLI's pkg/v3 and sdk/v3 (its go.mod
# requires older ones) with the CLI's flags, so both link one engine version and the packages the
# CLI build compiled (sdk/v3 and the third-party modules) come from the Go build cache.
build_yaml() {
  download_module "github.com/pulumi/pulumi-yaml@v${PULUMI_YAML_VERSION}" "${PULUMI_YAML_COMMIT:-}"
  copy_tree "$MOD_DIR" "$WORK/src/yaml"
  run_step "go get pkg/v3 and sdk/v3 v$PULUMI_VERSION" bash -c 'cd "$1" && "$2" get \
      "github.com/pulumi/pulumi/pkg/v3@v$3" "github.com/pulumi/pulumi/sdk/v3@v$3"' \
    _ "$WORK/src/yaml" "$GO" "$PULUMI_VERSION"
  run_step "go build ./cmd/pulumi-language-yaml" bash -c 'cd "$1" && "$2" build -trimpath \
      -ldflags "$3 -X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$4" \
      -o "$5" ./cmd/pulumi-language-yaml' \
    _ "$WORK/src/yaml" "$GO" "$LDFLAGS_STRIP" "$PULUMI_YAML_VERSION" "$OUT/bin/pulumi-language-yaml"
  run_step "check: it links pkg/v3 and sdk/v3 v$PULUMI_VERSION" bash -c '"$2" version -m "$1" | awk -v v="v$3" \
      '\''$1 == "dep" && ($2 == "github.com/pulumi/pulumi/pkg/v3" || $2 == "github.com/pulumi/pulumi/sdk/v3") {
        print; if ($3 == v) n++ } END { exit n != 2 }'\''' _ "$OUT/bin/pulumi-language-yaml" "$GO" "$PULUMI_VERSION"
  # Started without an engine address, a language host serves gRPC and prints its port.
  run_step "smoke test: pulumi-language-yaml starts and prints its port" bash -c '"$1" >"$2" & pid=$!
      for _ in $(seq 100); do grep -Eq "^[0-9]+$" "$2" && break; sleep 0.1; done
      kill "$pid"; wait "$pid" 2>/dev/null; cat "$2"; grep -Eq "^[0-9]+$" "$2"' \
    _ "$OUT/bin/pulumi-language-yaml" "$WORK/yaml-port"
}

# ---------------------------------------------------------------------------------------------
TOTAL_START=$SECONDS
install_component "$K_PULUMI" "pulumi CLI: github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION ./cmd/pulumi" build_pulumi
install_component "$K_LANG" "python language host on github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" build_langhost
install_component "$K_K8S" "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION as $PULUMI_KUBERNETES_VERSION" build_kubernetes
install_component "$K_RANDOM" "random provider $PULUMI_RANDOM_VERSION from terraform-provider-random@$TF_PROVIDER_RANDOM_MODULE_VERSION + bridge v$PULUMI_TERRAFORM_BRIDGE_VERSION" build_random
if [ "$EXTRA_FLAG_SET" = 1 ]; then
  install_component "$K_NODE" "Node.js language host (tools/pulumi-language-nodejs) on github.com/pulumi/pulumi/sdk/v3 + pkg/v3@v$PULUMI_VERSION" build_nodehost
  install_component "$K_YAML" "yaml language host: github.com/pulumi/pulumi-yaml@v$PULUMI_YAML_VERSION on pkg/v3 + sdk/v3 v$PULUMI_VERSION" build_yaml
fi

# shellcheck disable=SC2034  # STEP names the step in lib/bootstrap-common.sh failure reports
COMP=bin DESC="assemble $BIN_DIR" STEP="assembling $BIN_DIR" STEP_LABEL=bin
if bin_complete; then
  log "[bin] up to date ($BIN_DIR)"
else
  rm -rf "$BIN_DIR" "$CACHE"/.tmp-bin.* 2>/dev/null || true
  WORK=$(mktemp -d "$CACHE/.tmp-bin.XXXXXX")
  chmod 755 "$WORK"
  for key in "${COMPONENTS[@]}"; do
    for f in "$CACHE/$key/bin/"*; do
      ln -f "$f" "$WORK/" 2>/dev/null || cp -p "$f" "$WORK/" || fail "link $f into bin dir" 1
    done
    printf '%s\n' "$key" >>"$WORK/COMPONENTS"
  done
  mv -T "$WORK" "$BIN_DIR" || fail "move bin dir into place" 1
  WORK=""
  bin_complete || fail "verify bin dir contents (${REQUIRED_EXES[*]})" 1
  log "[bin] assembled $BIN_DIR"
fi

for t in "${TIMINGS[@]}"; do log "time: $t"; done
log "time: total $((SECONDS - TOTAL_START))s"
printf 'KEELSON_PULUMI_BIN=%s\n' "$BIN_DIR"
