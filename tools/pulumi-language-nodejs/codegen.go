package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/pkg/v3/codegen/cgstrings"
	nodegen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/fsutil"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// GeneratePackage writes a Node.js SDK for a package schema into req.Directory with the upstream
// generator (pkg/v3 codegen/nodejs), as `pulumi package gen-sdk --language nodejs` and
// `pulumi package add` ask for. Schemas the package references are loaded through the engine's
// schema loader at req.LoaderTarget.
func (h *nodeHost) GeneratePackage(ctx context.Context,
	req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)

	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("parsing package schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, cached, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
	}
	files, err := nodegen.GeneratePackage("pulumi-language-nodejs", pkg, req.GetExtraFiles(),
		req.GetLocalDependencies(), req.GetLocal(), cached)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		path := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
}

// Link makes generated SDKs dependencies of the program (`pulumi package add`): for each, a
// `"<npm name>": "file:<path>"` entry in package.json through the package manager (npm also
// allow-lists the SDK's install script, which compiles it). The engine then runs
// InstallDependencies. The answer tells the user how to import the SDKs.
func (h *nodeHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	info := req.GetInfo()
	opts, err := parseOptions(info)
	if err != nil {
		return nil, err
	}
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)
	pm, err := npm.ResolvePackageManager(opts.packagemanager, info.GetProgramDirectory())
	if err != nil {
		return nil, err
	}

	// TypeScript (or ES module) programs get `import * as`, CommonJS ones `require`.
	typescript := opts.typescript || opts.tsconfig != ""
	if _, err := fsutil.Searchup(info.GetProgramDirectory(), "tsconfig.json"); err == nil {
		typescript = true
	}
	moduleSyntax := typescript
	if !moduleSyntax {
		if manifest, err := npm.SearchupPackageManifest(info.GetProgramDirectory()); err == nil {
			if data, _, err := npm.ReadPackageManifest(filepath.Dir(manifest)); err == nil && data["type"] == "module" {
				moduleSyntax = true
			}
		}
	}

	var imports strings.Builder
	for _, dep := range req.GetPackages() {
		desc, err := schemaDescriptor(dep.GetPackage())
		if err != nil {
			return nil, err
		}
		ref, err := schema.LoadPackageReferenceV2(ctx, cached, desc)
		if err != nil {
			return nil, err
		}
		pkg, err := ref.Definition()
		if err != nil {
			return nil, err
		}
		if err := pkg.ImportLanguages(map[string]schema.Language{"nodejs": nodegen.Importer}); err != nil {
			return nil, err
		}
		npmName := npmPackageName(pkg)
		if err := pm.Link(ctx, info.GetProgramDirectory(), npmName, dep.GetPath()); err != nil {
			return nil, err
		}
		ident := cgstrings.Camel(ref.Name())
		if moduleSyntax {
			fmt.Fprintf(&imports, "  import * as %s from %q;\n", ident, npmName)
		} else {
			fmt.Fprintf(&imports, "  const %s = require(%q);\n", ident, npmName)
		}
	}
	lang := "JavaScript"
	if typescript {
		lang = "TypeScript"
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your " + lang + " code with:\n\n" + imports.String(),
	}, nil
}

// schemaDescriptor turns the engine's package dependency into a schema loader request.
func schemaDescriptor(p *pulumirpc.PackageDependency) (*schema.PackageDescriptor, error) {
	desc := &schema.PackageDescriptor{Name: p.GetName(), DownloadURL: p.GetServer()}
	if p.GetVersion() != "" {
		v, err := semver.ParseTolerant(p.GetVersion())
		if err != nil {
			return nil, fmt.Errorf("package %s: version %q: %w", p.GetName(), p.GetVersion(), err)
		}
		desc.Version = &v
	}
	if param := p.GetParameterization(); param != nil {
		desc.Parameterization = &schema.ParameterizationDescriptor{Name: param.GetName(), Value: param.GetValue()}
		if param.GetVersion() != "" {
			v, err := semver.ParseTolerant(param.GetVersion())
			if err != nil {
				return nil, fmt.Errorf("package %s: version %q: %w", param.GetName(), param.GetVersion(), err)
			}
			desc.Parameterization.Version = v
		}
	}
	return desc, nil
}

// npmPackageName is the schema's nodejs.packageName, else @<namespace>/<name>, else @pulumi/<name>
// (the names the generator gives the SDK's package.json).
func npmPackageName(pkg *schema.Package) string {
	if info, ok := pkg.Language["nodejs"].(nodegen.NodePackageInfo); ok && info.PackageName != "" {
		return info.PackageName
	}
	if pkg.Namespace != "" {
		return "@" + pkg.Namespace + "/" + pkg.Name
	}
	return "@pulumi/" + pkg.Name
}
