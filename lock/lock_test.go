package lock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// The test binary doubles as the child process of the cross-process tests: with childEnv set it
// runs one action on the lock file and exits.
const childEnv = "LOCK_TEST_CHILD"

func TestMain(m *testing.M) {
	if action := os.Getenv(childEnv); action != "" {
		os.Exit(runChild(action, os.Getenv("LOCK_TEST_PATH")))
	}
	os.Exit(m.Run())
}

func runChild(action, path string) int {
	switch action {
	case "hold":
		l := New(path)
		if err := l.TryLock(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("locked", l.Token())
		// The parent kills us; the timeout only stops an orphan if the parent died first.
		time.Sleep(30 * time.Second)
		return 0
	case "hold-and-spawn":
		// Takes the lock, gives it to a child that runs for a while, and waits to be killed.
		l := New(path)
		if err := l.TryLock(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		child := exec.Command("sleep", "30")
		child.ExtraFiles = []*os.File{l.File()}
		if err := child.Start(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("spawned", child.Process.Pid)
		time.Sleep(30 * time.Second)
		return 0
	case "acquire":
		l, err := Acquire(path, os.Getenv(EnvVar))
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case l.Inherited():
			fmt.Println("inherited")
			if err := l.Unlock(); err != nil {
				fmt.Println("unlock error:", err)
			}
		default:
			fmt.Println("locked")
		}
		return 0
	}
	fmt.Println("unknown child action", action)
	return 2
}

// startHolder runs a child process that takes the lock at path and keeps it until killed.
func startHolder(t *testing.T, path string) (cmd *exec.Cmd, token string) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=hold", "LOCK_TEST_PATH="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read from holder: %v", err)
	}
	token, ok := strings.CutPrefix(strings.TrimSpace(line), "locked ")
	if !ok {
		t.Fatalf("holder did not take the lock: %q", line)
	}
	return cmd, token
}

