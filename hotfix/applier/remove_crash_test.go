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

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// removalHotfix is a sandbox whose hotfix replaces and adds files, removes a file, a symlink
// and a directory tree (removalList), runs a script and a health check that the removal
// took place.
func removalHotfix(t *testing.T) (*sandbox, string) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	removalProduct(sb)
	spec := removalSpec("6.14.2.1", removalList())
	for i := 0; i < 6; i++ {
		spec.files[fmt.Sprintf("FileChanges/lib/Shop/New%d.pm", i)] = fmt.Sprintf("new %d\n", i)
	}
	spec.scripts = map[string]string{"10-db.sh": "exit 0\n"}
	spec.files["Check/10-gone.sh"] = "test ! -e \"$PRODUCT_ROOT/lib/obsolete\" && test ! -e \"$PRODUCT_ROOT/lib/old.jar\"\n"
	return sb, sb.makeHotfix(spec)
}

// killChild runs the crash child on sb with spec (the hotfix directory, "rollback:" or
// "prepared:" before it) and its kill at step at; it must die of the kill.
func killChild(t *testing.T, sb *sandbox, spec string, at int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", crashEnv, sb.root, spec, at))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || !ee.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("step %d: the child was not killed: %v\n%s", at, err, out)
	}
}

// untilFree runs run again while a script a killed run left holds the install lock.
func untilFree(run func() error) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := run()
		if !lock.IsHeld(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCrashWithRemovalsRecovers kills an apply that removes a file, a symlink and a
// directory tree at every one of its durable steps (directly, and once prepared as the agent
// runs it), then finishes it (apply), undoes it (rollback) or lets Recover decide, in turn:
// each time the tree is byte-identical to the reference after the apply, or to before it,
// and the ledger agrees.
func TestCrashWithRemovalsRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("kills applies; skipped with -short")
	}
	ctx := context.Background()
	ref, refDir := removalHotfix(t)
	before := testutil.Snapshot(t, ref.root, true, productTrees...)
	var steps []string
	ref.host.StepHook = func(s string) { steps = append(steps, s) }
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{}); err != nil {
		t.Fatalf("reference apply: %v\n%s", err, ref.out)
	}
	after := testutil.Snapshot(t, ref.root, false, productTrees...)
	removes := 0
	for _, s := range steps {
		if strings.HasPrefix(s, "remove ") {
			removes++
		}
	}
	if removes != 8 {
		t.Fatalf("the apply has %d removal steps, want 8: %q", removes, steps)
	}
	outcomes := map[string]int{}
	for _, prepared := range []bool{false, true} {
		n := len(steps)
		if prepared {
			n++ // "prepared cleared"
		}
		for at := 1; at <= n; at++ {
			sb, dir := removalHotfix(t)
			spec := dir
			if prepared {
				spec = "prepared:" + dir
			}
			killChild(t, sb, spec, at)
			var err error
			way := []string{"finish", "rollback", "recover"}[at%3]
			finished := true
			switch way {
			case "finish":
				err = untilFree(func() error { return sb.host.Apply(ctx, dir, ApplyOptions{}) })
			case "rollback":
				finished = false
				err = untilFree(func() error { return sb.host.Rollback(ctx, nil, nil) })
				if err != nil && strings.Contains(err.Error(), "nothing to roll back") {
					err = nil // killed before its journal: nothing was touched
				}
			case "recover":
				var done []Recovered
				err = untilFree(func() error { var e error; done, e = sb.host.Recover(ctx, nil); return e })
				// Killed before the journal, or in state backup: the product is untouched
				// and the hotfix unpacked, not applied.
				finished = len(done) == 1 && done[0].Outcome == Applied
			}
			if err != nil {
				t.Fatalf("prepared=%v step %d (%s): %s: %v\n%s", prepared, at, steps[min(at, len(steps))-1], way, err, sb.out)
			}
			want, wantLedger, name := after, "6.14.2.1", "after"
			if !finished {
				want, wantLedger, name = before, "", "before"
			}
			if d := testutil.DiffTrees(want, testutil.Snapshot(t, sb.root, !finished, productTrees...)); d != "" {
				t.Fatalf("prepared=%v step %d (%s): %s: the tree differs from the state %s the apply:\n%s\n%s", prepared, at, steps[min(at, len(steps))-1], way, name, d, sb.out)
			}
			if got := sb.ledger("host1.txt"); got != wantLedger {
				t.Fatalf("prepared=%v step %d: ledger %q, want %q", prepared, at, got, wantLedger)
			}
			if finished {
				if drift, _, err := sb.host.Verify(); err != nil || len(drift) > 0 {
					t.Fatalf("prepared=%v step %d: verify after the finished apply: %v, %v", prepared, at, drift, err)
				}
			}
			outcomes[way+" -> "+name]++
		}
	}
	t.Logf("an apply with 8 removals has %d durable steps; killed at each (also prepared), outcomes %v", len(steps), outcomes)
}

// TestCrashDuringRollbackOfRemovals kills the rollback of an apply with removals at every
// durable step; the next rollback finishes it, and the tree is byte-identical to before
// the apply: the removed file, symlink and directories are back with their content, mode,
// owner and times.
func TestCrashDuringRollbackOfRemovals(t *testing.T) {
	if testing.Short() {
		t.Skip("kills rollbacks; skipped with -short")
	}
	ctx := context.Background()
	ref, refDir := removalHotfix(t)
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	steps := 0
	ref.host.StepHook = func(string) { steps++ }
	if err := ref.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	for at := 1; at <= steps; at++ {
		sb, dir := removalHotfix(t)
		start := testutil.Snapshot(t, sb.root, true, productTrees...)
		if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		killChild(t, sb, "rollback:"+dir, at)
		err := sb.host.Rollback(ctx, nil, nil)
		if at == steps && err != nil && strings.Contains(err.Error(), "nothing to roll back") {
			// Killed once the journal was gone: the rollback was done; the next apply
			// drops the backups it left.
			err = nil
		} else if _, serr := os.Stat(filepath.Join(dir, "Backup-host1")); err == nil && !os.IsNotExist(serr) {
			t.Fatalf("step %d: backups left: %v", at, serr)
		}
		if err != nil {
			t.Fatalf("step %d: finishing the rollback: %v\n%s", at, err, sb.out)
		}
		if d := testutil.DiffTrees(start, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
			t.Fatalf("step %d: the tree after the finished rollback differs from before the apply:\n%s", at, d)
		}
	}
	t.Logf("a rollback with 8 removals has %d durable steps; killed at each, each finished by the next rollback", steps)
}
