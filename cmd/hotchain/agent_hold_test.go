package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
)

// The rules that hold a pending hotfix back (agent_hold.go): each has a test where it holds
// one back and one where it lets it through. The agent's clock is agent.Options.Now, the one
// the product sets to time.Now; testClock moves it, and the random wait moves it too.

// agentNow is the Wednesday 04:02 UTC that agentHost.options runs at.
var agentNow = time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC)

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func (c *testClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

// withClock makes o run on c: its random wait passes on c.
func withClock(o agent.Options, c *testClock) agent.Options {
	o.Now, o.Sleep = c.now, c.sleep
	return o
}

// builtAgo gives the fake's hotfixes 1 to 3 build times, days before agentNow.
func builtAgo(days ...int) func(*fakeSpec) {
	return func(s *fakeSpec) {
		s.Built = map[string]time.Time{}
		for i, d := range days {
			s.Built["6.14.2."+string(rune('1'+i))] = agentNow.AddDate(0, 0, -d)
		}
	}
}

func TestMinAgeDaysHoldsTheChainBack(t *testing.T) {
	h := newAgentHost(t, "MIN_AGE_DAYS=7")
	h.editSpec(builtAgo(10, 3, 20))
	clock := &testClock{t: agentNow}

	code, stdout, stderr := h.run(withClock(h.options(agent.ModeCheck), clock))
	held := "Held back: 6.14.2.2 (MIN_AGE_DAYS=7: published 2026-11-22 04:02 UTC; due 2026-11-29 04:02 UTC)\n" +
		"Held back: 6.14.2.3 (follows 6.14.2.2; due 2026-11-29 04:02 UTC)\n"
	if code != 100 || !strings.HasSuffix(stdout, held) {
		t.Errorf("-check: exit %d, want 100 and the held-back hotfixes:\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = h.run(withClock(h.options(agent.ModeCron), clock))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1" {
		t.Fatalf("cron run: exit %d, ledger %q, want only 6.14.2.1:\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
	if !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 1 hotfix installed, 2 hotfixes held back\n") || !strings.Contains(stdout, held) {
		t.Errorf("report:\n%s", stdout)
	}
	code, stdout, _ = h.cli(nil, "status", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix")
	if code != 0 || !strings.Contains(stdout, "held back:     6.14.2.2 (MIN_AGE_DAYS=7: published 2026-11-22 04:02 UTC; due 2026-11-29 ") {
		t.Errorf("status: exit %d:\n%s", code, stdout)
	}

	// Four days later both are due.
	clock.t = agentNow.AddDate(0, 0, 4)
	code, stdout, stderr = h.run(withClock(h.options(agent.ModeCron), clock))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("cron run 4 days later: exit %d, ledger %q:\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
	if strings.Contains(stdout, "Held back") {
		t.Errorf("report still holds hotfixes back:\n%s", stdout)
	}
}

func TestMinAgeDaysWithoutPublishTimeHoldsBack(t *testing.T) {
	h := newAgentHost(t, "MIN_AGE_DAYS=1")
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "" || count(h.calls(), "install-start") != 0 {
		t.Fatalf("exit %d, ledger %q, calls %v:\n%s%s", code, h.ledger("host1.txt"), h.calls(), stdout, stderr)
	}
	if !strings.Contains(stdout, "Held back: 6.14.2.1 (MIN_AGE_DAYS=1: no signed publish time") || !strings.Contains(stdout, "; no date known)\n") {
		t.Errorf("report:\n%s", stdout)
	}
}

func TestCanaryIgnoresMinAgeDays(t *testing.T) {
	h := newAgentHost(t, "MIN_AGE_DAYS=7", "CANARY=yes")
	h.editSpec(builtAgo(10, 3, 0))
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" || strings.Contains(stdout, "Held back") {
		t.Errorf("canary: exit %d, ledger %q:\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
}

func TestInstallWindow(t *testing.T) {
	// agentNow is Wednesday 04:02 UTC, 05:02 CET in Berlin.
	for _, tc := range []struct {
		window  string
		outside string // "": open
	}{
		{"Sun-Thu 01:00-05:00 UTC", ""},
		{"Sun-Thu 01:00-04:00 UTC", "outside INSTALL_WINDOW (Sun-Thu 01:00-04:00 UTC): next window opens 2026-11-26 01:00 UTC"},
		{"Fri-Mon 01:00-05:00 UTC", "outside INSTALL_WINDOW (Fri-Mon 01:00-05:00 UTC): next window opens 2026-11-27 01:00 UTC"},
		// Crossing midnight, in another zone: Tuesday 23:00 to Wednesday 05:30 in Berlin.
		{"Tue 23:00-05:30 Europe/Berlin", ""},
		{"Tue 23:00-05:00 Europe/Berlin", "outside INSTALL_WINDOW (Tue 23:00-05:00 Europe/Berlin): next window opens 2026-12-01 23:00 CET"},
		{"Sat 22:00-02:00 UTC, Wed 04:00-04:30 Europe/London", ""},
	} {
		t.Run(tc.window, func(t *testing.T) {
			h := newAgentHost(t, `INSTALL_WINDOW="`+tc.window+`"`)
			code, stdout, stderr := h.run(h.options(agent.ModeCron))
			if code != 0 {
				t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
			}
			if tc.outside == "" {
				if h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
					t.Errorf("window open: ledger %q:\n%s", h.ledger("host1.txt"), stdout)
				}
				return
			}
			if calls := strings.Join(h.calls(), " "); calls != "available" || h.ledger("host1.txt") != "" {
				t.Errorf("window closed: calls %q, ledger %q; want only the check", calls, h.ledger("host1.txt"))
			}
			for _, want := range []string{
				"[shop-hotfix] myhost: 3 hotfixes held back, nothing installed (outside INSTALL_WINDOW)\n",
				"Nothing installed: " + tc.outside + "\n",
				"Held back: 6.14.2.1 (outside INSTALL_WINDOW; due ",
			} {
				if !strings.Contains(stdout, want) {
					t.Errorf("report lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

// A nightly run checks the window when it gets to the install: after its random wait.
func TestRandomWaitEndingAfterTheWindow(t *testing.T) {
	for _, tc := range []struct {
		wait    int64 // seconds past the first minute, as randN gives them
		install bool
	}{
		{0, true},        // 04:03: open
		{59 * 60, false}, // 05:02: closed
	} {
		h := newAgentHost(t, "RANDOMWAIT=60", `INSTALL_WINDOW="Wed 03:00-04:30 UTC"`)
		clock := &testClock{t: agentNow}
		o := withClock(h.options(agent.ModeCron), clock)
		o.RandN = func(int64) int64 { return tc.wait }
		code, stdout, stderr := h.run(o)
		if code != 0 {
			t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
		}
		installed := h.ledger("host1.txt") != ""
		if installed != tc.install {
			t.Errorf("wait until %s: installed %v, want %v:\n%s", clock.t.Format("15:04"), installed, tc.install, stdout)
		}
		if !tc.install && !strings.Contains(stdout, "Nothing installed: outside INSTALL_WINDOW (Wed 03:00-04:30 UTC): next window opens 2026-12-02 03:00 UTC\n") {
			t.Errorf("report:\n%s", stdout)
		}
	}
}

func TestConsoleIgnoresTheWindow(t *testing.T) {
	h := newAgentHost(t, `INSTALL_WINDOW="Sun 01:00-02:00 UTC"`)
	code, stdout, stderr := h.run(h.options(agent.ModeConsole))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("exit %d, ledger %q:\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
	if !strings.Contains(stdout, "==> -console ignores INSTALL_WINDOW (Sun 01:00-02:00 UTC), which is closed now: installing anyway\n") {
		t.Errorf("console output does not say that it ignored the window:\n%s", stdout)
	}
	// -check lists what the window holds back, and when it opens.
	h = newAgentHost(t, `INSTALL_WINDOW="Sun 01:00-02:00 UTC"`)
	code, stdout, _ = h.run(h.options(agent.ModeCheck))
	if code != 100 || !strings.Contains(stdout, "Held back: 6.14.2.1 (outside INSTALL_WINDOW; due 2026-11-29 01:00 UTC)\n") {
		t.Errorf("-check: exit %d:\n%s", code, stdout)
	}
}

// A secondary follows the alpha: what the installation's version.txt holds installs there
// however young it is, so that the installation does not fall apart.
func TestSecondaryFollowsTheAlphaNotMinAgeDays(t *testing.T) {
	h := newAgentHost(t, "HOST_ROLE=secondary", "MIN_AGE_DAYS=7")
	h.editSpec(builtAgo(1, 1, 1))
	h.write("etc/opt/shop/hotfix/version.txt", "6.14.2.1\n6.14.2.2\n")
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2" || strings.Contains(stdout, "Held back") {
		t.Errorf("secondary: exit %d, ledger %q:\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
}
