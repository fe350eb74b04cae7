package applier

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// assertUntouched fails unless the product trees, the ledger directory and the hotfix
// directory are exactly as in the snapshots taken before a refused apply.
func assertUntouched(t *testing.T, sb *sandbox, dir string, product, hotfixDir map[string]testutil.TreeEntry) {
	t.Helper()
	if d := testutil.DiffTrees(product, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Errorf("the product tree changed:\n%s", d)
	}
	if d := testutil.DiffTrees(hotfixDir, testutil.Snapshot(t, dir, true, ".")); d != "" {
		t.Errorf("the hotfix directory changed (backups, journal, log):\n%s", d)
	}
	for _, p := range []string{"etc/opt/shop/hotfix", "var/lock/shop-hotfix.lock"} {
		if _, err := os.Lstat(filepath.Join(sb.root, p)); !os.IsNotExist(err) {
			t.Errorf("%s was created (stat: %v)", p, err)
		}
	}
}

// TestApplyChecksBeforeTheFirstWrite: what would stop an apply after the product files were
// replaced (a broken SCRIPT_ENV_FILE, a script that cannot run) stops it before anything is
// written.
func TestApplyChecksBeforeTheFirstWrite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		envFile string
		scripts map[string]string
		links   map[string]string
		exec    string // script to make executable
		wantErr string
	}{
		{name: "env file that does not source", envFile: "DB_HOST=\"db1\nexport DB_HOST\n",
			scripts: map[string]string{"10-db.sh": "true\n"}, wantErr: "SCRIPT_ENV_FILE: read"},
		{name: "env file that fails", envFile: "DB_HOST=db1\nfalse\n", wantErr: "SCRIPT_ENV_FILE: read"},
		{name: "script not executable", scripts: map[string]string{"10-db": "#!/bin/sh\ntrue\n"},
			wantErr: "is not executable and not .sh or .PL"},
		{name: "script missing", links: map[string]string{"Install/10-db.sh": "gone.sh"},
			wantErr: "Install/10-db.sh: stat"},
		{name: "interpreter missing", scripts: map[string]string{"10-db": "#!/nonexistent/tclsh\n"}, exec: "10-db",
			wantErr: "its interpreter /nonexistent/tclsh (#! line) cannot be run"},
		{name: "perl missing", envFile: "PERL=/nonexistent/perl\n", scripts: map[string]string{"10-db.pl": "1;\n"},
			wantErr: "needs /nonexistent/perl, which cannot be run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			if tc.envFile != "" {
				sb.write("etc/default/shop", tc.envFile, 0o644)
			}
			dir := sb.makeHotfix(hotfixSpec{
				version: "6.14.2.1",
				files: map[string]string{
					"FileChanges/lib/Shop/Core.pm": "core 2\n",
					"FileChanges/lib/Shop/New.pm":  "new\n",
				},
				scripts: tc.scripts,
				links:   tc.links,
			})
			if tc.exec != "" {
				if err := os.Chmod(filepath.Join(dir, "Install", tc.exec), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			product := testutil.Snapshot(t, sb.root, true, productTrees...)
			hotfixDir := testutil.Snapshot(t, dir, true, ".")
			err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Apply = %v, want an error containing %q", err, tc.wantErr)
			}
			if h, ok := err.(interface{ Hint() string }); !ok || !strings.Contains(h.Hint(), "nothing was changed") {
				t.Errorf("no hint that nothing was changed: %v", err)
			}
			assertUntouched(t, sb, dir, product, hotfixDir)
		})
	}
}

// mountTmpfs mounts a tmpfs of the given size (mount's -o size=) at dir, for the test.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// TestApplyRefusesWithoutSpace: an apply whose backups (copies onto PATCHES_DIR's file
// system) or new files (beside their targets) do not fit is refused before its first write;
// on a file system large enough the same apply goes through.
func TestApplyRefusesWithoutSpace(t *testing.T) {
	big := strings.Repeat("x", 1500<<10)
	half := strings.Repeat("y", 600<<10)
	for _, tc := range []struct {
		name, mount, size, wantErr string
		product, hotfix            map[string]string
	}{
		{name: "backups on a full file system", mount: "var/opt/shop/Patches", size: "1m",
			product: map[string]string{"opt/shop/lib/big.dat": big},
			hotfix:  map[string]string{"FileChanges/lib/big.dat": "small now\n"},
			wantErr: "Patches/shop-hotfix-6.14.2.1: this apply writes about"},
		{name: "backups with room", mount: "var/opt/shop/Patches", size: "8m",
			product: map[string]string{"opt/shop/lib/big.dat": big},
			hotfix:  map[string]string{"FileChanges/lib/big.dat": "small now\n"}},
		{name: "new files on a full file system", mount: "opt/shop/data", size: "1m",
			product: map[string]string{"opt/shop/data/blob": half},
			hotfix:  map[string]string{"FileChanges/data/blob": half + "2"},
			wantErr: "data: this apply writes about"},
		{name: "new files with room", mount: "opt/shop/data", size: "2m",
			product: map[string]string{"opt/shop/data/blob": half},
			hotfix:  map[string]string{"FileChanges/data/blob": half + "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			mountTmpfs(t, filepath.Join(sb.root, tc.mount), tc.size)
			for rel, content := range tc.product {
				sb.write(rel, content, 0o644)
			}
			dir := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: tc.hotfix})
			product := testutil.Snapshot(t, sb.root, true, productTrees...)
			hotfixDir := testutil.Snapshot(t, dir, true, ".")
			err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Apply with room: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "not enough space") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Apply = %v, want not enough space (%q)", err, tc.wantErr)
			}
			// The host's trouble, not the hotfix's: the drop folder keeps the tarball.
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("errors.Is(%v, ENOSPC) = false", err)
			}
			assertUntouched(t, sb, dir, product, hotfixDir)
		})
	}
}

// TestReapplyChecksBeforeUndo: applying a hotfix again undoes the earlier apply first; a
// broken SCRIPT_ENV_FILE stops it before that undo, not after.
func TestReapplyChecksBeforeUndo(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	dir := sb.makeHotfix(hotfixSpec{
		version: "6.14.2.1",
		files:   map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"},
		scripts: map[string]string{"10-db.sh": "true\n"},
	})
	if err := sb.host.Apply(context.Background(), dir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	applied := testutil.Snapshot(t, sb.root, true, productTrees...)
	sb.write("etc/default/shop", "DB_HOST=\"db1\n", 0o644)
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{NoCheck: true})
	if err == nil || !strings.Contains(err.Error(), "SCRIPT_ENV_FILE") {
		t.Fatalf("Apply again with a broken env file = %v, want a refusal", err)
	}
	if d := testutil.DiffTrees(applied, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Errorf("the refused apply undid the earlier one:\n%s", d)
	}
	if got := sb.ledger("host1.txt"); got != "6.14.2.1" {
		t.Errorf("ledger %q, want the hotfix still applied", got)
	}
}
