package applier

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// The agent prepares the first hotfix of a run (ApplyOptions.Prepare: backups taken,
// nothing placed) while the product is still open, and applies it after PRE_HOOK.

func TestPrepareTouchesNothingAndApplyFinishes(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	ctx := context.Background()
	dirs := chain(sb)
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	if err := sb.host.Apply(ctx, dirs[0], ApplyOptions{Prepare: true}); err != nil {
		t.Fatalf("prepare: %v\n%s", err, sb.out)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Fatalf("prepare changed the product:\n%s", d)
	}
	if got := sb.ledger("host1.txt"); got != "" {
		t.Fatalf("ledger after prepare %q", got)
	}
	// Prepared is not applied: status lists it as unpacked, not as interrupted.
	st, err := sb.host.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Unpacked, " ") != "6.14.2.1 6.14.2.2 6.14.2.3" || len(st.Interrupted) != 0 {
		t.Errorf("status after prepare: unpacked %v, interrupted %v", st.Unpacked, st.Interrupted)
	}
	// Preparing again finds it current and does nothing.
	if err := sb.host.Apply(ctx, dirs[0], ApplyOptions{Prepare: true}); err != nil || !strings.Contains(sb.out.String(), "prepared before, still current") {
		t.Fatalf("prepare again: %v\n%s", err, sb.out)
	}
	if err := sb.host.Apply(ctx, dirs[0], ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, sb.out)
	}
	if got := sb.ledger("host1.txt"); got != "6.14.2.1" {
		t.Fatalf("ledger %q", got)
	}
	if data, _ := os.ReadFile(filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm")); string(data) != "core 2\n" {
		t.Errorf("Core.pm = %q", data)
	}
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Errorf("rollback after a prepared apply is not byte-exact:\n%s", d)
	}
}

// The product stays open between prepare and apply: what it changes meanwhile must be what
// the rollback brings back, and what it adds must not be taken for the hotfix's.
func TestPreparedBackupsTakenAfreshWhenTheProductChanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(sb *sandbox)
	}{
		{"file replaced", func(sb *sandbox) {
			p := filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm")
			os.WriteFile(p+".tmp", []byte("core 1, edited\n"), 0o644)
			if err := os.Rename(p+".tmp", p); err != nil {
				sb.t.Fatal(err)
			}
		}},
		{"added target appeared", func(sb *sandbox) {
			sb.write("var/opt/shop/StoreTypes/Store/Templates/cart.html", "<local/>\n", 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			ctx := context.Background()
			dirs := chain(sb)
			if err := sb.host.Apply(ctx, dirs[0], ApplyOptions{Prepare: true}); err != nil {
				t.Fatalf("prepare: %v\n%s", err, sb.out)
			}
			tc.change(sb)
			before := testutil.Snapshot(t, sb.root, true, productTrees...)
			if err := sb.host.Apply(ctx, dirs[0], ApplyOptions{}); err != nil {
				t.Fatalf("apply: %v\n%s", err, sb.out)
			}
			if !strings.Contains(sb.out.String(), "since the backups were taken: backing up afresh") {
				t.Errorf("output does not say the backups were taken again:\n%s", sb.out)
			}
			if err := sb.host.Rollback(ctx, nil, nil); err != nil {
				t.Fatal(err)
			}
			if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
				t.Errorf("rollback does not give back the product as it was when the apply began:\n%s", d)
			}
		})
	}
}

// An agent that prepared and then stopped (PRE_HOOK failed, a crash) leaves a journal that
// placed nothing; rolling it back must not remove what the product added meanwhile.
func TestUndoOfAPreparedApplyRestoresNothing(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	dirs := chain(sb)
	if err := sb.host.Apply(context.Background(), dirs[0], ApplyOptions{Prepare: true}); err != nil {
		t.Fatalf("prepare: %v\n%s", err, sb.out)
	}
	sb.write("var/opt/shop/StoreTypes/Store/Templates/cart.html", "<local/>\n", 0o644)
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	j, err := journal.Read(journal.Path(dirs[0], "host1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.host.undo(dirs[0], j, sb.out); err != nil {
		t.Fatal(err)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Errorf("undo of a prepared apply changed the product:\n%s", d)
	}
	for _, p := range []string{journal.Path(dirs[0], "host1"), journal.BackupDir(dirs[0], "host1")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
}

// The agent reads and hashes each hotfix before PRE_HOOK and passes it as Checked; the
// apply in the closed window rechecks it by lstat and must notice a file changed since.
func TestCheckedHotfixRechecked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(dir string) error
		want   string
	}{
		{"unchanged", func(string) error { return nil }, ""},
		{"rewritten in place", func(dir string) error {
			p := filepath.Join(dir, "FileChanges/lib/Shop/Core.pm")
			fi, _ := os.Stat(p)
			if err := os.WriteFile(p, []byte("evil 2\n"), 0o644); err != nil {
				return err
			}
			return os.Chtimes(p, fi.ModTime(), fi.ModTime())
		}, "FileChanges/lib/Shop/Core.pm was modified or replaced"},
		{"added", func(dir string) error {
			return keepMtime(filepath.Join(dir, "FileChanges/lib/Shop"), func() error {
				return os.WriteFile(filepath.Join(dir, "FileChanges/lib/Shop/Extra.pm"), []byte("x\n"), 0o644)
			})
		}, "FileChanges/lib/Shop/Extra.pm was added"},
		{"removed", func(dir string) error {
			return keepMtime(filepath.Join(dir, "FileChanges/lib/Shop/Payment"), func() error {
				return os.Remove(filepath.Join(dir, "FileChanges/lib/Shop/Payment/PayPal.pm"))
			})
		}, "an entry was removed"},
		{"directory changed", func(dir string) error {
			return os.Remove(filepath.Join(dir, "FileChanges/lib/Shop/Payment/PayPal.pm"))
		}, "FileChanges/lib/Shop/Payment was modified or replaced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			dirs := chain(sb)
			d, err := hotfix.ReadDir(dirs[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.change(dirs[0]); err != nil {
				t.Fatal(err)
			}
			before := testutil.Snapshot(t, sb.root, true, productTrees...)
			err = sb.host.Apply(context.Background(), dirs[0], ApplyOptions{Checked: d})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("apply: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("apply: %v, want %q", err, tc.want)
			}
			if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
				t.Errorf("a refused apply changed the product:\n%s", d)
			}
		})
	}
}

// keepMtime runs f, which changes directory dir, and gives dir its modification time back.
func keepMtime(dir string, f func() error) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if err := f(); err != nil {
		return err
	}
	return os.Chtimes(dir, fi.ModTime(), fi.ModTime())
}
