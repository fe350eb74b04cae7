package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
)

// The product is closed (PRE_HOOK to POST_HOOK) only while the hotfixes' files are placed
// and their scripts run: dnf's download and unpacking, the check of every hotfix directory
// and the first hotfix's backups come before PRE_HOOK.

// windowHost is an agent host whose hooks and Install scripts write one line each to an
// events file: what PRE_HOOK saw (the rpm database, the first hotfix's backups, the product
// file it replaces), then the scripts in the order they ran, then POST_HOOK.
func windowHost(t *testing.T) (*agentHost, string) {
	h := newAgentHost(t)
	events := h.path("events")
	hooks := h.path("hooks")
	fix1 := h.path("var/opt/shop/Patches/shop-hotfix-6.14.2.1")
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.1/FileChanges/lib/core.txt", "core 2\n")
	h.write("hooks/pre.sh", "#!/bin/sh\n"+
		"echo \"pre rpmdb=$(cat "+h.spec().State+" | tr '\\n' ' ')backup=$(cat "+fix1+"/Backup-host1/FileChanges/lib/core.txt) product=$(cat "+h.path("opt/shop/lib/core.txt")+")\" >> "+events+"\n")
	h.write("hooks/post.sh", "#!/bin/sh\necho \"post $HOTCHAIN_OUTCOME [$HOTCHAIN_INSTALLED]\" >> "+events+"\n")
	for n := 1; n <= 3; n++ {
		h.write(filepath.Join("var/opt/shop/Patches", "shop-hotfix-6.14.2."+string(rune('0'+n)), "Install/10-note.sh"),
			"echo \"script $HOTFIX_VERSION\" >> "+events+"\n")
	}
	h.write("etc/sysconfig/shop-hotfix", agentSettings+"PRE_HOOK="+hooks+"/pre.sh\nPOST_HOOK="+hooks+"/post.sh\n")
	h.load()
	return h, events
}

// ticking is a clock that moves 1.5 s every time it is read, from a Wednesday night.
func ticking() func() time.Time {
	t := time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(1500 * time.Millisecond)
		return t
	}
}

func TestPreHookRunsAfterTheUnpackAndBeforeTheFirstApply(t *testing.T) {
	h, events := windowHost(t)
	o := h.options(agent.ModeCron)
	o.Now = ticking()
	code, stdout, _ := h.run(o)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	got, _ := os.ReadFile(events)
	want := "pre rpmdb=shop-hotfix-6_14_2_1 shop-hotfix-6_14_2_2 shop-hotfix-6_14_2_3 backup=core product=core\n" +
		"script 6.14.2.1\nscript 6.14.2.2\nscript 6.14.2.3\n" +
		"post success [6.14.2.1 6.14.2.2 6.14.2.3]\n"
	if string(got) != want {
		t.Errorf("events:\n%s\nwant:\n%s", got, want)
	}
	// The clock is read when PRE_HOOK starts and when POST_HOOK ends: 1.5 s apart.
	if !strings.Contains(stdout, "\nThe product was closed for 1.5 s (PRE_HOOK to POST_HOOK).\n") {
		t.Errorf("report lacks the closed time:\n%s", stdout)
	}
	if len(h.syslog) != 1 || !strings.HasSuffix(h.syslog[0], ": 3 hotfixes installed; closed for 1.5 s (PRE_HOOK to POST_HOOK)") {
		t.Errorf("syslog %q", h.syslog)
	}
	if data, _ := os.ReadFile(h.path("opt/shop/lib/core.txt")); string(data) != "core 2\n" {
		t.Errorf("core.txt = %q", data)
	}
}

func TestFailedInstallClosesNothing(t *testing.T) {
	h, events := windowHost(t)
	h.editSpec(func(s *fakeSpec) { s.InstallFails = true })
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stdout)
	}
	if got, err := os.ReadFile(events); err == nil {
		t.Errorf("hooks or scripts ran after a failed install:\n%s", got)
	}
	if !strings.Contains(stdout, "  - install shop-hotfix-6_14_2_3: dnf install: exit status 1: Error: GPG check FAILED (nothing was applied; the product was not closed)\n") {
		t.Errorf("report:\n%s", stdout)
	}
	if strings.Contains(stdout, "closed for") || len(h.syslog) != 1 || strings.Contains(h.syslog[0], "closed for") {
		t.Errorf("a run that closed nothing reports a closed time:\n%s\nsyslog %q", stdout, h.syslog)
	}
	if got := h.ledger("host1.txt"); got != "" {
		t.Errorf("ledger %q", got)
	}
}

// A PRE_HOOK that fails leaves the hotfixes unpacked (the first one prepared): nothing is
// applied, POST_HOOK opens the product again, and the next run applies them.
func TestPreHookFailureAppliesNothing(t *testing.T) {
	h, events := windowHost(t)
	h.write("hooks/pre.sh", "#!/bin/sh\necho pre >> "+events+"\nexit 1\n")
	before, _ := os.ReadFile(h.path("opt/shop/lib/core.txt"))
	code, stdout, _ := h.run(h.options(agent.ModeConsole))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stdout)
	}
	if got, _ := os.ReadFile(events); string(got) != "pre\npost failure []\n" {
		t.Errorf("events %q", got)
	}
	if after, _ := os.ReadFile(h.path("opt/shop/lib/core.txt")); string(after) != string(before) || h.ledger("host1.txt") != "" {
		t.Errorf("after a failed PRE_HOOK: core.txt %q, ledger %q", after, h.ledger("host1.txt"))
	}
	if !strings.Contains(stdout, "The product was closed for") {
		t.Errorf("console output lacks the closed time:\n%s", stdout)
	}
	// The next run applies the chain: the prepared hotfix is still unpacked, not applied.
	h.write("hooks/pre.sh", "#!/bin/sh\n")
	if code, stdout, _ := h.run(h.options(agent.ModeConsole)); code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("next run: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
}
