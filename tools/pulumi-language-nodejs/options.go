package main

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// nodeOptions are the `runtime.options` of a `runtime: nodejs` Pulumi.yaml, with the defaults of
// the upstream host.
type nodeOptions struct {
	typescript     bool                   // typescript: compile .ts with ts-node (default true)
	tsconfig       string                 // tsconfig: path of the tsconfig.json to use
	nodeargs       []string               // nodeargs: extra node arguments, split at whitespace
	packagemanager npm.PackageManagerType // packagemanager: auto (default), npm, yarn, pnpm or bun
	production     bool                   // production: install without devDependencies
}

// parseOptions reads the runtime options of Pulumi.yaml from the request's program info (an error
// when the engine sent none).
func parseOptions(info *pulumirpc.ProgramInfo) (nodeOptions, error) {
	if info == nil {
		return nodeOptions{}, errNoProgramInfo
	}
	opts := nodeOptions{typescript: true, packagemanager: npm.AutoPackageManager}
	raw := info.GetOptions().AsMap()
	for key, value := range raw {
		var ok bool
		switch key {
		case "typescript":
			opts.typescript, ok = value.(bool)
		case "production":
			opts.production, ok = value.(bool)
		case "tsconfig":
			opts.tsconfig, ok = value.(string)
		case "nodeargs":
			var s string
			s, ok = value.(string)
			opts.nodeargs = strings.Fields(s)
		case "packagemanager":
			var s string
			if s, ok = value.(string); ok {
				switch pm := npm.PackageManagerType(s); pm {
				case npm.AutoPackageManager, npm.NpmPackageManager, npm.YarnPackageManager,
					npm.PnpmPackageManager, npm.BunPackageManager:
					opts.packagemanager = pm
				default:
					return opts, fmt.Errorf("runtime option packagemanager must be auto, npm, yarn, pnpm or bun, not %q", s)
				}
			}
		default:
			continue // options of other hosts or newer versions are ignored, as upstream does
		}
		if !ok {
			return opts, fmt.Errorf("runtime option %s has the wrong type (%T)", key, value)
		}
	}
	return opts, nil
}
