package applier

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// TestKilledApplyDoesNotRunScriptTwice kills an apply (SIGKILL) while its Install script runs.
// The script's shell dies with it (Pdeathsig); the command the shell was running keeps the
// install lock (it inherited the lock's file), so the next apply refuses while it runs, and
// once it has ended the next apply resumes and runs the script once more, never beside it.
func TestKilledApplyDoesNotRunScriptTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("kills an apply; skipped with -short")
	}
	sb := newSandbox(t, sysconfig.RoleSingle)
	log := filepath.Join(t.TempDir(), "script.log")
	dir := sb.makeHotfix(hotfixSpec{
		version: "6.14.2.1",
		files:   map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"},
		scripts: map[string]string{"10-slow.sh": fmt.Sprintf("echo start >> %[1]s\nsleep 1.5\necho end >> %[1]s\n", log)},
	})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|0", crashEnv, sb.root, dir))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, func() bool { data, _ := os.ReadFile(log); return strings.Contains(string(data), "start") })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed := time.Now()

	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	if !lock.IsHeld(err) {
		t.Fatalf("apply while the killed apply's script still runs: %v, want a held install lock", err)
	}
	if !strings.Contains(err.Error(), "has died") {
		t.Errorf("refusal %q does not say the lock holder died", err)
	}
	// The sleep (1.5 s) ends; the lock is free then, not before.
	var again error
	waitFor(t, func() bool {
		again = sb.host.Apply(context.Background(), dir, ApplyOptions{})
		return !lock.IsHeld(again)
	})
	if again != nil {
		t.Fatalf("apply after the orphan ended: %v", again)
	}
	if took := time.Since(killed); took < time.Second {
		t.Errorf("the lock was free %v after the kill, before the script's sleep ended", took)
	}
	data, _ := os.ReadFile(log)
	// The killed run's shell died with the apply: its "end" never came.
	if got := strings.Fields(string(data)); strings.Join(got, " ") != "start start end" {
		t.Errorf("script log = %q, want the first run cut short and one full run after it", got)
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
