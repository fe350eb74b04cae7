package applier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// TestNextRunCleansDebris: what killed runs left (an unpack directory in PATCHES_DIR, a
// temporary file of a ledger or journal write) is removed by the next apply or rollback, under
// the lock; what a live run works on, what is too young, and what only looks like it stays.
func TestNextRunCleansDebris(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	dir := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"}})
	patches := filepath.Dir(dir)
	ledger := filepath.Join(sb.root, "etc/opt/shop/hotfix")
	outside := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	mk := func(p, content string, mtime time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	// Debris.
	mk(filepath.Join(patches, ".hotchain-unpack-1111/shop-hotfix-6.14.2.9/version.txt"), "6.14.2.9\n", old)
	mk(filepath.Join(ledger, ".hotchain-tmp-2222"), "6.14.2.1\n", old)
	mk(filepath.Join(dir, ".hotchain-tmp-3333"), "{}", old)
	// Not debris: a young temporary file, one its writer holds locked, names that only look
	// like hotchain's, and a symlink named like an unpack directory.
	mk(filepath.Join(ledger, ".hotchain-tmp-young"), "x", time.Now())
	mk(filepath.Join(ledger, ".hotchain-tmp-locked"), "x", old)
	mk(filepath.Join(ledger, "hotchain-tmp-4444"), "x", old)
	mk(filepath.Join(ledger, ".hotchain-tmpx"), "x", old)
	mk(filepath.Join(patches, ".hotchain-unpackers/x"), "x", old)
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(patches, ".hotchain-unpack-link")); err != nil {
		t.Fatal(err)
	}
	writer, err := os.OpenFile(filepath.Join(ledger, ".hotchain-tmp-locked"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if err := unix.Flock(int(writer.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(ledger, ".hotchain-tmp-locked"), old, old); err != nil {
		t.Fatal(err)
	}

	// A live unpack (holding PATCHES_DIR's shared lock) keeps its directory through an apply.
	var applyErr error
	_, _, err = fileops.Unpack(patches, func() (string, error) {
		applyErr = sb.host.Apply(context.Background(), dir, ApplyOptions{})
		return dir, nil
	})
	if err != nil || applyErr != nil {
		t.Fatalf("apply during an unpack: %v, %v", err, applyErr)
	}
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	if !exists(filepath.Join(patches, ".hotchain-unpack-1111")) {
		t.Error("an apply removed an unpack directory while an unpack was running")
	}
	for _, p := range []string{filepath.Join(ledger, ".hotchain-tmp-2222"), filepath.Join(dir, ".hotchain-tmp-3333")} {
		if exists(p) {
			t.Errorf("%s left by a killed write is still there after the apply", p)
		}
	}
	// The next run, with no unpack running, removes the killed unpack's directory.
	sb.out.Reset()
	if err := sb.host.Rollback(context.Background(), nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(patches, ".hotchain-unpack-1111")) {
		t.Error("the killed unpack's directory is still there after a rollback")
	}
	for _, p := range []string{
		filepath.Join(ledger, ".hotchain-tmp-young"), filepath.Join(ledger, ".hotchain-tmp-locked"),
		filepath.Join(ledger, "hotchain-tmp-4444"), filepath.Join(ledger, ".hotchain-tmpx"),
		filepath.Join(patches, ".hotchain-unpackers/x"), filepath.Join(patches, ".hotchain-unpack-link"), outside,
	} {
		if !exists(p) {
			t.Errorf("%s was removed", p)
		}
	}
}

// TestFailedBackupLeavesNothing: an apply whose backup fills the disk (another writer took
// the space after the check) takes its half-made backup back.
func TestFailedBackupLeavesNothing(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	patches := filepath.Join(sb.root, "var/opt/shop/Patches")
	mountTmpfs(t, patches, "1m")
	sb.write("opt/shop/lib/a.dat", strings.Repeat("a", 300<<10), 0o644)
	sb.write("opt/shop/lib/b.dat", strings.Repeat("b", 300<<10), 0o644)
	dir := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{
		"FileChanges/lib/a.dat": "a2\n", "FileChanges/lib/b.dat": "b2\n"}})
	product := testutil.Snapshot(t, sb.root, true, productTrees...)
	hotfixDir := testutil.Snapshot(t, dir, false, ".") // its mtime changes: the install log is added
	sb.host.StepHook = func(step string) {
		if step == "journal written" {
			fill(t, filepath.Join(patches, "filler"), 600<<10)
		}
	}
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Apply = %v, want no space left", err)
	}
	if d := testutil.DiffTrees(product, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Errorf("the product tree changed:\n%s", d)
	}
	now := testutil.Snapshot(t, dir, false, ".")
	delete(now, "shop-hotfix-6.14.2.1-install-host1.log")
	if d := testutil.DiffTrees(hotfixDir, now); d != "" {
		t.Errorf("the failed backup left:\n%s", d)
	}
}

// TestRollbackOnFullDiskFreesFirst: an apply killed during its backup, on a disk that is then
// full, is rolled back: the half-made backup goes before the rollback writes its journal.
func TestRollbackOnFullDiskFreesFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("kills an apply; skipped with -short")
	}
	sb := newSandbox(t, sysconfig.RoleSingle)
	patches := filepath.Join(sb.root, "var/opt/shop/Patches")
	mountTmpfs(t, patches, "1m")
	sb.write("opt/shop/lib/a.dat", strings.Repeat("a", 300<<10), 0o644)
	sb.write("opt/shop/lib/b.dat", strings.Repeat("b", 300<<10), 0o644)
	dir := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{
		"FileChanges/lib/a.dat": "a2\n", "FileChanges/lib/b.dat": "b2\n"}})
	product := testutil.Snapshot(t, sb.root, true, productTrees...)
	// Killed at its second step: the journal is written, a backup is being made.
	if code := runCrashChild(t, sb.root, dir, 2); code != -1 {
		t.Fatalf("the apply was not killed (exit %d)", code)
	}
	if _, err := os.Stat(journal.Path(dir, "host1")); err != nil {
		t.Fatalf("no journal after the kill: %v", err)
	}
	fill(t, filepath.Join(patches, "filler"), 1<<20)
	if err := sb.host.Rollback(context.Background(), nil, io.Discard); err != nil {
		t.Fatalf("rollback on the full disk: %v", err)
	}
	if d := testutil.DiffTrees(product, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Errorf("the product tree changed:\n%s", d)
	}
	for _, p := range []string{journal.Path(dir, "host1"), journal.BackupDir(dir, "host1")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there (stat: %v)", p, err)
		}
	}
}

// fill writes up to n bytes to p, stopping quietly when the disk is full.
func fill(t *testing.T, p string, n int) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for written := 0; written < n; written += len(buf) {
		if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// runCrashChild applies dir under root in a child process that kills itself (SIGKILL) at
// its at-th step; it returns the exit code, -1 when the child was killed.
func runCrashChild(t *testing.T, root, dir string, at int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", crashEnv, root, dir, at))
	err := cmd.Run()
	var x *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &x):
		return x.ExitCode()
	}
	t.Fatal(err)
	return 0
}
