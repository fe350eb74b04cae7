package applier

import (
	"bytes"
	"os"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier/appliertest"
	"github.com/hotchain/hotchain/sysconfig"
)

// testConfig is the settings of a sandbox host under root (appliertest.Config).
func testConfig(root, host string, role sysconfig.Role) *sysconfig.Config {
	return appliertest.Config(root, host, role)
}

// sandbox is a host root with a product tree at 6.14.2 (appliertest.Sandbox) and its Host.
type sandbox struct {
	t    *testing.T
	root string
	host *Host
	out  *bytes.Buffer
	box  *appliertest.Sandbox
}

var epoch = appliertest.Epoch

func newSandbox(t *testing.T, role sysconfig.Role) *sandbox {
	t.Helper()
	box := appliertest.New(t, role)
	return &sandbox{t: t, root: box.Root, out: box.Out, box: box,
		host: &Host{Cfg: box.Cfg, Out: box.Out, Environ: box.Environ}}
}

func (sb *sandbox) write(rel, content string, mode os.FileMode) {
	sb.t.Helper()
	sb.box.Write(rel, content, mode)
}

func (sb *sandbox) touchAll() {
	sb.t.Helper()
	sb.box.TouchAll()
}

// hotfixSpec describes a hotfix to lay out under PATCHES_DIR (appliertest.Hotfix).
type hotfixSpec struct {
	version string
	files   map[string]string // "FileChanges/lib/x.pm" -> content
	links   map[string]string // "FileChanges/lib/y.pm" -> target
	scripts map[string]string // "10-db.sh" -> shell text
}

func (sb *sandbox) makeHotfix(spec hotfixSpec) string {
	sb.t.Helper()
	return sb.box.MakeHotfix(appliertest.Hotfix{Version: spec.version, Files: spec.files, Links: spec.links, Scripts: spec.scripts})
}

var productTrees = appliertest.ProductTrees

func (sb *sandbox) ledger(name string) string { return sb.box.Ledger(name) }

func mustHotfix(t *testing.T, s string) hotfix.Version {
	t.Helper()
	v, err := hotfix.ParseHotfixVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustVersion(t *testing.T, s string) hotfix.Version {
	t.Helper()
	v, err := hotfix.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
