package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// InstallDependencies installs the program's (or a plugin's) node_modules with its package
// manager: `npm install` unless the `packagemanager` option or a yarn/pnpm/bun lock file says
// otherwise, from the npm/yarn/pnpm workspace root when the program is part of one. (.nvmrc /
// .node-version files are not acted on: the node on $PATH is used.)
func (h *nodeHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	srv grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	opts, err := parseOptions(info)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(srv, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()

	dir := info.GetProgramDirectory()
	root, err := npm.FindWorkspaceRoot(dir)
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "Detected workspace root at %s\n", root)
		dir = root
	case !errors.Is(err, npm.ErrNotInWorkspace):
		return fmt.Errorf("looking for a workspace root above %s: %w", dir, err)
	}
	fmt.Fprintln(stdout, "Installing dependencies...")
	fmt.Fprintln(stdout)
	name, err := npm.Install(srv.Context(), opts.packagemanager, dir, opts.production, stdout, stderr)
	if err != nil {
		return fmt.Errorf("%s install failed in %s: %w", name, dir, err)
	}
	fmt.Fprintln(stdout, "Finished installing dependencies")
	fmt.Fprintln(stdout)
	return closer.Close()
}

// About reports node's path and version, the package manager and the TypeScript the program
// would load (resolved from the program directory, as at run time).
func (h *nodeHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	info := req.GetInfo()
	opts, err := parseOptions(info)
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on $PATH: %w", err)
	}
	resp := &pulumirpc.AboutResponse{Executable: node, Metadata: map[string]string{}}
	if out, err := exec.CommandContext(ctx, node, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	if pm, err := npm.ResolvePackageManager(opts.packagemanager, info.GetProgramDirectory()); err == nil {
		resp.Metadata["packagemanager"] = pm.Name()
		if v, err := pm.Version(); err == nil {
			resp.Metadata["packagemanagerVersion"] = v.String()
		}
	}
	cmd := exec.CommandContext(ctx, node, "-e", "console.log(require('typescript/package.json').version)")
	cmd.Dir = info.GetProgramDirectory()
	if out, err := cmd.Output(); err == nil {
		resp.Metadata["typescriptVersion"] = strings.TrimSpace(string(out))
	}
	return resp, nil
}

// GetProgramDependencies lists the installed packages, from the package manager's lock file.
func (h *nodeHost) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	info := req.GetInfo()
	opts, err := parseOptions(info)
	if err != nil {
		return nil, err
	}
	pm, err := npm.ResolvePackageManager(opts.packagemanager, info.GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	pkgs, err := pm.ListPackages(ctx, info.GetProgramDirectory(), req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("listing node dependencies: %w", err)
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}
