package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/lock"
)

// Agents, service switches and holds as real processes racing for the real locks. The
// processes are this test binary run as hotchain (TestMain puts it on PATH through
// testscript.Main) with the fake package manager, selected by fakePMEnv.

func hotchainBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("hotchain")
	if err != nil {
		t.Fatalf("hotchain is not on PATH (TestMain runs testscript.Main, which puts it there): %v", err)
	}
	return p
}

// command is `hotchain VERB <flags for h> ARGS` with the fake and extra environment.
func (h *agentHost) command(t *testing.T, verb string, extraEnv []string, args ...string) *exec.Cmd {
	argv := append([]string{verb, "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}, args...)
	cmd := exec.Command(hotchainBin(t), argv...)
	cmd.Env = append(append(append([]string(nil), h.environ...), fakePMEnv+"="+h.specFile), extraEnv...)
	return cmd
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
	ended          time.Time
}

func (h *agentHost) start(t *testing.T, verb string, extraEnv []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: h.command(t, verb, extraEnv, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.ended = time.Now()
		p.code = exitCode(err)
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(limit):
		t.Fatalf("%v still runs after %s\nstdout: %s\nstderr: %s", p.cmd.Args, limit, &p.stdout, &p.stderr)
	}
	return -1
}

func exitCode(err error) int {
	var x *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &x):
		return x.ExitCode()
	}
	return -1
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(calls []string, name string) int {
	n := 0
	for _, c := range calls {
		if c == name {
			n++
		}
	}
	return n
}

// eventTime is the time the fake logged its first event of that kind.
func (h *agentHost) eventTime(t *testing.T, event string) time.Time {
	t.Helper()
	data, _ := os.ReadFile(h.spec().Log)
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == event {
			n, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return time.Unix(0, n)
		}
	}
	t.Fatalf("no %s in the fake's log:\n%s", event, data)
	return time.Time{}
}

func TestTwentyAgentsAtOnceInstallOnce(t *testing.T) {
	h := newAgentHost(t)
	// Long enough that all twenty have started while the first one installs.
	h.editSpec(func(s *fakeSpec) { s.Sleep = 3 * time.Second })
	var procs []*proc
	for i := 0; i < 20; i++ {
		procs = append(procs, h.start(t, "agent", nil))
	}
	codes := map[int]int{}
	for _, p := range procs {
		code := p.wait(t, 30*time.Second)
		codes[code]++
		// The pid is named once the winner has written it; a loser may come first.
		if code == 3 && (!strings.Contains(p.stderr.String(), "is held by another run") || !strings.Contains(p.stderr.String(), "\nhint: ")) {
			t.Errorf("a loser's stderr: %s", &p.stderr)
		}
		if code == 0 && !strings.HasPrefix(p.stdout.String(), "[shop-hotfix] myhost: 3 hotfixes installed\n") {
			t.Errorf("the winner's report:\n%s", &p.stdout)
		}
	}
	if codes[0] != 1 || codes[3] != 19 {
		t.Errorf("exit codes %v, want one 0 and nineteen 3", codes)
	}
	if calls := h.calls(); count(calls, "install-start") != 1 || count(calls, "install-end") != 1 {
		t.Errorf("fake calls %v, want exactly one install", calls)
	}
	if got := h.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("ledger %q", got)
	}
}

func TestServiceStopWaitsForARunningInstall(t *testing.T) {
	t.Parallel()
	h := newAgentHost(t)
	h.editSpec(func(s *fakeSpec) { s.Sleep = 1500 * time.Millisecond })
	agent := h.start(t, "agent", nil, "-console")
	waitFor(t, "the install to start", 15*time.Second, func() bool { return count(h.calls(), "install-start") == 1 })

	stop := h.start(t, "service", nil, "stop")
	if code := stop.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("service stop: exit %d: %s", code, &stop.stderr)
	}
	if end := h.eventTime(t, "install-end"); !end.Before(stop.ended) {
		t.Errorf("service stop returned at %s, before the install ended at %s", stop.ended.Format(time.StampMicro), end.Format(time.StampMicro))
	}
	if !strings.Contains(stop.stderr.String(), "a hotfix install is running") || !strings.Contains(stop.stdout.String(), "[  OK  ]") {
		t.Errorf("stop said:\n%s%s", &stop.stdout, &stop.stderr)
	}
	if code := agent.wait(t, 10*time.Second); code != 0 {
		t.Errorf("agent: exit %d: %s", code, &agent.stderr)
	}

	// Stopped: a nightly run does nothing even with a new hotfix offered.
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4"); s.Sleep = 0 })
	cron := h.start(t, "agent", nil)
	if code := cron.wait(t, 10*time.Second); code != 0 || cron.stdout.Len()+cron.stderr.Len() != 0 || count(h.calls(), "install-start") != 1 {
		t.Errorf("nightly run while stopped: exit %d, calls %v, output %q %q", code, h.calls(), &cron.stdout, &cron.stderr)
	}
	start := h.start(t, "service", nil, "start")
	start.wait(t, 10*time.Second)
	cron = h.start(t, "agent", nil)
	if code := cron.wait(t, 10*time.Second); code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3 6.14.2.4" {
		t.Errorf("nightly run after start: exit %d, ledger %q: %s", code, h.ledger("host1.txt"), &cron.stderr)
	}
}

