package main

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/testutil"
)

// machineSpace is the free space and the need (a block per entry) in a dry-run listing,
// which the machine decides.
var machineSpace = regexp.MustCompile(`(needs |, )([0-9.]+ [KMGT]iB|[0-9]+ bytes)( \(| free)`)

// TestCheckPlans: agent -check -v lists the whole plan of each unpacked hotfix, the second
// planned on the files the first places, and for a hotfix only offered says why its files
// are not known; it starts no package manager call that -check does not.
func TestCheckPlans(t *testing.T) {
	h := newAgentHost(t)
	ctx := context.Background()
	host := &applier.Host{Cfg: h.cfg, Environ: h.environ}
	if err := host.Apply(ctx, host.HotfixDir(mustVersion(t, "6.14.2.1")), applier.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	// 2 and 3 unpacked and not applied; 3 replaces what 2 adds; 4 offered, not unpacked.
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.2/Install/10-reindex.sh", "echo reindex\n")
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.3/FileChanges/lib/fix2.txt", "fix 2, fixed again\n")
	h.write("opt/shop/lib/fix1.txt", "changed by hand\n")
	h.write("fakepm.rpmdb", "shop-hotfix-6_14_2_1\nshop-hotfix-6_14_2_2\nshop-hotfix-6_14_2_3\n")
	if err := os.RemoveAll(h.path("var/opt/shop/Patches/shop-hotfix-6.14.2.4")); err != nil {
		t.Fatal(err)
	}
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })

	code, plain, _ := h.run(h.options(agent.ModeCheck))
	if code != 100 {
		t.Fatalf("-check: exit %d:\n%s", code, plain)
	}
	callsPlain := h.calls()
	o := h.options(agent.ModeCheck)
	o.Plans = true
	code, stdout, stderr := h.run(o)
	if code != 100 || stderr != "" {
		t.Fatalf("-check -v: exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, plain) {
		t.Errorf("-check -v does not start with what -check prints:\n%s\n---\n%s", stdout, plain)
	}
	got := strings.ReplaceAll(stdout, h.root, "ROOT")
	testutil.Golden(t, "testdata/agent/check-v.txt", []byte(machineSpace.ReplaceAllString(got, "${1}N$3")))
	if calls := h.calls()[len(callsPlain):]; !slices.Equal(calls, callsPlain) {
		t.Errorf("-check called %v, -check -v %v", callsPlain, calls)
	}
	if h.ledger("host1.txt") != "6.14.2.1" || cli.FileExists(h.path("var/opt/shop/Patches/shop-hotfix-6.14.2.2/Backup-host1.journal")) {
		t.Error("-check -v applied something")
	}

	withFakePM(t, h)
	if code, _, stderr := h.cli(nil, "agent", "-v", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"); code != 2 || !strings.Contains(stderr, "-v goes with -check") {
		t.Errorf("-v without -check: exit %d, %s", code, stderr)
	}
	if code, stdout, _ := h.cli(nil, "agent", "-check", "-v", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"); code != 100 || !strings.Contains(stdout, "hotfix 6.14.2.3 on host1 (single)") {
		t.Errorf("agent -check -v: exit %d:\n%s", code, stdout)
	}
}
