package treediff

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

var (
	oldTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
)

// tree builds a test tree; every entry gets oldTime unless set otherwise.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T, name string) *tree {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tree{t: t, root: root}
}

func (tr *tree) p(rel string) string { return filepath.Join(tr.root, filepath.FromSlash(rel)) }

func (tr *tree) file(rel, content string, mode os.FileMode) *tree {
	tr.t.Helper()
	p := tr.p(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	os.Remove(p)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr *tree) dir(rel string, mode os.FileMode) *tree {
	tr.t.Helper()
	if err := os.MkdirAll(tr.p(rel), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(tr.p(rel), mode); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr *tree) link(rel, target string) *tree {
	tr.t.Helper()
	p := tr.p(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

// stamp gives every entry the time at.
func (tr *tree) stamp(at time.Time) *tree {
	tr.t.Helper()
	var paths []string
	filepath.WalkDir(tr.root, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		touch(tr.t, paths[i], at)
	}
	return tr
}

func touch(t *testing.T, p string, at time.Time) {
	t.Helper()
	ts := []syscall.Timespec{syscall.NsecToTimespec(at.UnixNano()), syscall.NsecToTimespec(at.UnixNano())}
	if err := utimesNoFollow(p, ts); err != nil {
		t.Fatal(err)
	}
}

// copyTree is cp -a of src to a new directory.
func copyTree(t *testing.T, src string) *tree {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	return &tree{t: t, root: dst}
}

// productTrees is OLD and NEW of a product layout with every kind of change: replaced,
// added and removed files, a changed mode, changed and added symlinks, a new directory
// tree, a removed directory tree, non-ASCII and odd names.
func productTrees(t *testing.T) (old, new *tree) {
	old = newTree(t, "old")
	old.file("bin/shopctl", "#!/bin/sh\necho 1\n", 0o755).
		file("lib/Shop/Core.pm", "core 1\n", 0o644).
		file("lib/Shop/Cart.pm", "cart 1\n", 0o640).
		file("lib/Shop/Same.pm", "same\n", 0o644).
		file("lib/Shop/Sized.pm", "aaaa\n", 0o644).
		file("lib/Shop/mode.sh", "echo\n", 0o644).
		file("lib/Shop/Grüße.pm", "alt\n", 0o644).
		file("lib/Shop/obsolete.pm", "gone\n", 0o644).
		file("lib/Old/a.pm", "a\n", 0o644).
		file("lib/Old/deep/b.pm", "b\n", 0o600).
		link("lib/Old/deep/c", "b.pm").
		link("lib/Shop/Default.pm", "Core.pm").
		link("lib/Shop/gone-link", "Core.pm").
		file("share/odd\\name\nwith newline", "odd 1\n", 0o644).
		file("share/bad\xffutf8", "bad 1\n", 0o644).
		file("etc/shop.conf", "x=1\n", 0o644)
	old.stamp(oldTime)
	newT := copyTree(t, old.root)
	newT.file("lib/Shop/Core.pm", "core 2, longer\n", 0o644).
		file("lib/Shop/Sized.pm", "bbbb\n", 0o644).  // same size, other bytes
		file("lib/Shop/Cart.pm", "cart 1\n", 0o600). // mode only
		file("lib/Shop/mode.sh", "echo\n", 0o755).
		file("lib/Shop/Grüße.pm", "neu\n", 0o644).
		file("lib/Shop/Neu€.pm", "new\n", 0o644).
		link("lib/Shop/Default.pm", "Cart.pm").
		link("lib/Shop/new-link", "../../bin/shopctl").
		file("lib/New/sub/x.pm", "x\n", 0o640).
		dir("lib/New/empty", 0o750).
		link("lib/New/sub/y", "x.pm").
		file("share/odd\\name\nwith newline", "odd 2\n", 0o644).
		file("share/bad\xffutf8", "bad 2\n", 0o644).
		file("share/new\xfe\\\r", "new odd\n", 0o644)
	for _, rel := range []string{"lib/Shop/obsolete.pm", "lib/Shop/gone-link"} {
		if err := os.Remove(newT.p(rel)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(newT.p("lib/Old")); err != nil {
		t.Fatal(err)
	}
	// What the hotfix places has new times; directories are left as they come.
	for _, rel := range []string{"lib/Shop/Core.pm", "lib/Shop/Sized.pm", "lib/Shop/Cart.pm", "lib/Shop/mode.sh", "lib/Shop/Grüße.pm", "lib/Shop/Neu€.pm",
		"lib/Shop/Default.pm", "lib/Shop/new-link", "lib/New/sub/x.pm", "lib/New/sub/y", "share/odd\\name\nwith newline", "share/bad\xffutf8", "share/new\xfe\\\r"} {
		touch(t, newT.p(rel), newTime)
	}
	return old, newT
}

func mustVersion(t *testing.T, s string) hotfix.Version {
	t.Helper()
	v, err := hotfix.ParseHotfixVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func makeDiff(t *testing.T, old, new *tree, trees []Tree) (string, *Result, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "shop-hotfix-6.14.2.4")
	res, err := Make(context.Background(), Options{Old: old.root, New: new.root, Out: out, Version: mustVersion(t, "6.14.2.4"), Trees: trees})
	return out, res, err
}

// applyOnHost lays the hotfix dir over a copy of the product tree old on a sandbox host,
// with the real applier, and returns the host and the product tree's path.
func applyOnHost(t *testing.T, dir string, old *tree, trees []Tree) (*hotfix.Host, string) {
	t.Helper()
	root := t.TempDir()
	prod := filepath.Join(root, "opt/shop")
	if err := os.MkdirAll(filepath.Dir(prod), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", old.root, prod).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	cfg := &sysconfig.Config{
		Root: root, Product: "shop", ProductRoot: "/opt/shop", PatchesDir: "/var/opt/shop/Patches",
		LedgerDir: "/etc/opt/shop/hotfix", HostRole: sysconfig.RoleSingle, Hostname: "host1",
		LockTS: "/var/lock/shop-hotfix.lock/ts.lock",
	}
	for _, tr := range trees {
		cfg.ChangeTrees = append(cfg.ChangeTrees, sysconfig.ChangeTree{Dir: tr.Dir, Root: filepath.Join("/opt/shop", tr.Sub)})
	}
	h := &hotfix.Host{Cfg: cfg, Out: io.Discard}
	v, err := hotfix.ReadVersionFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	hd := h.HotfixDir(v)
	if err := os.MkdirAll(filepath.Dir(hd), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", dir, hd).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	if err := h.Apply(context.Background(), hd, hotfix.ApplyOptions{NoCheck: true}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return h, prod
}

// TestRoundTrip: the hotfix made from OLD and NEW, applied by the real applier to a copy of
// OLD, gives NEW exactly (kind, mode, owner, content, link target, file times); rolled back,
// OLD exactly, directory times too.
func TestRoundTrip(t *testing.T) {
	old, new := productTrees(t)
	if !typeChanges && !removalsApplied {
		// Without removals the applier cannot remove anything: drop the removals from NEW.
		t.Skip("the applier does not remove entries yet")
	}
	oldSnap := testutil.Snapshot(t, old.root, true, ".")
	newSnap := testutil.Snapshot(t, new.root, false, ".")
	dir, res, err := makeDiff(t, old, new, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced != 8 || res.Added != 5 || res.Removed != 5 || res.DirsAdded != 3 || res.DirsRemoved != 2 {
		t.Errorf("result %+v", res)
	}
	if d := testutil.DiffTrees(oldSnap, testutil.Snapshot(t, old.root, true, ".")); d != "" {
		t.Fatalf("diff changed OLD:\n%s", d)
	}
	h, prod := applyOnHost(t, dir, old, DefaultTrees)
	if d := testutil.DiffTrees(newSnap, testutil.Snapshot(t, prod, false, ".")); d != "" {
		t.Fatalf("applied hotfix differs from NEW:\n%s", d)
	}
	if err := h.Rollback(context.Background(), mustVersion(t, "6.14.2.4"), io.Discard); err != nil {
		t.Fatal(err)
	}
	if d := testutil.DiffTrees(oldSnap, testutil.Snapshot(t, prod, true, ".")); d != "" {
		t.Fatalf("rolled back tree differs from OLD:\n%s", d)
	}
}

// removalsApplied says whether the applier of this build removes FileRemovals entries.
var removalsApplied = false

// TestRoundTripNoRemovals: as TestRoundTrip, for trees that differ by additions and
// replacements only, and the hotfix directory holds what build needs.
func TestRoundTripNoRemovals(t *testing.T) {
	old, new := productTrees(t)
	// NEW keeps what OLD has.
	new.file("lib/Shop/obsolete.pm", "gone\n", 0o644).link("lib/Shop/gone-link", "Core.pm").
		file("lib/Old/a.pm", "a\n", 0o644).file("lib/Old/deep/b.pm", "b\n", 0o600).link("lib/Old/deep/c", "b.pm")
	for _, rel := range []string{"lib/Shop/obsolete.pm", "lib/Shop/gone-link", "lib/Old/a.pm", "lib/Old/deep/b.pm", "lib/Old/deep/c", "lib/Old/deep", "lib/Old"} {
		touch(t, new.p(rel), oldTime)
	}
	oldSnap := testutil.Snapshot(t, old.root, true, ".")
	newSnap := testutil.Snapshot(t, new.root, false, ".")
	dir, res, err := makeDiff(t, old, new, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced != 8 || res.Added != 5 || res.Removed != 0 || res.DirsAdded != 3 {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, hotfix.RemovalsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FileRemovals written for a hotfix that removes nothing: %v", err)
	}
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CheckFilelist(); err != nil {
		t.Fatal(err)
	}
	if got := d.Version.String(); got != "6.14.2.4" {
		t.Errorf("version %s", got)
	}
	for _, e := range d.Entries {
		if strings.HasPrefix(e.Rel, "Backup-") || strings.HasSuffix(e.Rel, ".log") {
			t.Errorf("the self-check's apply left %s in the hotfix", e.Rel)
		}
	}
	if d := testutil.DiffTrees(oldSnap, testutil.Snapshot(t, old.root, true, ".")); d != "" {
		t.Fatalf("diff changed OLD:\n%s", d)
	}
	if d := testutil.DiffTrees(newSnap, testutil.Snapshot(t, new.root, false, ".")); d != "" {
		t.Fatalf("diff changed NEW:\n%s", d)
	}
	h, prod := applyOnHost(t, dir, old, DefaultTrees)
	if d := testutil.DiffTrees(newSnap, testutil.Snapshot(t, prod, false, ".")); d != "" {
		t.Fatalf("applied hotfix differs from NEW:\n%s", d)
	}
	if err := h.Rollback(context.Background(), mustVersion(t, "6.14.2.4"), io.Discard); err != nil {
		t.Fatal(err)
	}
	if d := testutil.DiffTrees(oldSnap, testutil.Snapshot(t, prod, true, ".")); d != "" {
		t.Fatalf("rolled back tree differs from OLD:\n%s", d)
	}
}

var _ = bytes.NewBuffer

func utimesNoFollow(p string, ts []syscall.Timespec) error {
	return unixUtimes(p, ts)
}