func TestServiceStopGivesUpAfterServiceWaitTime(t *testing.T) {
	t.Parallel()
	h := newAgentHost(t)
	h.editSpec(func(s *fakeSpec) { s.Sleep = 4 * time.Second })
	agent := h.start(t, "agent", nil, "-console")
	waitFor(t, "the install to start", 15*time.Second, func() bool { return count(h.calls(), "install-start") == 1 })
	stop := h.start(t, "service", []string{"SERVICE_WAIT_TIME=1"}, "stop")
	code := stop.wait(t, 30*time.Second)
	if code != 1 || !strings.Contains(stop.stderr.String(), "the hotfix install is still running after 1 seconds (SERVICE_WAIT_TIME)") ||
		!strings.Contains(stop.stdout.String(), "[FAILED]") {
		t.Errorf("stop: exit %d, said:\n%s%s", code, &stop.stdout, &stop.stderr)
	}
	if count(h.calls(), "install-end") != 0 {
		t.Errorf("stop returned after the install ended")
	}
	if !cli.FileExists(h.path("var/lock/subsys/shop-hotfix")) {
		t.Error("a stop that gave up disabled the nightly runs")
	}
	if code := agent.wait(t, 10*time.Second); code != 0 {
		t.Errorf("agent: exit %d: %s", code, &agent.stderr)
	}
}

func TestHoldBlocksNightlyRuns(t *testing.T) {
	t.Parallel()
	h := newAgentHost(t)
	hold := h.start(t, "hold", nil, "--", "sleep", "3")
	waitFor(t, "hold to stop the nightly runs", 10*time.Second, func() bool { return !cli.FileExists(h.path("var/lock/subsys/shop-hotfix")) })
	cron := h.start(t, "agent", nil)
	code := cron.wait(t, 10*time.Second)
	select {
	case <-hold.done:
		t.Fatal("hold ended before the nightly run did: the machine is too slow for this test's 3 seconds")
	default:
	}
	if code != 0 || cron.stdout.Len()+cron.stderr.Len() != 0 || len(h.calls()) != 0 {
		t.Errorf("nightly run during hold: exit %d, calls %v, output %q %q", code, h.calls(), &cron.stdout, &cron.stderr)
	}
	if code := hold.wait(t, 10*time.Second); code != 0 || !cli.FileExists(h.path("var/lock/subsys/shop-hotfix")) {
		t.Fatalf("hold: exit %d, nightly runs enabled again: %v: %s", code, cli.FileExists(h.path("var/lock/subsys/shop-hotfix")), &hold.stderr)
	}
	cron = h.start(t, "agent", nil)
	if code := cron.wait(t, 10*time.Second); code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("nightly run after hold: exit %d, ledger %q: %s", code, h.ledger("host1.txt"), &cron.stderr)
	}
}

func TestDaemonFinishesTheRunningInstallOnSIGTERM(t *testing.T) {
	t.Parallel()
	h := newAgentHost(t)
	h.editSpec(func(s *fakeSpec) { s.Sleep = 2 * time.Second })
	daemon := h.start(t, "agent", []string{"SCHEDULE=@every 1s"}, "-daemon")
	waitFor(t, "the first scheduled install", 15*time.Second, func() bool { return count(h.calls(), "install-start") == 1 })
	if err := daemon.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := daemon.wait(t, 15*time.Second); code != 0 {
		t.Errorf("daemon: exit %d: %s", code, &daemon.stderr)
	}
	calls := h.calls()
	if count(calls, "available") != 1 || count(calls, "install-start") != 1 || count(calls, "install-end") != 1 || count(calls, "install-interrupted") != 0 {
		t.Errorf("fake calls %v: want one run whose install finished", calls)
	}
	if got := h.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("ledger %q", got)
	}
	if !strings.Contains(daemon.stdout.String(), "a run in progress finishes first") || !strings.Contains(daemon.stdout.String(), "3 hotfixes installed") {
		t.Errorf("daemon stdout:\n%s", &daemon.stdout)
	}
}

