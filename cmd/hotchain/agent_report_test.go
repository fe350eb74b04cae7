package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/testutil"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// What a run tells: the report, the ledger checks behind it, and the state file.

// The nightly report as crond (or MAILTO) gets it: subject line, then the body.
func TestReportGolden(t *testing.T) {
	h := newAgentHost(t)
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.3/Install/10-reindex.sh", "echo reindexed\n")
	_, stdout, _ := h.run(h.options(ModeCron))
	testutil.Golden(t, "testdata/agent/report-installed.txt", []byte(stdout))

	h = newAgentHost(t, "HOST_ROLE=alpha", `SECONDARY_HOSTS="sec1 sec2"`)
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.2/Install/10-reindex.sh", "echo reindex failed >&2; exit 2\n")
	_, stdout, _ = h.run(h.options(ModeCron))
	testutil.Golden(t, "testdata/agent/report-failed.txt", []byte(stdout))
}

func TestChainProblems(t *testing.T) {
	cfg := &sysconfig.Config{Product: "shop", Hostname: "h1", PatchesDir: "/p"}
	v := func(s string) hotfix.Version {
		x, err := hotfix.ParseHotfixVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	pkg := func(s string) dnf.Package {
		return dnf.Package{Name: hotfix.PackageName("shop", v(s)), Version: "1-0", Hotfix: v(s)}
	}
	vs := func(ss ...string) []hotfix.Version {
		var out []hotfix.Version
		for _, s := range ss {
			out = append(out, v(s))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		installed []dnf.Package
		applied   []hotfix.Version
		wanted    []hotfix.Version
		failed    hotfix.Version
		want      []string
	}{
		{"all good", []dnf.Package{pkg("1.0.1"), pkg("1.0.2")}, vs("1.0.1", "1.0.2"), vs("1.0.1", "1.0.2"), nil, nil},
		{"applied from a tarball, no package", nil, vs("1.0.1"), nil, nil, nil},
		{"apply did not run", []dnf.Package{pkg("1.0.1"), pkg("1.0.2")}, vs("1.0.1"), nil, nil,
			[]string{"hotfix 1.0.2 is installed (shop-hotfix-1_0_2-1-0) but not applied: its apply did not run; see /p/shop-hotfix-1.0.2/shop-hotfix-1.0.2-install-h1.log, then run hotchain apply /p/shop-hotfix-1.0.2"}},
		{"apply failed, the next waits", []dnf.Package{pkg("1.0.1"), pkg("1.0.2"), pkg("1.0.3")}, vs("1.0.1"), nil, v("1.0.2"),
			[]string{"hotfix 1.0.2 is installed (shop-hotfix-1_0_2-1-0) but not applied: its apply failed: migration failed; see /p/shop-hotfix-1.0.2/shop-hotfix-1.0.2-install-h1.log, then run hotchain apply /p/shop-hotfix-1.0.2",
				"hotfix 1.0.3 is installed (shop-hotfix-1_0_3-1-0) but not applied: it waits for 1.0.2; see /p/shop-hotfix-1.0.3/shop-hotfix-1.0.3-install-h1.log, then run hotchain apply /p/shop-hotfix-1.0.3"}},
		{"out of order", nil, vs("1.0.2", "1.0.1"), nil, nil,
			[]string{"hotfix 1.0.2 is applied out of order: 1.0.1 is not applied before it (h1.txt)"}},
		{"twice", nil, vs("1.0.1", "1.0.1"), nil, nil, []string{"hotfix 1.0.1 is applied twice (h1.txt)"}},
		{"not installed", []dnf.Package{pkg("1.0.1")}, vs("1.0.1"), vs("1.0.1", "1.0.2"), nil,
			[]string{"hotfix 1.0.2 was not installed although the package manager reported success"}},
	} {
		got := chainProblems(cfg, tc.installed, tc.applied, tc.wanted, tc.failed, errors.New("migration failed"))
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestLastRunIsWrittenAtomically(t *testing.T) {
	h := newAgentHost(t)
	if l, err := hoststate.ReadLastRun(h.cfg); l != nil || err != nil {
		t.Fatalf("before any run: %+v, %v", l, err)
	}
	h.run(h.options(ModeCheck))
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