func runAcquireChild(t *testing.T, path string, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// GORACE: under -race a process sleeps a second at exit unless told otherwise.
	cmd.Env = append(os.Environ(), childEnv+"=acquire", "LOCK_TEST_PATH="+path, "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("acquire child: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func heldPID(t *testing.T, err error) int {
	t.Helper()
	var h *HeldError
	if !errors.As(err, &h) {
		t.Fatalf("want *HeldError, got %v", err)
	}
	return h.PID
}

func TestTryLockWritesPIDAndToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pidfile")
	l := New(path)
	if err := l.TryLock(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d\n%s\n", os.Getpid(), l.Token())
	if string(data) != want {
		t.Errorf("lock file = %q, want %q", data, want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(l.Token()) {
		t.Errorf("token %q is not 16 bytes of hex", l.Token())
	}
	if got := ReadPID(path); got != os.Getpid() {
		t.Errorf("ReadPID = %d, want %d", got, os.Getpid())
	}
	if err := l.TryLock(); err == nil {
		t.Error("second TryLock on the same Lock succeeded")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if l.Token() != "" {
		t.Errorf("token after Unlock = %q, want empty", l.Token())
	}
	if got := ReadPID(path); got != 0 {
		t.Errorf("ReadPID after Unlock = %d, want 0", got)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	// A lock is reusable after Unlock, with a fresh token.
	if err := l.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if l.Token() == "" {
		t.Error("no token after relocking")
	}
}

func TestHeldByOtherDescriptionInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")
	a, b := New(path), New(path)
	if locked, err := IsLocked(path); err != nil || locked {
		t.Fatalf("IsLocked before locking = %v, %v; want false, nil", locked, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("IsLocked created the lock file (stat: %v)", err)
	}
	if err := a.TryLock(); err != nil {
		t.Fatal(err)
	}
	err := b.TryLock()
	if pid := heldPID(t, err); pid != os.Getpid() {
		t.Errorf("HeldError.PID = %d, want %d", pid, os.Getpid())
	}
	if !IsHeld(fmt.Errorf("wrapped: %w", err)) {
		t.Error("IsHeld does not see through wrapping")
	}
	want := fmt.Sprintf("lock %s is held by another run (pid %d)", path, os.Getpid())
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
	if locked, err := IsLocked(path); err != nil || !locked {
		t.Errorf("IsLocked while held = %v, %v; want true, nil", locked, err)
	}
	// The probe must not have disturbed the holder.
	if err := b.TryLock(); !IsHeld(err) {
		t.Errorf("TryLock after probe: %v, want HeldError", err)
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	if locked, err := IsLocked(path); err != nil || locked {
		t.Errorf("IsLocked after Unlock = %v, %v; want false, nil", locked, err)
	}
	if err := b.TryLock(); err != nil {
		t.Fatalf("TryLock after the holder unlocked: %v", err)
	}
	b.Unlock()
}

func TestHeldByChildProcessAndFreedByKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pidfile")
	cmd, _ := startHolder(t, path)

	err := New(path).TryLock()
	if pid := heldPID(t, err); pid != cmd.Process.Pid {
		t.Errorf("HeldError.PID = %d, want the child's %d", pid, cmd.Process.Pid)
	}
	if locked, err := IsLocked(path); err != nil || !locked {
		t.Errorf("IsLocked = %v, %v; want true, nil", locked, err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The killed holder's pid stays in the file, but the kernel dropped its lock.
	if got := ReadPID(path); got != cmd.Process.Pid {
		t.Errorf("ReadPID after kill = %d, want the dead holder's %d", got, cmd.Process.Pid)
	}
	if locked, err := IsLocked(path); err != nil || locked {
		t.Errorf("IsLocked after kill = %v, %v; want false, nil", locked, err)
	}
	l := New(path)
	if err := l.TryLock(); err != nil {
		t.Fatalf("TryLock after the holder was killed: %v", err)
	}
	defer l.Unlock()
	if got := ReadPID(path); got != os.Getpid() {
		t.Errorf("ReadPID = %d, want ours %d", got, os.Getpid())
	}
}

func TestLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")
	holder := New(path)
	if err := holder.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()

	const d = 300 * time.Millisecond
	start := time.Now()
	err := New(path).LockTimeout(context.Background(), d)
	took := time.Since(start)
	if pid := heldPID(t, err); pid != os.Getpid() {
		t.Errorf("HeldError.PID = %d, want %d", pid, os.Getpid())
	}
	if took < d || took > d+time.Second {
		t.Errorf("LockTimeout returned after %v, want about %v", took, d)
	}
}

func TestLockTimeoutGetsLockWhenReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")
	holder := New(path)
	if err := holder.TryLock(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(150*time.Millisecond, func() { holder.Unlock() })
	l := New(path)
	start := time.Now()
	if err := l.LockTimeout(context.Background(), 5*time.Second); err != nil {
		t.Fatalf("LockTimeout: %v", err)
	}
	defer l.Unlock()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v to notice the release", took)
	}
}

func TestLockTimeoutContextCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")
	holder := New(path)
	if err := holder.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := New(path).LockTimeout(ctx, 10*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if IsHeld(err) {
		t.Error("a cancelled wait reported HeldError")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cancel took %v to be noticed", took)
	}
}

func TestAcquireInheritance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")

	// Free lock: Acquire takes it for real, token or not.
	l, err := Acquire(path, "deadbeef")
	if err != nil {
		t.Fatal(err)
	}
	if l.Inherited() {
		t.Error("Acquire of a free lock returned an inherited lock")
	}
	if l.Token() == "deadbeef" || l.Token() == "" {
		t.Errorf("Acquire of a free lock kept token %q, want a fresh one", l.Token())
	}
	parentToken := l.Token()

	child, err := Acquire(path, parentToken)
	if err != nil {
		t.Fatalf("Acquire with the holder's token: %v", err)
	}
	if !child.Inherited() || child.Token() != parentToken {
		t.Errorf("inherited = %v, token = %q; want true, %q", child.Inherited(), child.Token(), parentToken)
	}
	if err := child.Unlock(); err != nil {
		t.Fatal(err)
	}
	if locked, _ := IsLocked(path); !locked {
		t.Error("an inherited lock's Unlock released the parent's lock")
	}
	if err := child.TryLock(); err == nil {
		t.Error("TryLock on an inherited lock succeeded")
	}

	for _, tok := range []string{"", "0123456789abcdef0123456789abcdef", parentToken[:31]} {
		if _, err := Acquire(path, tok); !IsHeld(err) {
			t.Errorf("Acquire with token %q: %v, want HeldError", tok, err)
		}
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	// After the parent let go, its old token is just a stale string: Acquire locks for real.
	again, err := Acquire(path, parentToken)
	if err != nil || again.Inherited() {
		t.Fatalf("Acquire after release = %v, inherited %v; want a real lock", err, again != nil && again.Inherited())
	}
	again.Unlock()
}

func TestAcquireInheritanceAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")
	_, token := startHolder(t, path)

	if got := runAcquireChild(t, path, EnvVar+"="+token); got != "inherited" {
		t.Errorf("child with the holder's token: %q, want inherited", got)
	}
	if got := runAcquireChild(t, path, EnvVar+"=ffffffffffffffffffffffffffffffff"); !strings.HasPrefix(got, "error: lock "+path+" is held by another run (pid ") {
		t.Errorf("child with a wrong token: %q, want a held error", got)
	}
	if got := runAcquireChild(t, path, EnvVar+"="); !strings.Contains(got, "is held by another run") {
		t.Errorf("child without a token: %q, want a held error", got)
	}
	// The inheriting child's Unlock must have left the holder's lock alone.
	if locked, err := IsLocked(path); err != nil || !locked {
		t.Errorf("IsLocked after the children = %v, %v; want true, nil", locked, err)
	}
}

func TestReadPID(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    int
	}{
		{"1234\nabc\n", 1234},
		{"  42  \n", 42},
		{"", 0},
		{"garbage\n", 0},
		{"-5\n", 0},
		{"\n1234\n", 0},
	} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := ReadPID(p); got != tc.want {
			t.Errorf("ReadPID(%q) = %d, want %d", tc.content, got, tc.want)
		}
	}
	if got := ReadPID(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("ReadPID(missing) = %d, want 0", got)
	}
}

// TestHeldBeforeThePIDIsWritten: a run that finds the lock held in the instant between the
// holder's flock and its writing the pid still names the holder.
func TestHeldBeforeThePIDIsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pidfile")
	holder := flock.New(path)
	if ok, err := holder.TryLock(); err != nil || !ok {
		t.Fatalf("flock: %v, %v", ok, err)
	}
	defer holder.Unlock()
	go func() {
		time.Sleep(20 * time.Millisecond)
		os.WriteFile(path, []byte("4242\n"), 0o644)
	}()
	if pid := heldPID(t, New(path).TryLock()); pid != 4242 {
		t.Errorf("HeldError.PID = %d, want 4242, written 20ms after the flock", pid)
	}
	// A holder that never writes one: no pid, after a short wait.
	other := filepath.Join(t.TempDir(), "pidfile")
	quiet := flock.New(other)
	if ok, err := quiet.TryLock(); err != nil || !ok {
		t.Fatalf("flock: %v, %v", ok, err)
	}
	defer quiet.Unlock()
	start := time.Now()
	if pid := heldPID(t, New(other).TryLock()); pid != 0 {
		t.Errorf("HeldError.PID = %d for an empty lock file, want 0", pid)
	}
	if d := time.Since(start); d < pidWait || d > 10*pidWait {
		t.Errorf("TryLock took %v to give up on the pid, want about %v", d, pidWait)
	}
}

func TestHeldErrorWithoutPID(t *testing.T) {
	err := &HeldError{Path: "/run/lock/shop-hotfix.lock/pidfile"}
	if got, want := err.Error(), "lock /run/lock/shop-hotfix.lock/pidfile is held by another run"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if err.Hint() == "" {
		t.Error("no hint")
	}
}

// TestLockOutlivesKilledHolderInChild: a holder that gave the lock's file to a child and was
// killed leaves the lock held by that child until it exits, and says so.
func TestLockOutlivesKilledHolderInChild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=hold-and-spawn", "LOCK_TEST_PATH="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	pidText, ok := strings.CutPrefix(strings.TrimSpace(line), "spawned ")
	if !ok {
		t.Fatalf("holder: %q", line)
	}
	sleeper, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(sleeper, syscall.SIGKILL) })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	err = New(path).TryLock()
	var h *HeldError
	if !errors.As(err, &h) || !h.Orphaned || h.PID != cmd.Process.Pid {
		t.Fatalf("TryLock after the holder was killed = %v, want a HeldError of an orphan of pid %d", err, cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), "has died") || !strings.Contains(h.Hint(), "fuser") {
		t.Errorf("message %q / hint %q do not say the holder died and how to find what holds it", err, h.Hint())
	}
	if err := syscall.Kill(sleeper, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The sleeper is the killed holder's orphan: init reaps it, we poll until the lock is free.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := New(path)
		if err := l.TryLock(); err == nil {
			l.Unlock()
			break
		} else if !IsHeld(err) || time.Now().After(deadline) {
			t.Fatalf("TryLock after the child died: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUnlockReleasesForChildren: Unlock frees the lock also while a child that was given the
// file still runs (a daemon a script started must not keep it forever).
func TestUnlockReleasesForChildren(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ts.lock")
	l := New(path)
	if err := l.TryLock(); err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "30")
	child.ExtraFiles = []*os.File{l.File()}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if l.File() != nil {
		t.Error("File() after Unlock is not nil")
	}
	if locked, err := IsLocked(path); err != nil || locked {
		t.Errorf("IsLocked after Unlock with a child holding the file = %v, %v; want false", locked, err)
	}
}
