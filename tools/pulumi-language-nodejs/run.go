package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// runModule is the @pulumi/pulumi entry that connects to the engine and loads the program; it is
// resolved from the program directory, so the program's own SDK version runs it.
const runModule = "@pulumi/pulumi/cmd/run"

// exitAfterUserMessage is the exit code @pulumi/pulumi uses after it has shown the user an error:
// the engine then stops without adding a message of its own.
const exitAfterUserMessage = 32

// Run executes the program: node <cmd/run> --monitor ... --engine ... <entry point> <args...>.
//
// The SDK talks to the engine's resource monitor directly. (The upstream host puts a forwarding
// monitor and a pair of pipes in between, for the SDK's old synchronous invokes; @pulumi/pulumi
// 3.x no longer uses them, and without --sync it never asks for them.)
func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, errNoProgramInfo
	}
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "this language host does not support attaching a debugger"}, nil
	}
	opts, err := parseOptions(info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on $PATH: " + err.Error()}, nil
	}
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH") // as upstream: for testing an SDK checkout
	if runPath == "" {
		runPath = runModule
	}
	runPath, err = resolveModule(ctx, node, info.GetProgramDirectory(), runPath)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runPath)
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddress)
	flagArg("organization", req.GetOrganization())
	flagArg("project", req.GetProject())
	flagArg("root-directory", info.GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "." // package.json "main", or index
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := programEnv(req, opts)
	if err != nil {
		return nil, err
	}

	// Stop the program on the Cancel RPC or when the engine abandons the request: an interrupt
	// first, so the SDK can finish its in-flight registrations, then a kill.
	cmdCtx, cmdCancel := context.WithCancel(h.cancelCtx)
	defer cmdCancel()
	stopWatch := context.AfterFunc(ctx, cmdCancel)
	defer stopWatch()
	cmd := exec.CommandContext(cmdCtx, node, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = info.GetProgramDirectory()
	cmd.Env = env
	// node may switch its stdio to non-blocking mode; handing it our own os.Stdout/os.Stderr
	// would then make the host's later writes fail with EAGAIN. Wrapping them in a plain Writer
	// makes exec copy through pipes instead (and Wait waits for the copies).
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("language host launching: %s %s", node, strings.Join(args, " "))

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run node: %v", err)}, nil
		}
		switch code := exitErr.ExitCode(); code {
		case exitAfterUserMessage:
			return &pulumirpc.RunResponse{Bail: true}, nil
		case -1:
			return &pulumirpc.RunResponse{Error: "program was stopped: " + exitErr.Error()}, nil
		default:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
		}
	}
	return &pulumirpc.RunResponse{}, nil
}

// programEnv is the host's environment plus what @pulumi/pulumi reads at startup: the stack's
// config and its secret keys (JSON), and the TypeScript switches from the runtime options.
func programEnv(req *pulumirpc.RunRequest, opts nodeOptions) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("serializing config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing config secret keys: %w", err)
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env, nil
}

// resolveModule asks node where `require(module)` leads from dir, so that workspaces, hoisting
// and NODE_PATH resolve the way they will when the program runs.
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	moduleJSON, err := json.Marshal(module)
	if err != nil {
		return "", err
	}
	script := "try { console.log(require.resolve(" + string(moduleJSON) + ")); } " +
		"catch (e) { console.error(e.code === 'MODULE_NOT_FOUND' ? " +
		"'The Pulumi Node.js SDK (@pulumi/pulumi) is not installed here: run `pulumi install` or `npm install`.' " +
		": e.message); process.exit(1); }"
	cmd := exec.CommandContext(ctx, node, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
			return "", errors.New(strings.TrimSpace(string(exitErr.Stderr)))
		}
		return "", fmt.Errorf("resolving %s from %s: %w", module, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}
