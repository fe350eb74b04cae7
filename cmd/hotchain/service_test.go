package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/lock"
)

// The service switch and hold, in-process; agent_process_test.go runs them against real
// agent processes.

func TestServiceStartStopStatus(t *testing.T) {
	h := newAgentHost(t)
	at := []string{"-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}
	subsys := h.path("var/lock/subsys/shop-hotfix")
	if err := os.RemoveAll(h.path("var/lock")); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077)
	// The init script's order: the verb first, then the flags.
	code, stdout, stderr := h.cli(nil, append([]string{"service", "start"}, at...)...)
	syscall.Umask(old)
	if code != 0 || stdout != "Enabling nightly shop hotfix update:                       [  OK  ]\n" || stderr != "" {
		t.Fatalf("start: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, dir := range []string{"var/lock", "var/lock/subsys"} {
		if fi, err := os.Stat(h.path(dir)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, %v; want mode 0755 whatever the umask", dir, fi.Mode(), err)
		}
	}
	if !cli.FileExists(subsys) {
		t.Fatal("start did not create LOCK_SUBSYS")
	}
	if code, stdout, _ := h.cli(nil, append([]string{"service", "status"}, at...)...); code != 0 || stdout != "Nightly update of shop hotfixes is enabled.\n" {
		t.Errorf("status: exit %d, %q", code, stdout)
	}
	// Flags first works too.
	code, stdout, _ = h.cli(nil, append(append([]string{"service"}, at...), "stop")...)
	if code != 0 || stdout != "Disabling nightly shop hotfix update:                      [  OK  ]\n" || cli.FileExists(subsys) {
		t.Errorf("stop: exit %d, %q, LOCK_SUBSYS left: %v", code, stdout, cli.FileExists(subsys))
	}
	if code, stdout, _ := h.cli(nil, append([]string{"service", "status"}, at...)...); code != 3 || stdout != "Nightly update of shop hotfixes is disabled.\n" {
		t.Errorf("status when disabled: exit %d, %q", code, stdout)
	}
	// A second stop is fine: the runs are disabled.
	if code, _, _ := h.cli(nil, append([]string{"service", "stop"}, at...)...); code != 0 {
		t.Errorf("second stop: exit %d", code)
	}
	if code, _, stderr := h.cli(nil, append([]string{"service", "restart"}, at...)...); code != 2 || !strings.Contains(stderr, `unknown service action "restart"`) {
		t.Errorf("restart: exit %d, %s", code, stderr)
	}
}

func TestServiceStopWaitsForTheInstallLock(t *testing.T) {
	h := newAgentHost(t)
	at := []string{"-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}
	subsys := h.path("var/lock/subsys/shop-hotfix")
	ts := lock.New(h.path("var/lock/shop-hotfix.lock/ts.lock"))
	if err := ts.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer ts.Unlock()

	// SERVICE_WAITS=no: one try.
	start := time.Now()
	code, stdout, stderr := h.cli([]string{"SERVICE_WAITS=no"}, append([]string{"service", "stop"}, at...)...)
	if code != 1 || time.Since(start) > 2*time.Second || !strings.Contains(stdout, "[FAILED]") ||
		!strings.Contains(stderr, "SERVICE_WAITS=no: nightly runs stay enabled") || !cli.FileExists(subsys) {
		t.Errorf("SERVICE_WAITS=no: exit %d after %s, stdout %q, stderr %q, LOCK_SUBSYS kept %v", code, time.Since(start), stdout, stderr, cli.FileExists(subsys))
	}

	// Waiting, and the install ends in time.
	go func() {
		time.Sleep(300 * time.Millisecond)
		ts.Unlock()
	}()
	start = time.Now()
	code, stdout, stderr = h.cli([]string{"SERVICE_WAIT_TIME=20"}, append([]string{"service", "stop"}, at...)...)
	if took := time.Since(start); code != 0 || took < 250*time.Millisecond || cli.FileExists(subsys) {
		t.Errorf("stop while an install runs: exit %d after %s (want 0 after the lock's release), LOCK_SUBSYS left %v: %s", code, took, cli.FileExists(subsys), stderr)
	}
	if !strings.Contains(stderr, "waiting up to 20 seconds (SERVICE_WAIT_TIME)") || !strings.Contains(stdout, "[  OK  ]") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
}

func TestServiceStopUnderHoldDoesNotWaitForIt(t *testing.T) {
	h := newAgentHost(t)
	ts := lock.New(h.path("var/lock/shop-hotfix.lock/ts.lock"))
	if err := ts.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer ts.Unlock()
	// A product patch run by hold calls the old init script's stop itself.
	code, _, stderr := h.cli([]string{lock.EnvVar + "=" + ts.Token(), "SERVICE_WAIT_TIME=20"},
		"service", "stop", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix")
	if code != 0 || stderr != "" || cli.FileExists(h.path("var/lock/subsys/shop-hotfix")) {
		t.Errorf("stop under the holder's token: exit %d, %s", code, stderr)
	}
}

func TestHoldRunsTheCommandAndStartsAgain(t *testing.T) {
	h := newAgentHost(t)
	subsys := h.path("var/lock/subsys/shop-hotfix")
	seen := filepath.Join(h.root, "seen")
	// The "patch" records whether nightly runs were off and what token it got, then fails.
	script := `if [ -e "$1" ]; then echo enabled; else echo disabled; fi > "$2"; echo "$` + lock.EnvVar + `" >> "$2"; exit 7`
	code, stdout, stderr := h.cli(nil, "hold", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix", "--", "sh", "-c", script, "patch", subsys, seen)
	if code != 7 || !strings.Contains(stderr, "hotchain: sh exited with status 7") {
		t.Errorf("exit %d, stderr %q; want CMD's 7", code, stderr)
	}
	if want := "Disabling nightly shop hotfix update:                      [  OK  ]\nEnabling nightly shop hotfix update:                       [  OK  ]\n"; stdout != want {
		t.Errorf("stdout %q", stdout)
	}
	data, _ := os.ReadFile(seen)
	lines := strings.Fields(string(data))
	if len(lines) != 2 || lines[0] != "disabled" || len(lines[1]) != 32 {
		t.Errorf("the command saw %q; want nightly runs disabled and the lock's token", data)
	}
	if !cli.FileExists(subsys) {
		t.Error("nightly runs not started again after a failing command")
	}
	if locked, _ := lock.IsLocked(h.path("var/lock/shop-hotfix.lock/ts.lock")); locked {
		t.Error("LOCK_TS still held after hold")
	}
	if code, _, _ := h.cli(nil, "hold", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix", "--", "true"); code != 0 {
		t.Errorf("hold -- true: exit %d", code)
	}
	if code, _, stderr := h.cli(nil, "hold", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"); code != 2 || !strings.Contains(stderr, "hold needs a command") {
		t.Errorf("hold without a command: exit %d, %s", code, stderr)
	}
	if code, _, _ := h.cli(nil, "hold", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix", "--", "/nonexistent/patch"); code != 127 || !cli.FileExists(subsys) {
		t.Errorf("hold of a missing command: exit %d, want 127 and nightly runs started again", code)
	}
}
