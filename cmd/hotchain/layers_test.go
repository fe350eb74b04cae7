package main

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The layers of the import graph (README, "How it fits together"): every package of the
// module is in one, so that a new package has to be placed.
const module = "github.com/hotchain/hotchain/"

var (
	// top imports what it needs.
	layerTop = []string{"cmd/hotchain", "bench", "bench/internal/measure", "bench/internal/input"}
	// host runs on every host and imports nothing of vendor, directly or not.
	layerHost = []string{
		"hotfix/applier", "hotfix/applier/appliertest", "hotfix/dryrun", "hotfix/journal", "hotfix/plan", "hotfix/removal", "hotfix/script", "hotfix/state",
		"repo/dnf", "lock", "mailer", "sysconfig", "packaging/unpack",
		"internal/agent", "internal/agent/agenttest", "internal/agent/daemon", "internal/agent/drop", "internal/agent/hostpolicy", "internal/agent/intake", "internal/agent/notify",
		"internal/agent/report",
		"internal/hoststate", "internal/hoststatus",
	}
	// vendor builds and publishes; it may use the model (hotfix's versions and directory)
	// and the host side's formats (sysconfig's product names).
	layerVendor = []string{"packaging", "packaging/treediff", "repo", "repo/bundle", "repo/rpmfile", "repo/rpmmd"}
	// shared sits between the two sides and the leaves, and imports nothing of either side:
	// hotfix is the model of a hotfix chain that both sides use.
	layerShared = []string{"hotfix", "internal/rollout"}
	// leaf packages import no package of the module outside internal/ (nor each other
	// outside it).
	layerLeaf = []string{
		"internal/atomicfile", "internal/boundedio", "internal/hint", "internal/cli", "internal/fileops", "internal/filetrust",
		"internal/history", "internal/ordered", "internal/rawfs", "internal/repoconf", "internal/sign", "internal/testutil",
		"repo/compress", "sysconfig/shellword", "sysconfig/window",
	}
)

// TestImportLayers: the host side imports nothing of the vendor side, directly or
// through another package; the shared packages (the model) import only each other and
// leaves, so the vendor side, which uses the model, never pulls in the applier; leaves
// import only leaves under internal/; and the agent's files (internal/agent and its
// sub-packages, which are on the host side, and the agent command's agent*.go in
// cmd/hotchain) import neither repo nor packaging (only their host parts, repo/dnf and
// packaging/unpack). It reads the graph as `go list` shows it.
func TestImportLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("go list of the whole module")
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{} // module-relative path -> module packages it depends on
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		var own []string
		for _, d := range f[1:] {
			if rel, ok := strings.CutPrefix(d, module); ok {
				own = append(own, rel)
			}
		}
		deps[strings.TrimPrefix(f[0], module)] = own
	}
	in := func(layer []string, p string) bool { return slices.Contains(layer, p) }
	for p, ds := range deps {
		switch {
		case in(layerHost, p):
			for _, d := range ds {
				if in(layerVendor, d) {
					t.Errorf("host package %s depends on vendor package %s", p, d)
				}
			}
		case in(layerLeaf, p):
			for _, d := range ds {
				if !in(layerLeaf, d) || !strings.HasPrefix(d, "internal/") {
					t.Errorf("leaf package %s depends on %s, which is not a leaf under internal/", p, d)
				}
			}
		case in(layerShared, p):
			for _, d := range ds {
				if !in(layerShared, d) && !in(layerLeaf, d) {
					t.Errorf("shared package %s depends on %s, which is neither shared nor a leaf", p, d)
				}
			}
		case in(layerTop, p), in(layerVendor, p):
		default:
			t.Errorf("package %s is in no layer: add it to one in layers_test.go (and to the README's package table)", p)
		}
	}
	for _, layer := range [][]string{layerTop, layerHost, layerVendor, layerShared, layerLeaf} {
		for _, p := range layer {
			if _, ok := deps[p]; !ok {
				t.Errorf("layers_test.go names %s, which go list does not list", p)
			}
		}
	}

	// The agent's files, one by one: the agent runs on the host.
	files, err := filepath.Glob("agent*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no agent files: %v", err)
	}
	for _, glob := range []string{"*.go", "*/*.go"} { // internal/agent and its sub-packages
		run, err := filepath.Glob(filepath.Join(moduleRoot(t), "internal", "agent", glob))
		if err != nil || len(run) == 0 {
			t.Fatalf("no files in internal/agent (%s): %v", glob, err)
		}
		files = append(files, run...)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rel, ok := strings.CutPrefix(path, module); ok && in(layerVendor, rel) {
				t.Errorf("%s imports %s, a vendor package", name, path)
			}
		}
	}
}
