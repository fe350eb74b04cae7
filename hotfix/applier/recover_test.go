package applier

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// TestRecoverFinishesOrUndoes kills an apply (or a rollback) in each state of its journal and
// checks Recover's rule: an apply killed in state backup is undone and the hotfix is unpacked,
// not applied again; from state apply on it is finished; a rollback is finished.
func TestRecoverFinishesOrUndoes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills applies; skipped with -short")
	}
	ctx := context.Background()
	ref, refDir := bigHotfix(t, 20)
	before := testutil.Snapshot(t, ref.root, true, productTrees...)
	var steps []string
	ref.host.StepHook = func(s string) { steps = append(steps, s) }
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	after := testutil.Snapshot(t, ref.root, false, productTrees...)
	var rbSteps []string
	ref.host.StepHook = func(s string) { rbSteps = append(rbSteps, s) }
	if err := ref.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	// at is the 1-based number of the first step of list that starts with prefix.
	at := func(list []string, prefix string) int {
		i := slices.IndexFunc(list, func(s string) bool { return strings.HasPrefix(s, prefix) })
		if i < 0 {
			t.Fatalf("no step %q in %q", prefix, list)
		}
		return i + 1
	}
	for _, tc := range []struct {
		name     string
		rollback bool
		step     int
		line     string
		outcome  Outcome
	}{
		{"journal written", false, at(steps, "journal written"), "undid the interrupted apply of 6.14.2.1 (it stopped in state backup, before the product was touched): it is unpacked, not applied", Unpacked},
		{"backing up", false, at(steps, "backup ") + 3, "undid the interrupted apply of 6.14.2.1 (it stopped in state backup, before the product was touched): it is unpacked, not applied", Unpacked},
		{"state apply", false, at(steps, "state apply"), "finished the interrupted apply of 6.14.2.1 (it stopped in state apply)", Applied},
		{"placing", false, at(steps, "place ") + 5, "finished the interrupted apply of 6.14.2.1 (it stopped in state apply)", Applied},
		{"scripts", false, at(steps, "script "), "finished the interrupted apply of 6.14.2.1 (it stopped in state scripts)", Applied},
		{"check", false, at(steps, "state check"), "finished the interrupted apply of 6.14.2.1 (it stopped in state check)", Applied},
		{"ledger", false, at(steps, "host ledger"), "finished the interrupted apply of 6.14.2.1 (it stopped in state ledger)", Applied},
		{"rollback", true, at(rbSteps, "undo ") + 4, "finished the interrupted rollback of 6.14.2.1 (it began in state done)", RolledBack},
		{"rollback of an apply in backup", false, at(steps, "backup ") + 1, "", Unpacked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, dir := bigHotfix(t, 20)
			if tc.rollback {
				if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			target := dir
			if tc.rollback {
				target = "rollback:" + dir
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", crashEnv, sb.root, target, tc.step))
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || !ee.Sys().(syscall.WaitStatus).Signaled() {
				t.Fatalf("step %d: not killed: %v", tc.step, err)
			}
			if tc.line == "" {
				// A rollback killed after it began on an apply that stopped in state backup.
				jp := journal.Path(dir, "host1")
				j, err := journal.Read(jp)
				if err != nil {
					t.Fatal(err)
				}
				j.RollbackFrom, j.State = j.State, journal.StateRollback
				if err := journal.Write(jp, j); err != nil {
					t.Fatal(err)
				}
				tc.line = "undid the interrupted apply of 6.14.2.1 (it stopped in state backup, before the product was touched): it is unpacked, not applied"
			}
			done, err := sb.host.Recover(ctx, nil)
			if err != nil {
				t.Fatalf("recover: %v\n%s", err, sb.out)
			}
			if len(done) != 1 || done[0].String() != tc.line || done[0].Outcome != tc.outcome {
				t.Fatalf("recovered %v, want one: %s", done, tc.line)
			}
			want, wantLedger := after, "6.14.2.1"
			if tc.outcome != Applied {
				want, wantLedger = before, ""
			}
			if d := testutil.DiffTrees(want, testutil.Snapshot(t, sb.root, tc.outcome != Applied, productTrees...)); d != "" {
				t.Fatalf("tree after recovery:\n%s", d)
			}
			if got := sb.ledger("host1.txt"); got != wantLedger {
				t.Fatalf("ledger %q, want %q", got, wantLedger)
			}
			unpacked, err := sb.host.Unpacked()
			if err != nil {
				t.Fatal(err)
			}
			if wantUnpacked := tc.outcome == Unpacked; (len(unpacked) == 1) != wantUnpacked {
				t.Errorf("Unpacked() = %v after recovery (outcome %d)", unpacked, tc.outcome)
			}
			if tc.outcome == Unpacked {
				logs, _ := filepath.Glob(filepath.Join(dir, "*-install-host1.log.undone-*"))
				if len(logs) != 1 {
					t.Errorf("install log moved aside: %v", logs)
				}
				// And the next apply applies it from the start.
				if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
					t.Fatal(err)
				}
				if d := testutil.DiffTrees(after, testutil.Snapshot(t, sb.root, false, productTrees...)); d != "" {
					t.Fatalf("tree after the next apply:\n%s", d)
				}
			}
			if done, err := sb.host.Recover(ctx, nil); err != nil || len(done) != 0 {
				t.Errorf("a second recover: %v, %v; want nothing to do", done, err)
			}
		})
	}
}

// TestRecoverLeavesAnotherChainAlone: a journal of a hotfix for another base version (left
// from before a product patch) is not finished over the patched product.
func TestRecoverLeavesAnotherChainAlone(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	dir := sb.makeHotfix(hotfixSpec{version: "6.14.1.1", files: map[string]string{"FileChanges/lib/a.txt": "a\n"}})
	j := &journal.Journal{Version: "6.14.1.1", Host: "host1", State: journal.StateApply}
	if err := journal.Write(journal.Path(dir, "host1"), j); err != nil {
		t.Fatal(err)
	}
	done, err := sb.host.Recover(context.Background(), nil)
	if err != nil || len(done) != 0 {
		t.Fatalf("recover: %v, %v", done, err)
	}
	if j, err := journal.Read(journal.Path(dir, "host1")); err != nil || j.State != journal.StateApply {
		t.Fatalf("journal of the other chain: %+v, %v", j, err)
	}
}
