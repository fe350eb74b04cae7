package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/testutil"
)

// What a run tells: the report, the ledger checks behind it, and the state file.

// The nightly report as crond (or MAILTO) gets it: subject line, then the body.
func TestReportGolden(t *testing.T) {
	h := newAgentHost(t)
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.3/Install/10-reindex.sh", "echo reindexed\n")
	_, stdout, _ := h.run(h.options(agent.ModeCron))
	testutil.Golden(t, "testdata/agent/report-installed.txt", []byte(stdout))

	h = newAgentHost(t, "HOST_ROLE=alpha", `SECONDARY_HOSTS="sec1 sec2"`)
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.2/Install/10-reindex.sh", "echo reindex failed >&2; exit 2\n")
	_, stdout, _ = h.run(h.options(agent.ModeCron))
	testutil.Golden(t, "testdata/agent/report-failed.txt", []byte(stdout))
}

func TestLastRunIsWrittenAtomically(t *testing.T) {
	h := newAgentHost(t)
	if l, err := hoststate.ReadLastRun(h.cfg); l != nil || err != nil {
		t.Fatalf("before any run: %+v, %v", l, err)
	}
	h.run(h.options(agent.ModeCheck))
	l, err := hoststate.ReadLastRun(h.cfg)
	if err != nil || l.Mode != "check" || l.Outcome != "success" || strings.Join(l.Pending, " ") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("after -check: %+v, %v", l, err)
	}
	if !l.Time.Equal(time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC)) {
		t.Errorf("time %s", l.Time)
	}
	entries, _ := os.ReadDir(h.path("var/lib/shop-hotfix"))
	if len(entries) != 1 || entries[0].Name() != "last-run.json" {
		t.Errorf("STATE_DIR holds %v, want last-run.json only", entries)
	}
	h.write("var/lib/shop-hotfix/last-run.json", "{")
	if _, err := hoststate.ReadLastRun(h.cfg); err == nil || !strings.Contains(err.Error(), "last-run.json") {
		t.Errorf("broken state file: %v", err)
	}
	// A huge one (1 GiB, sparse) is refused, naming it and the limit, without reading it.
	if err := os.Truncate(h.path("var/lib/shop-hotfix/last-run.json"), 1<<30); err != nil {
		t.Fatal(err)
	}
	want := "last-run record " + h.path("var/lib/shop-hotfix/last-run.json") + " is larger than 1 MiB, the most hotchain reads of it: refused"
	if _, err := hoststate.ReadLastRun(h.cfg); err == nil || err.Error() != want {
		t.Errorf("huge state file: %v, want %q", err, want)
	}
}
