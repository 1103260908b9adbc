package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON is the part of a package.json the plugin scan reads.
type packageJSON struct {
	Name    string                  `json:"name"`
	Version string                  `json:"version"`
	Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
}

// GetRequiredPackages reports the resource plugins (and parameterized packages) the program
// needs: every package.json inside a node_modules directory below the program directory whose
// `pulumi` section says `"resource": true`. Errors in single files are logged, not returned, so
// a half-installed tree still yields what can be read (Run reports a missing SDK clearly).
func (h *nodeHost) GetRequiredPackages(ctx context.Context,
	req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	if req.GetInfo() == nil {
		return nil, errNoProgramInfo
	}
	s := &pluginScan{visited: map[visit]bool{}, seen: map[string]bool{}}
	s.walk(req.GetInfo().GetProgramDirectory(), false)
	for _, err := range s.errs {
		logging.V(3).Infof("GetRequiredPackages: %v", err)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: s.packages}, nil
}

// GetRequiredPlugins is the pre-package form of GetRequiredPackages, for older engines.
func (h *nodeHost) GetRequiredPlugins(ctx context.Context,
	req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram() //nolint:staticcheck // the field older engines fill in
	}
	s := &pluginScan{visited: map[visit]bool{}, seen: map[string]bool{}}
	s.walk(dir, false)
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range s.packages {
		if p.GetParameterization() == nil {
			resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
				Name: p.GetName(), Kind: p.GetKind(), Version: p.GetVersion(), Server: p.GetServer(),
			})
		}
	}
	return resp, nil
}

// visit is a directory's real path, and whether the walk reached it inside node_modules.
type visit struct {
	dir           string
	inNodeModules bool
}

type pluginScan struct {
	visited  map[visit]bool  // directories already walked (symlinks can loop)
	seen     map[string]bool // name@version/parameterization already reported
	packages []*pulumirpc.PackageDependency
	errs     []error
}

// walk descends through every directory below dir (following symlinks, as npm links local
// packages, e.g. the SDKs `pulumi package add` writes under sdks/) and reads the package.json
// files that sit inside node_modules. A directory seen outside node_modules is walked again when
// a node_modules link leads to it (sdks/x, then node_modules/@scope/x), never more. Nested policy
// packs are skipped: their plugins are not the program's.
func (s *pluginScan) walk(dir string, inNodeModules bool) {
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		s.errs = append(s.errs, err)
		return
	}
	key := visit{real, inNodeModules}
	if s.visited[key] {
		return
	}
	s.visited[key] = true
	entries, err := os.ReadDir(real)
	if err != nil {
		s.errs = append(s.errs, err)
		return
	}
	for _, entry := range entries {
		path := filepath.Join(real, entry.Name())
		isDir := entry.IsDir()
		if entry.Type()&os.ModeSymlink != 0 {
			fi, err := os.Stat(path)
			if err != nil {
				s.errs = append(s.errs, err)
				continue
			}
			isDir = fi.IsDir()
		}
		switch {
		case isDir:
			if pack, err := workspace.DetectPolicyPackPathAt(path); err != nil || pack != "" {
				continue
			}
			s.walk(path, inNodeModules || filepath.Base(real) == "node_modules")
		case inNodeModules && entry.Name() == "package.json":
			if err := s.read(path); err != nil {
				s.errs = append(s.errs, fmt.Errorf("%s: %w", path, err))
			}
		}
	}
}

func (s *pluginScan) read(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var info packageJSON
	if err := json.Unmarshal(b, &info); err != nil {
		return err
	}
	if !info.Pulumi.Resource {
		return nil
	}
	name, err := pluginName(info)
	if err != nil {
		return err
	}
	version := info.Pulumi.Version
	if version == "" {
		version = info.Version
	}
	if version == "" {
		return errors.New(`missing "version"`)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	dep := &pulumirpc.PackageDependency{Kind: "resource", Name: name, Version: version, Server: info.Pulumi.Server}
	key := name + "@" + version
	if p := info.Pulumi.Parameterization; p != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
		key += "/" + p.Name + "@" + p.Version
	}
	if p := info.Pulumi.ExtensionParameterization; p != nil {
		dep.Extension = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
		key += "+" + p.Name + "@" + p.Version
	}
	if !s.seen[key] {
		s.seen[key] = true
		s.packages = append(s.packages, dep)
	}
	return nil
}

// pluginName is `pulumi.name`, or for @pulumi/<x> packages <x>; other scoped or unscoped
// packages must name their plugin explicitly.
func pluginName(info packageJSON) (string, error) {
	if info.Pulumi.Name != "" {
		return info.Pulumi.Name, nil
	}
	if rest, ok := strings.CutPrefix(info.Name, "@pulumi/"); ok && rest != "" {
		return rest, nil
	}
	if info.Name == "" {
		return "", errors.New(`missing "name"`)
	}
	return "", fmt.Errorf(`package %s has "pulumi": {"resource": true} but no "pulumi": {"name": ...}`, info.Name)
}
