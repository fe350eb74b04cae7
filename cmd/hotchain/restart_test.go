package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
)

// restartCmd is a RESTART_CMD that appends what it was asked to restart to restart.log.
func restartCmd(h *agentHost, exit int) string {
	h.write("usr/local/bin/restart", "#!/bin/sh\necho \"$HOTCHAIN_RESTART|$HOTCHAIN_SERVICES|$PRODUCT\" >> "+h.path("restart.log")+"\nexit "+string(rune('0'+exit))+"\n")
	return "RESTART_CMD=" + h.path("usr/local/bin/restart")
}

// hotfixDir is the unpacked directory of 6.14.2.n in the sandbox.
func restartTxt(h *agentHost, n int, text string) {
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2."+string(rune('0'+n))+"/restart.txt", text)
}

// cliAt runs hotchain's command line in-process on this boot.
func (h *agentHost) cliAt(boot string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	e := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Environ: h.environ,
		BootID: func() (string, error) { return boot, nil }}
	args = append(args[:1:1], append([]string{"-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}, args[1:]...)...)
	code := report(&stderr, run(context.Background(), e, args))
	return code, stdout.String(), stderr.String()
}

func bootOf(id string) func() (string, error) { return func() (string, error) { return id, nil } }

// A hotfix whose restart.txt names a service: the install runs RESTART_CMD once, with the
// services of every hotfix the run applied, and nothing is left required.
func TestAgentRunsRestartCmdOnce(t *testing.T) {
	h := newAgentHost(t)
	restartTxt(h, 1, "services shop-web\n")
	restartTxt(h, 3, "# the worker reads the new queue layout\nservices shop-worker shop-web\n")
	h.write("etc/sysconfig/shop-hotfix", agentSettings+restartCmd(h, 0)+"\n")
	h.load()
	o := h.options(agent.ModeConsole)
	o.BootID = bootOf("boot-1")
	code, stdout, stderr := h.run(o)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	log, _ := os.ReadFile(h.path("restart.log"))
	if got := string(log); got != "services|shop-web shop-worker|shop\n" {
		t.Errorf("RESTART_CMD ran as %q, want once for shop-web shop-worker", got)
	}
	if _, err := os.Stat(h.path("var/lib/shop-hotfix/restart.json")); !os.IsNotExist(err) {
		t.Errorf("a done restart left restart.json: %v", err)
	}
	o = h.options(agent.ModeCheck)
	o.BootID = bootOf("boot-1")
	if code, out, errs := h.run(o); code != 0 {
		t.Errorf("agent -check after the restart: exit %d\n%s%s", code, out, errs)
	}
}

// Without RESTART_CMD, and for a reboot, the requirement is recorded: status shows it, the
// report's subject says it, agent -check exits 7 until hotchain restarted or a new boot.
func TestRestartRequiredUntilDone(t *testing.T) {
	h := newAgentHost(t, "MAILTO=")
	restartTxt(h, 2, "reboot\n")
	o := h.options(agent.ModeCron)
	o.BootID = bootOf("boot-1")
	code, stdout, stderr := h.run(o)
	if code != 0 || !strings.Contains(stdout, "3 hotfixes installed") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if subject, _, _ := strings.Cut(stdout, "\n"); !strings.Contains(subject, "reboot required") {
		t.Errorf("the report's subject %q does not say the reboot is required", subject)
	}
	check := func(boot string, want int) {
		t.Helper()
		o := h.options(agent.ModeCheck)
		o.BootID = bootOf(boot)
		if code, out, errs := h.run(o); code != want {
			t.Errorf("agent -check on %s: exit %d, want %d\n%s%s", boot, code, want, out, errs)
		}
	}
	check("boot-1", cli.ExitRestart)
	_, st, _ := h.cliAt("boot-1", "status")
	if !strings.Contains(st, "RESTART:       reboot required since") || !strings.Contains(st, "for 6.14.2.2") {
		t.Errorf("status does not show the reboot:\n%s", st)
	}
	// A new boot did it.
	check("boot-2", 0)
	if _, st, _ := h.cliAt("boot-2", "status"); strings.Contains(st, "RESTART") {
		t.Errorf("status after the reboot still shows it:\n%s", st)
	}

	// A product restart, recorded without RESTART_CMD, and cleared by hotchain restarted.
	restartTxt(h, 4, "product\n")
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	o = h.options(agent.ModeConsole)
	o.BootID = bootOf("boot-2")
	if code, out, errs := h.run(o); code != 0 {
		t.Fatalf("install 6.14.2.4: exit %d\n%s%s", code, out, errs)
	}
	check("boot-2", cli.ExitRestart)
	code, out, errs := h.cliAt("boot-2", "restarted")
	if code != 0 || out != "cleared: product restart required (6.14.2.4)\n" {
		t.Errorf("restarted: exit %d, %q %s", code, out, errs)
	}
	check("boot-2", 0)
	if _, out, _ := h.cliAt("boot-2", "restarted"); out != "no restart was required\n" {
		t.Errorf("restarted again: %q", out)
	}
}

// A RESTART_CMD that fails fails the run and leaves the restart required.
func TestRestartCmdFails(t *testing.T) {
	h := newAgentHost(t)
	restartTxt(h, 1, "product\n")
	h.write("etc/sysconfig/shop-hotfix", agentSettings+restartCmd(h, 3)+"\n")
	h.load()
	o := h.options(agent.ModeConsole)
	o.BootID = bootOf("boot-1")
	code, _, stderr := h.run(o)
	if code != cli.ExitFailure || !strings.Contains(stderr, "RESTART_CMD failed, the product restart is still required") || !strings.Contains(stderr, "hint: restart it by hand, then run hotchain restarted") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, st, _ := h.cliAt("boot-1", "status", "-json"); !strings.Contains(st, `"kind": "product"`) || !strings.Contains(st, `"error": "`) {
		t.Errorf("status -json does not show the failed restart:\n%s", st)
	}
}

// hotchain apply records and restarts as the agent does; a bad restart.txt is refused
// before anything is written, with its file and line.
func TestApplyRestart(t *testing.T) {
	h := newAgentHost(t)
	withFakePM(t, h)
	restartTxt(h, 1, "services shop-web\n")
	restartTxt(h, 2, "services shop web!\n")
	h.write("etc/sysconfig/shop-hotfix", agentSettings+restartCmd(h, 0)+"\n")
	dir := filepath.Join(h.root, "var/opt/shop/Patches/shop-hotfix-6.14.2.")
	if code, out, errs := h.cliAt("b", "apply", dir+"1"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	if log, _ := os.ReadFile(h.path("restart.log")); string(log) != "services|shop-web|shop\n" {
		t.Errorf("RESTART_CMD ran as %q", log)
	}
	code, _, errs := h.cliAt("b", "apply", dir+"2")
	if code != cli.ExitFailure || !strings.Contains(errs, "shop-hotfix-6.14.2.2/restart.txt:1: service name \"web!\" holds '!'") {
		t.Errorf("bad restart.txt: exit %d\n%s", code, errs)
	}
	if got := h.ledger("host1.txt"); got != "6.14.2.1" {
		t.Errorf("ledger %q after the refused apply", got)
	}
}

// The metrics say a restart is required (on the real boot) until hotchain restarted.
func TestRestartMetrics(t *testing.T) {
	h := metricsHost(t)
	restartTxt(h, 2, "product\n")
	h.load()
	if code, out, errs := h.run(h.options(agent.ModeConsole)); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	series := `hotchain_restart_required{product="shop"}`
	if got := h.metrics()[series]; got != "1" {
		t.Errorf("after the install: %s %s, want 1", series, got)
	}
	boot, err := hoststate.ReadBootID()
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := h.cliAt(boot, "restarted"); code != 0 {
		t.Fatalf("restarted: exit %d %s", code, errs)
	}
	if got := h.metrics()[series]; got != "0" {
		t.Errorf("after hotchain restarted: %s %s, want 0", series, got)
	}
}
