package applier

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// Under -root, what an apply writes besides the product (the hotfix directory's backups,
// journal and log) stays inside the root, whatever symlinks the root holds.

// outsideDir is a directory outside the sandbox's root with one file in it, and its
// snapshot.
func outsideDir(t *testing.T) (string, map[string]testutil.TreeEntry) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, testutil.Snapshot(t, dir, true, ".")
}

func TestHotfixDirSymlinkOutOfRoot(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		link func(sb *sandbox, target string) string // the symlink's target
		want string
	}{
		// The host's view: taken inside the root it is another place, where no hotfix is.
		{"absolute", func(sb *sandbox, target string) string { return target }, "not in"},
		{"relative, climbing out", func(sb *sandbox, target string) string {
			rel, _ := filepath.Rel(filepath.Join(sb.root, "var/opt/shop/Patches"), target)
			return rel
		}, "leads out of the root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"}})
			out, _ := outsideDir(t)
			moved := filepath.Join(out, "hf")
			if err := os.Rename(d, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.link(sb, moved), d); err != nil {
				t.Fatal(err)
			}
			outBefore := testutil.Snapshot(t, out, true, ".")
			before := testutil.Snapshot(t, sb.root, true, productTrees...)
			err := sb.host.Apply(ctx, d, ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("apply through %s: %v, want an error with %q", d, err, tc.want)
			}
			if diff := testutil.DiffTrees(outBefore, testutil.Snapshot(t, out, true, ".")); diff != "" {
				t.Errorf("written outside the root:\n%s", diff)
			}
			if diff := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); diff != "" {
				t.Errorf("product changed:\n%s", diff)
			}
		})
	}
}

func TestBackupDirSymlinkOutOfRoot(t *testing.T) {
	ctx := context.Background()
	spec := hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n", "FileChanges/bin/shopctl": "new\n"}}
	bdir := func(d string) string { return filepath.Join(d, "Backup-host1") }

	t.Run("resumed apply", func(t *testing.T) {
		sb := newSandbox(t, sysconfig.RoleSingle)
		d := sb.makeHotfix(spec)
		sb.host.StepHook = func(step string) {
			if step == "journal written" {
				panic("stop")
			}
		}
		func() {
			defer func() { recover() }()
			sb.host.Apply(ctx, d, ApplyOptions{})
		}()
		sb.host.StepHook = nil
		out, outBefore := outsideDir(t)
		os.RemoveAll(bdir(d))
		if err := os.Symlink(out, bdir(d)); err != nil {
			t.Fatal(err)
		}
		before := testutil.Snapshot(t, sb.root, true, productTrees...)
		err := sb.host.Apply(ctx, d, ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), "is a symlink") {
			t.Fatalf("resumed apply with Backup-host1 -> %s: %v", out, err)
		}
		if diff := testutil.DiffTrees(outBefore, testutil.Snapshot(t, out, true, ".")); diff != "" {
			t.Errorf("backups written outside the root:\n%s", diff)
		}
		if diff := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); diff != "" {
			t.Errorf("product changed:\n%s", diff)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		sb := newSandbox(t, sysconfig.RoleSingle)
		d := sb.makeHotfix(spec)
		if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		// Backups that lead to files outside: the rollback would copy them into the root.
		out, _ := outsideDir(t)
		if err := os.Rename(bdir(d), filepath.Join(out, "b")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(out, "b"), bdir(d)); err != nil {
			t.Fatal(err)
		}
		outBefore := testutil.Snapshot(t, out, true, ".")
		after := testutil.Snapshot(t, sb.root, true, productTrees...)
		err := sb.host.Rollback(ctx, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "is a symlink") {
			t.Fatalf("rollback with Backup-host1 -> %s: %v", out, err)
		}
		if diff := testutil.DiffTrees(outBefore, testutil.Snapshot(t, out, true, ".")); diff != "" {
			t.Errorf("outside the root changed:\n%s", diff)
		}
		if diff := testutil.DiffTrees(after, testutil.Snapshot(t, sb.root, true, productTrees...)); diff != "" {
			t.Errorf("product changed:\n%s", diff)
		}
	})
}

func TestInstallLogSymlink(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"}})
	out, outBefore := outsideDir(t)
	if err := os.Symlink(filepath.Join(out, "keep"), filepath.Join(d, "shop-hotfix-6.14.2.1-install-host1.log")); err != nil {
		t.Fatal(err)
	}
	if err := sb.host.Apply(context.Background(), d, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "install log") {
		t.Fatalf("apply with a symlinked install log: %v", err)
	}
	if diff := testutil.DiffTrees(outBefore, testutil.Snapshot(t, out, true, ".")); diff != "" {
		t.Errorf("log written outside the root:\n%s", diff)
	}
}
