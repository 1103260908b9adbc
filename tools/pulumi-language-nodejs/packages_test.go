package main

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The scan finds @pulumi packages with a plugin, third-party ones that name theirs, and a local SDK
// linked from node_modules even when its sdks/ directory sorts (and is walked) before node_modules.
func TestPluginScanFindsResourcePackages(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "package.json"), `{"name": "program", "pulumi": {"resource": true}}`)
	writeFile(t, filepath.Join(dir, "node_modules/@pulumi/kubernetes/package.json"),
		`{"name": "@pulumi/kubernetes", "version": "4.25.0", "pulumi": {"resource": true}}`)
	writeFile(t, filepath.Join(dir, "node_modules/@pulumi/pulumi/package.json"),
		`{"name": "@pulumi/pulumi", "version": "3.276.0"}`)
	writeFile(t, filepath.Join(dir, "node_modules/@acme/thing/package.json"),
		`{"name": "@acme/thing", "version": "1.2.3", "pulumi": {"resource": true, "name": "thing", "server": "https://example.com"}}`)
	writeFile(t, filepath.Join(dir, "node_modules/nested/node_modules/@pulumi/kubernetes/package.json"),
		`{"name": "@pulumi/kubernetes", "version": "4.25.0", "pulumi": {"resource": true}}`)
	writeFile(t, filepath.Join(dir, "a-sdks/greeter/package.json"),
		`{"name": "@pulumi/greeter", "version": "0.1.0", "pulumi": {"resource": true, "name": "greeter", "version": "0.1.0"}}`)
	if err := os.Symlink(filepath.Join(dir, "a-sdks/greeter"), filepath.Join(dir, "node_modules/@pulumi/greeter")); err != nil {
		t.Fatal(err)
	}
	// A loop must not hang the scan.
	if err := os.Symlink(dir, filepath.Join(dir, "node_modules/loop")); err != nil {
		t.Fatal(err)
	}

	s := &pluginScan{visited: map[visit]bool{}, seen: map[string]bool{}}
	s.walk(dir, false)
	var got []string
	for _, p := range s.packages {
		got = append(got, p.GetName()+"@"+p.GetVersion()+" "+p.GetServer())
	}
	sort.Strings(got)
	want := []string{"greeter@v0.1.0 ", "kubernetes@v4.25.0 ", "thing@v1.2.3 https://example.com"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// A third-party package that needs a plugin but does not name it is an error, not a guess.
func TestPluginNameOfThirdPartyPackageMustBeExplicit(t *testing.T) {
	if _, err := pluginName(packageJSON{Name: "@acme/thing"}); err == nil {
		t.Fatal("want an error for a third-party package without pulumi.name")
	}
	if name, err := pluginName(packageJSON{Name: "@pulumi/random"}); err != nil || name != "random" {
		t.Fatalf("got %q, %v", name, err)
	}
}