// TestKilledHoldKeepsTheLockWhileTheCommandRuns: hold killed with SIGKILL leaves its product
// patch running; the patch keeps LOCK_TS (it got the lock's file), so an install waits for the
// patch instead of running beside it.
func TestKilledHoldKeepsTheLockWhileTheCommandRuns(t *testing.T) {
	t.Parallel()
	h := newAgentHost(t)
	tsPath := h.path("var/lock/shop-hotfix.lock/ts.lock")
	mark := h.path("patch-done")
	hold := h.start(t, "hold", nil, "--", "sh", "-c", `touch "$1.started"; sleep 2; touch "$1"`, "patch", mark)
	waitFor(t, "the patch to start", 10*time.Second, func() bool { return cli.FileExists(mark + ".started") })
	if err := hold.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hold to die", 10*time.Second, func() bool {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(hold.cmd.Process.Pid) + "/stat")
		return err != nil || strings.Contains(string(stat), ") Z ")
	})
	agent := h.start(t, "agent", nil, "-console")
	code := agent.wait(t, 10*time.Second)
	patchDone := cli.FileExists(mark)
	if code != 3 || !strings.Contains(agent.stderr.String(), "has died") || len(h.calls()) != 0 {
		t.Errorf("install while the killed hold's patch runs: exit %d, calls %v, stderr %s; want 3 (lock held by the patch)", code, h.calls(), &agent.stderr)
	}
	if patchDone {
		t.Fatal("the patch ended before the install tried: the machine is too slow for this test's 2 seconds")
	}
	waitFor(t, "the patch to end", 10*time.Second, func() bool { locked, _ := lock.IsLocked(tsPath); return !locked })
	if !cli.FileExists(mark) {
		t.Error("the lock was free before the patch ended")
	}
	agent = h.start(t, "agent", nil, "-console")
	if code := agent.wait(t, 10*time.Second); code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("install after the patch: exit %d, ledger %q: %s", code, h.ledger("host1.txt"), &agent.stderr)
	}
}

// TestKilledAgentDoesNotRunScriptTwice: the agent applies the hotfixes itself after dnf; killed
// (SIGKILL) during an Install script, it leaves the script's command running with LOCK_TS,
// so the next run refuses until it ends, and the script never runs twice side by side.
func TestKilledAgentDoesNotRunScriptTwice(t *testing.T) {
	t.Parallel()
	h := newAgentHost(t)
	log := h.path("script.log")
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.1/Install/10-slow.sh", "echo start >> "+log+"\nsleep 2\necho end >> "+log+"\n")
	agent := h.start(t, "agent", nil, "-console")
	waitFor(t, "the script to start", 15*time.Second, func() bool { data, _ := os.ReadFile(log); return len(data) > 0 })
	if err := agent.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent to die", 10*time.Second, func() bool {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(agent.cmd.Process.Pid) + "/stat")
		return err != nil || strings.Contains(string(stat), ") Z ")
	})
	next := h.start(t, "agent", nil, "-console")
	code := next.wait(t, 10*time.Second)
	data, _ := os.ReadFile(log)
	if code != 3 || !strings.Contains(next.stderr.String(), "has died") {
		t.Errorf("agent while the killed agent's script runs: exit %d, stderr %s; want 3 (lock held by the script)", code, &next.stderr)
	}
	if string(data) != "start\n" {
		t.Fatalf("script log %q while the first run's script runs: want one start", data)
	}
	waitFor(t, "the script's sleep to end", 10*time.Second, func() bool {
		locked, _ := lock.IsLocked(h.path("var/lock/shop-hotfix.lock/ts.lock"))
		return !locked
	})
	apply := h.start(t, "apply", nil, h.path("var/opt/shop/Patches/shop-hotfix-6.14.2.1"))
	if code := apply.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("apply after the orphan ended: exit %d: %s", code, &apply.stderr)
	}
	// The killed agent's shell died with it: its "end" never came.
	if data, _ := os.ReadFile(log); string(data) != "start\nstart\nend\n" {
		t.Errorf("script log %q, want the first run cut short and one full run after it", data)
	}
}
