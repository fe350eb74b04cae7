package applier

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// The crash test runs an apply in a child process (this test binary, re-executed) and kills
// it with SIGKILL at a chosen step or at a random time; the next apply or rollback must then
// leave the product tree exactly as it was after or before.
const crashEnv = "HOTFIX_CRASH_CHILD" // "<root>|<hotfix dir>|<step to die at, 0 = none>"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

func crashChild(spec string) int {
	parts := strings.SplitN(spec, "|", 3)
	root, dir := parts[0], parts[1]
	at, _ := strconv.Atoi(parts[2])
	rollback := strings.HasPrefix(dir, "rollback:")
	h := &Host{Cfg: testConfig(root, "host1", sysconfig.RoleSingle), Environ: os.Environ()}
	n := 0
	h.StepHook = func(string) {
		if n++; n == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	var err error
	switch {
	case rollback:
		err = h.Rollback(context.Background(), nil, nil)
	case strings.HasPrefix(dir, "prepared:"):
		// As the agent does: prepared while the product is open, applied after PRE_HOOK.
		dir = strings.TrimPrefix(dir, "prepared:")
		if err = h.Apply(context.Background(), dir, ApplyOptions{Prepare: true}); err == nil {
			err = h.Apply(context.Background(), dir, ApplyOptions{})
		}
	default:
		err = h.Apply(context.Background(), dir, ApplyOptions{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestCrashDuringRollback kills a rollback at every fifth of its durable steps; the next
// rollback must finish it, leaving the tree exactly as before the apply.
func TestCrashDuringRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("kills rollbacks; skipped with -short")
	}
	ctx := context.Background()
	ref, refDir := bigHotfix(t, 200)
	before := testutil.Snapshot(t, ref.root, true, productTrees...)
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	steps := 0
	ref.host.StepHook = func(string) { steps++ }
	if err := ref.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, ref.root, true, productTrees...)); d != "" {
		t.Fatalf("reference rollback:\n%s", d)
	}
	kills := 0
	for at := 1; at < steps; at += 5 {
		sb, dir := bigHotfix(t, 200)
		start := testutil.Snapshot(t, sb.root, true, productTrees...)
		if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|rollback:%s|%d", crashEnv, sb.root, dir, at))
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || !ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Fatalf("step %d: rollback was not killed: %v", at, err)
		}
		kills++
		if err := sb.host.Rollback(ctx, nil, nil); err != nil {
			t.Fatalf("step %d: finishing the rollback: %v", at, err)
		}
		if d := testutil.DiffTrees(start, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
			t.Fatalf("step %d: tree after the finished rollback differs from before the apply:\n%s", at, d)
		}
		if got := sb.ledger("host1.txt"); got != "" {
			t.Fatalf("step %d: ledger %q after rollback", at, got)
		}
	}
	t.Logf("a rollback of 200 files has %d durable steps; killed at %d of them, each finished by the next rollback", steps, kills)
}

// bigHotfix makes a sandbox with a product tree and a hotfix of files replacing half of it and
// adding the rest in new directories, with several scripts.
func bigHotfix(t *testing.T, files int) (*sandbox, string) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	spec := hotfixSpec{version: "6.14.2.1", files: map[string]string{}, scripts: map[string]string{}}
	for i := 0; i < files; i++ {
		rel := fmt.Sprintf("lib/Shop/Mod%02d/File%03d.pm", i%10, i)
		if i%2 == 0 {
			sb.write("opt/shop/"+rel, fmt.Sprintf("old %d\n", i), 0o644)
		} else {
			rel = fmt.Sprintf("lib/Shop/New%02d/Sub/File%03d.pm", i%7, i)
		}
		spec.files["FileChanges/"+rel] = fmt.Sprintf("new %d %s\n", i, strings.Repeat("x", i))
	}
	marks := filepath.Join(sb.root, "script-marks")
	for i, name := range []string{"10-db.sh", "20-cache.sh", "30-index.sh", "90-done-final.sh"} {
		spec.scripts[name] = fmt.Sprintf("echo %d >> %s\nsleep 0.01\n", i, marks)
	}
	// A health check that passes: the apply goes through journal.StateCheck, so kills land there too.
	spec.files["Check/10-alive.sh"] = "test -f \"$PRODUCT_ROOT/lib/Shop/New01/Sub/File001.pm\"\n"
	sb.touchAll()
	return sb, sb.makeHotfix(spec)
}

func TestCrashAnywhereRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 60 applies; skipped with -short")
	}
	ctx := context.Background()
	// The reference states, and the number of durable steps of one apply.
	ref, refDir := bigHotfix(t, 200)
	before := testutil.Snapshot(t, ref.root, true, productTrees...)
	steps := 0
	ref.host.StepHook = func(string) { steps++ }
	start := time.Now()
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	applyTime := time.Since(start)
	after := testutil.Snapshot(t, ref.root, false, productTrees...)
	t.Logf("one apply of 200 files and 4 scripts: %d durable steps, %v", steps, applyTime.Round(time.Millisecond))

	// A whole child run, start-up included, bounds the random kill times.
	{
		sb, dir := bigHotfix(t, 200)
		start := time.Now()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|0", crashEnv, sb.root, dir))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child apply: %v\n%s", err, out)
		}
		applyTime = time.Since(start)
	}

	// 45 kill points spread over every step, and 15 kills at random times.
	var points []int
	for i := 0; i < 45; i++ {
		points = append(points, 1+i*(steps-1)/44)
	}
	for i := 0; i < 15; i++ {
		points = append(points, -1)
	}
	rng := rand.New(rand.NewSource(1))
	outcomes := map[string]int{}
	for i, at := range points {
		sb, dir := bigHotfix(t, 200)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", crashEnv, sb.root, dir, max(at, 0)))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if at < 0 {
			time.Sleep(time.Duration(rng.Int63n(int64(applyTime))))
			cmd.Process.Kill()
		}
		err := cmd.Wait()
		killed := false
		if ee, ok := err.(*exec.ExitError); ok {
			ws := ee.Sys().(syscall.WaitStatus)
			killed = ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
		if !killed && at >= 0 {
			t.Fatalf("point %d: child was not killed: %v", at, err)
		}
		// Recover by finishing (even points) or undoing (odd points).
		finish := i%2 == 0
		// A kill during a script leaves the script's sleep running a moment with the install
		// lock (it inherited the lock's file): recovery waits for it.
		untilFree := func(run func() error) error {
			deadline := time.Now().Add(5 * time.Second)
			for {
				err := run()
				if !lock.IsHeld(err) || time.Now().After(deadline) {
					return err
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		if finish {
			err = untilFree(func() error { return sb.host.Apply(ctx, dir, ApplyOptions{}) })
			var pe *PrereqError
			if at < 0 && errors.As(err, &pe) && strings.Contains(pe.Reason, "applied already") {
				err = nil // the random kill came after the apply had finished
			}
		} else {
			err = untilFree(func() error { return sb.host.Rollback(ctx, nil, nil) })
			if err != nil && strings.Contains(err.Error(), "nothing to roll back") {
				err = nil // killed before its journal: nothing was touched
			}
		}
		if err != nil {
			t.Fatalf("point %d (killed %v): recovery (finish=%v): %v\n%s", at, killed, finish, err, sb.out)
		}
		ledger := sb.ledger("host1.txt")
		want, wantLedger, name := after, "6.14.2.1", "after"
		if !finish {
			want, wantLedger, name = before, "", "before"
		}
		got := testutil.Snapshot(t, sb.root, !finish, productTrees...)
		if d := testutil.DiffTrees(want, got); d != "" {
			t.Fatalf("point %d (killed %v): tree after recovery differs from the state %s the apply:\n%s", at, killed, name, d)
		}
		if ledger != wantLedger {
			t.Fatalf("point %d: ledger %q, want %q", at, ledger, wantLedger)
		}
		outcome := fmt.Sprintf("%s (child killed: %v)", name, killed)
		outcomes[outcome]++
	}
	t.Logf("%d kill points, outcomes: %v", len(points), outcomes)
}

// TestCrashDuringPreparedApplyRecovers kills, at points spread over every durable step, an
// apply that is first prepared (backups only) and then finished, as the agent runs it
// around PRE_HOOK; the next apply or rollback must leave the tree exactly as after or
// before. A kill after the preparation leaves nothing to roll back: the product was not
// touched.
func TestCrashDuringPreparedApplyRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("kills applies; skipped with -short")
	}
	ctx := context.Background()
	ref, refDir := bigHotfix(t, 200)
	before := testutil.Snapshot(t, ref.root, true, productTrees...)
	steps := 0
	ref.host.StepHook = func(string) { steps++ }
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{Prepare: true}); err != nil {
		t.Fatal(err)
	}
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	after := testutil.Snapshot(t, ref.root, false, productTrees...)
	const n = 12
	for i := 0; i < n; i++ {
		at := 1 + i*(steps-1)/(n-1)
		sb, dir := bigHotfix(t, 200)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|prepared:%s|%d", crashEnv, sb.root, dir, at))
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || !ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Fatalf("step %d: apply was not killed: %v", at, err)
		}
		finish := i%2 == 0
		if finish {
			err = sb.host.Apply(ctx, dir, ApplyOptions{})
		} else if err = sb.host.Rollback(ctx, nil, nil); err != nil && strings.Contains(err.Error(), "nothing to roll back") {
			err = nil // killed before anything was placed
		}
		if err != nil {
			t.Fatalf("step %d: recovery (finish=%v): %v\n%s", at, finish, err, sb.out)
		}
		want, wantLedger, name := after, "6.14.2.1", "after"
		if !finish {
			want, wantLedger, name = before, "", "before"
		}
		if d := testutil.DiffTrees(want, testutil.Snapshot(t, sb.root, !finish, productTrees...)); d != "" {
			t.Fatalf("step %d: tree after recovery differs from the state %s the apply:\n%s", at, name, d)
		}
		if got := sb.ledger("host1.txt"); got != wantLedger {
			t.Fatalf("step %d: ledger %q, want %q", at, got, wantLedger)
		}
	}
	t.Logf("a prepared apply of 200 files has %d durable steps; killed at %d of them, each recovered", steps, n)
}
