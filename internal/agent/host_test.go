package agent

import (
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/agenttest"
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

func newAgentHost(t *testing.T, extra ...string) *agentHost {
	t.Helper()
	h := &agentHost{t: t, root: t.TempDir(), environ: agenttest.Environ()}
	agenttest.Host(t, h.root, extra...)
	h.load()
	return h
}

// load reads the settings as the agent will.
func (h *agentHost) load() { h.cfg = agenttest.Load(h.t, h.root, h.environ) }

func (h *agentHost) write(rel, content string) { agenttest.Write(h.t, h.root, rel, content) }

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
