// Keelson's Pulumi language host for Node.js (TypeScript and JavaScript programs).
//
// The upstream module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 cannot be
// fetched from the Go module proxy available to Keelson, so tools/bootstrap-pulumi.sh builds this
// small host instead, on the matching github.com/pulumi/pulumi/sdk/v3 and pkg/v3 modules.
//
// It serves the engine's LanguageRuntime gRPC service:
//
//   - Run starts `node <@pulumi/pulumi/cmd/run> <flags> <entry point>` from the program's own
//     node_modules; @pulumi/pulumi compiles TypeScript itself (ts-node with the program's
//     `typescript`, or the copies it vendors) when PULUMI_NODEJS_TYPESCRIPT=true.
//   - GetRequiredPackages (and the older GetRequiredPlugins) report the resource plugins the
//     program needs: every package.json under node_modules with `"pulumi": {"resource": true}`.
//   - InstallDependencies runs the project's package manager (`npm install` by default).
//   - About, GetProgramDependencies, GetPluginInfo, Handshake and Cancel.
//   - GeneratePackage (pkg/v3 codegen/nodejs) and Link, which `pulumi package add` and
//     `pulumi package gen-sdk --language nodejs` use to give a program a local SDK.
//
// Not implemented (the engine reports them as unsupported): RunPlugin (Node.js plugins and policy
// packs), GenerateProgram/GenerateProject (`pulumi convert`, `pulumi import --out`), Pack,
// Template and RuntimeOptionsPrompts (`pulumi new`), the bun runtime and debugger attachment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func main() {
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	runtimeName := flag.String("runtime", "nodejs", "JavaScript runtime; only `nodejs` is supported")
	showVersion := flag.Bool("version", false, "Print the plugin version and exit")
	logging.InitLogging(false, 0, false)
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this language host runs node only", *runtimeName))
	}

	// The engine passes its own gRPC address as the only positional argument (newer engines
	// send it again in Handshake).
	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	// Stop serving on an interrupt, or when the engine stops answering health checks, so that a
	// host whose engine died does not linger.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}
	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()

	host := newNodeHost(engineAddress, *tracing)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

// nodeHost implements pulumirpc.LanguageRuntimeServer; the embedded Unimplemented server answers
// the RPCs listed as not implemented in the package comment.
type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string

	// cancelled by the Cancel RPC: running programs get an interrupt.
	cancelCtx  context.Context
	cancelFunc context.CancelFunc
}

func newNodeHost(engineAddress, tracing string) *nodeHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &nodeHost{engineAddress: engineAddress, tracing: tracing, cancelCtx: ctx, cancelFunc: cancel}
}

func (h *nodeHost) Handshake(ctx context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *nodeHost) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *nodeHost) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelFunc()
	return &emptypb.Empty{}, nil
}

// errNoProgramInfo is returned by RPCs that need the program's directory and options.
var errNoProgramInfo = errors.New("the request carries no program info (engine too old for this language host)")
