package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/sysconfig"
)

// agentHost is a sandbox host for the agent's unit tests: a root with the settings file,
// the product at 6.14.2 and hotfix directories 6.14.2.1 to 6.14.2.4 unpacked under
// PATCHES_DIR. The runs themselves, with a fake package manager, are tested through the
// command line in cmd/hotchain (agent_fake_test.go).
type agentHost struct {
	t       *testing.T
	root    string
	cfg     *sysconfig.Config
	environ []string
}

const agentSettings = `PRODUCT=shop
HOSTNAME=host1
SYSTEMNAME=myhost
RANDOMWAIT=0
MAILTO=
`

func newAgentHost(t *testing.T, extra ...string) *agentHost {
	t.Helper()
	h := &agentHost{t: t, root: t.TempDir()}
	h.write("etc/sysconfig/shop-hotfix", agentSettings+strings.Join(extra, "\n")+"\n")
	h.write("opt/shop/version.txt", "6.14.2\n")
	h.write("opt/shop/lib/core.txt", "core\n")
	for n := 1; n <= 4; n++ {
		dir := fmt.Sprintf("var/opt/shop/Patches/shop-hotfix-6.14.2.%d/", n)
		h.write(dir+"version.txt", fmt.Sprintf("6.14.2.%d\n", n))
		h.write(dir+fmt.Sprintf("FileChanges/lib/fix%d.txt", n), fmt.Sprintf("fix %d\n", n))
	}
	h.environ = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	h.load()
	return h
}

// load reads the settings as the agent will.
func (h *agentHost) load() {
	h.t.Helper()
	cfg, err := sysconfig.Load(h.root, "/etc/sysconfig/shop-hotfix", h.environ)
	if err != nil {
		h.t.Fatal(err)
	}
	h.cfg = cfg
}

func (h *agentHost) write(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

// options is a run at agentNow, a Wednesday.
func (h *agentHost) options(mode Mode) Options {
	return Options{Config: h.cfg, Mode: mode, Environ: h.environ, Now: func() time.Time { return agentNow }}
}

func mustVersion(t *testing.T, s string) hotfix.Version {
	t.Helper()
	v, err := hotfix.ParseHotfixVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
