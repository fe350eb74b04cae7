package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/lock"
)

// interruptApply applies hotfix v on the agent host in-process and stops it (a panic out of
// the step hook, as a crash would) at its first step named step: the journal stays in the
// state it had there.
func (h *agentHost) interruptApply(t *testing.T, v, step string) {
	t.Helper()
	ver, err := hotfix.ParseHotfixVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	host := &applier.Host{Cfg: h.cfg, Environ: h.environ, StepHook: func(s string) {
		if s == step {
			panic("crash")
		}
	}}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatalf("apply of %s did not reach step %q", v, step)
			}
		}()
		host.Apply(context.Background(), host.HotfixDir(ver), applier.ApplyOptions{})
	}()
}

func TestAgentReportsWhatItRecovered(t *testing.T) {
	h := newAgentHost(t)
	h.write("fakepm.rpmdb", "shop-hotfix-6_14_2_1\n") // installed with the apply deferred
	h.interruptApply(t, "6.14.2.1", "state scripts")

	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	line := "finished the interrupted apply of 6.14.2.1 (it stopped in state scripts)"
	for _, want := range []string{
		"[shop-hotfix] myhost: 1 hotfix recovered, 2 hotfixes installed\n",
		"\nRecovered: " + line + "\nInstalled: 6.14.2.2 6.14.2.3\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if len(h.syslog) != 2 || h.syslog[0] != "shop-hotfix failed=false: recovered: "+line {
		t.Errorf("syslog %q", h.syslog)
	}
	if got := h.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("ledger %q", got)
	}
	if l, err := hoststate.ReadLastRun(h.cfg); err != nil || len(l.Recovered) != 1 || l.Recovered[0] != line {
		t.Errorf("last run %+v, %v", l, err)
	}

	// The next run has nothing to recover and says nothing of it.
	code, stdout, _ = h.run(h.options(agent.ModeConsole))
	if code != 0 || strings.Contains(stdout, "recover") {
		t.Errorf("second run: exit %d:\n%s", code, stdout)
	}
}

// An interrupted apply that the health check rejects when recovery finishes it: rolled back,
// out of the rpm database with the hotfix after it that was unpacked, exit 5, and the run
// installs nothing.
func TestAgentRecoveryRollsBackAHotfixThatFailsItsCheck(t *testing.T) {
	h := newAgentHost(t, `HEALTH_CMD="test -f `+t.TempDir()+`/healthy"`, "HEALTH_RETRIES=1")
	h.environ = append(h.environ, "SUDO_USER=alice", "LOGNAME=root")
	before := testutil.Snapshot(t, h.root, true, "opt/shop")
	h.write("fakepm.rpmdb", "shop-hotfix-6_14_2_1\nshop-hotfix-6_14_2_2\n")
	h.interruptApply(t, "6.14.2.1", "state check")

	code, stdout, stderr := h.run(h.options(agent.ModeConsole))
	if code != cli.ExitHealth {
		t.Fatalf("exit %d, want %d:\n%s%s", code, cli.ExitHealth, stdout, stderr)
	}
	want := "Recovered: rolled back 6.14.2.1: its interrupted apply (it stopped in state check) was finished and failed its health check\n"
	if !strings.Contains(stdout, want) || !strings.Contains(stderr, "hotchain: recovery: hotfix 6.14.2.1 failed its health check test -f ") {
		t.Errorf("output lacks %q:\n%s%s", want, stdout, stderr)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, h.root, true, "opt/shop")); d != "" {
		t.Errorf("product tree after the rollback:\n%s", d)
	}
	if got, db := h.ledger("host1.txt"), h.rpmdb(); got != "" || db != "" {
		t.Errorf("ledger %q, rpm database %q", got, db)
	}
	if calls := h.calls(); count(calls, "install-start") != 0 || count(calls, "remove") != 1 {
		t.Errorf("fake calls %v: want one remove and no install", calls)
	}
	if len(h.syslog) != 2 || !strings.HasPrefix(h.syslog[0], "shop-hotfix failed=true: recovered: rolled back 6.14.2.1") {
		t.Errorf("syslog %q", h.syslog)
	}
	h.wantHistory("run-start console success user:alice",
		"health 6.14.2.1 failure user:alice", "rollback 6.14.2.1 success user:alice", "recover 6.14.2.1 failure user:alice",
		"remove 6.14.2.1 success user:alice",
		"run-end console failure user:alice")
}

// recover while another run holds LOCK_TS (an install, a product patch under hold): exit 3.
func TestRecoverCommandRefusesWhileLocked(t *testing.T) {
	h := newAgentHost(t)
	l := lock.New(h.cfg.InRoot(h.cfg.LockTS))
	if err := l.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	p := h.start(t, "recover", nil)
	if code := p.wait(t, 10*time.Second); code != cli.ExitLocked || !strings.Contains(p.stderr.String(), "a hotfix install or product patch is running") {
		t.Errorf("recover under a held LOCK_TS: exit %d: %s", code, &p.stderr)
	}
}
