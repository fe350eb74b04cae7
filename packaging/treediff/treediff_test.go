package treediff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
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
	if err := setTime(p, unix.NsecToTimespec(at.UnixNano())); err != nil {
		t.Fatal(err)
	}
}

// cloneTree is cp -a of src to a new directory.
func cloneTree(t *testing.T, src string) *tree {
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
		file("share/odd\\name with space", "odd 1\n", 0o644).
		file("share/bad\xffutf8", "bad 1\n", 0o644).
		file("etc/shop.conf", "x=1\n", 0o644)
	old.stamp(oldTime)
	newT := cloneTree(t, old.root)
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
		file("share/odd\\name with space", "odd 2\n", 0o644).
		file("share/bad\xffutf8", "bad 2\n", 0o644).
		file("share/new\xfe\\", "new odd\n", 0o644)
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
		"lib/Shop/Default.pm", "lib/Shop/new-link", "lib/New/sub/x.pm", "lib/New/sub/y", "share/odd\\name with space", "share/bad\xffutf8", "share/new\xfe\\"} {
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
func applyOnHost(t *testing.T, dir string, old *tree, trees []Tree) (*applier.Host, string) {
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
	h := &applier.Host{Cfg: cfg, Out: io.Discard}
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
	if err := h.Apply(context.Background(), hd, applier.ApplyOptions{NoCheck: true}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return h, prod
}

// TestRoundTrip: the hotfix made from OLD and NEW, applied by the real applier to a copy of
// OLD, gives NEW exactly (kind, mode, owner, content, link target, file times); rolled back,
// OLD exactly, directory times too. The self-check runs in a tmpfs and, the second time,
// beside the hotfix directory.
func TestRoundTrip(t *testing.T) {
	t.Run("tmpfs", testRoundTrip)
	t.Run("beside", func(t *testing.T) {
		noScratch = true
		defer func() { noScratch = false }()
		testRoundTrip(t)
	})
}

func testRoundTrip(t *testing.T) {
	old, new := productTrees(t)
	res := roundTrip(t, old, new)
	if res.Replaced != 8 || res.Added != 5 || res.Removed != 5 || res.DirsAdded != 3 || res.DirsRemoved != 2 {
		t.Errorf("result %+v", res)
	}
}

// roundTrip diffs old and new, checks that the diff left OLD as it was, applies the hotfix
// to a copy of old (the product is then new) and rolls it back (the product is then old).
func roundTrip(t *testing.T, old, new *tree) *Result {
	t.Helper()
	oldSnap := testutil.Snapshot(t, old.root, true, ".")
	newSnap := testutil.Snapshot(t, new.root, false, ".")
	dir, res, err := makeDiff(t, old, new, nil)
	if err != nil {
		t.Fatal(err)
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
	return res
}

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

// refusedBy runs a diff that must be refused with an error that says want, and checks that
// it left nothing behind.
func refusedBy(t *testing.T, old, new *tree, trees []Tree, want ...string) {
	t.Helper()
	dir, _, err := makeDiff(t, old, new, trees)
	if err == nil {
		t.Fatal("diff did not refuse")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	var h interface{ Hint() string }
	if !errors.As(err, &h) || h.Hint() == "" {
		t.Errorf("error %q has no hint", err)
	}
	left, _ := os.ReadDir(filepath.Dir(dir))
	if len(left) != 0 {
		t.Errorf("a refused diff left %v", left)
	}
}

func TestRefused(t *testing.T) {
	base := func(t *testing.T) (*tree, *tree) {
		old := newTree(t, "old").file("lib/a.pm", "a\n", 0o644).file("bin/tool", "t\n", 0o755).dir("var", 0o755).stamp(oldTime)
		return old, cloneTree(t, old.root)
	}
	t.Run("fifo", func(t *testing.T) {
		old, new := base(t)
		if err := syscall.Mkfifo(new.p("lib/pipe"), 0o644); err != nil {
			t.Fatal(err)
		}
		refusedBy(t, old, new, nil, "lib/pipe", "named pipe", "only files, directories and symlinks")
	})
	t.Run("setuid", func(t *testing.T) {
		old, new := base(t)
		new.file("bin/tool", "t2\n", 0o755|os.ModeSetuid)
		refusedBy(t, old, new, nil, "bin/tool", "setuid", "Install script")
	})
	t.Run("setgid directory", func(t *testing.T) {
		old, new := base(t)
		new.dir("shared", 0o775|os.ModeSetgid)
		refusedBy(t, old, new, nil, "shared", "setgid")
	})
	t.Run("absolute symlink", func(t *testing.T) {
		old, new := base(t)
		new.link("lib/abs", "/etc/passwd").link("lib/up", "../../outside")
		refusedBy(t, old, new, nil, "lib/abs: is a symlink to /etc/passwd, which leads out of its change tree", "lib/up: is a symlink to ../../outside")
	})
	t.Run("symlink out of its change tree", func(t *testing.T) {
		old, new := base(t)
		new.link("lib/tool", "../bin/tool")
		refusedBy(t, old, new, []Tree{{Dir: "FileChanges", Sub: "lib"}, {Dir: "BinChanges", Sub: "bin"}}, "lib/tool: is a symlink to ../bin/tool")
	})
	t.Run("temporary name", func(t *testing.T) {
		old, new := base(t)
		new.file("lib/.hotchain-0123456789ab.new", "x\n", 0o644)
		refusedBy(t, old, new, nil, "lib/.hotchain-0123456789ab.new: its name starts with .hotchain-")
	})
	t.Run("control character in a name", func(t *testing.T) {
		old, new := base(t)
		old.file("lib/gone\tname", "g\n", 0o644)
		new.file("lib/new\nline", "n\n", 0o644)
		refusedBy(t, old, new, nil, `"lib/gone\tname": removed (file); its name holds a control character`, `"lib/new\nline": added (file); its name holds a control character`)
	})
	t.Run("extended attribute added to an equal file", func(t *testing.T) {
		old, new := base(t)
		setXattr(t, new.p("bin/tool"), "user.cap", "x")
		refusedBy(t, old, new, nil, "bin/tool: extended attributes change from none to user.cap", "setcap")
	})
	t.Run("extended attribute value changes", func(t *testing.T) {
		old, new := base(t)
		setXattr(t, old.p("bin/tool"), "user.cap", "x")
		setXattr(t, new.p("bin/tool"), "user.cap", "y")
		refusedBy(t, old, new, nil, "bin/tool: extended attributes (user.cap) change their values")
	})
	t.Run("changed file carries an extended attribute", func(t *testing.T) {
		old, new := base(t)
		setXattr(t, old.p("bin/tool"), "user.cap", "x")
		new.file("bin/tool", "t2\n", 0o755)
		setXattr(t, new.p("bin/tool"), "user.cap", "x")
		refusedBy(t, old, new, nil, "bin/tool: carries extended attributes (user.cap): a hotfix places no extended attributes")
	})
	t.Run("added file and directory carry extended attributes", func(t *testing.T) {
		old, new := base(t)
		new.file("lib/b.pm", "b\n", 0o644).dir("lib/d", 0o755)
		setXattr(t, new.p("lib/b.pm"), "user.b", "1")
		setXattr(t, new.p("lib/d"), "user.d", "1")
		refusedBy(t, old, new, nil, "lib/b.pm: carries extended attributes (user.b)", "lib/d: carries extended attributes (user.d)")
	})
	t.Run("owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("chown needs root")
		}
		old, new := base(t)
		if err := os.Lchown(new.p("lib/a.pm"), 1, 1); err != nil {
			t.Fatal(err)
		}
		refusedBy(t, old, new, nil, "lib/a.pm", "owner changes from 0:0 to 1:1")
	})
	t.Run("owner of a new file", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("chown needs root")
		}
		old, new := base(t)
		new.file("lib/b.pm", "b\n", 0o644)
		if err := os.Lchown(new.p("lib/b.pm"), 2, 2); err != nil {
			t.Fatal(err)
		}
		refusedBy(t, old, new, nil, "lib/b.pm", "owner of its directory")
	})
	t.Run("directory mode", func(t *testing.T) {
		old, new := base(t)
		new.dir("var", 0o700)
		refusedBy(t, old, new, nil, "var: directory mode changes from drwxr-xr-x to drwx------")
	})
	t.Run("file to directory", func(t *testing.T) {
		old, new := base(t)
		os.Remove(new.p("lib/a.pm"))
		new.file("lib/a.pm/inner", "x\n", 0o644)
		refusedBy(t, old, new, nil, "lib/a.pm: is a file in the old tree and a directory in the new")
	})
	t.Run("outside the mapped subtrees", func(t *testing.T) {
		old, new := base(t)
		new.file("lib/a.pm", "a2\n", 0o644).file("bin/tool", "t2\n", 0o755)
		refusedBy(t, old, new, []Tree{{Dir: "FileChanges", Sub: "lib"}}, "bin/tool: file changed, outside every mapped subtree (FileChanges=lib)")
	})
	t.Run("no difference", func(t *testing.T) {
		old, new := base(t)
		refusedBy(t, old, new, nil, "do not differ")
	})
	t.Run("out not empty", func(t *testing.T) {
		old, new := base(t)
		new.file("lib/a.pm", "a2\n", 0o644)
		out := filepath.Join(t.TempDir(), "out")
		if err := os.MkdirAll(filepath.Join(out, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Make(context.Background(), Options{Old: old.root, New: new.root, Out: out, Version: mustVersion(t, "6.14.2.4")})
		if err == nil || !strings.Contains(err.Error(), "exists and is not empty") {
			t.Fatalf("err = %v", err)
		}
		if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 1 {
			t.Errorf("left %v", left)
		}
	})
	t.Run("out inside a tree", func(t *testing.T) {
		old, new := base(t)
		new.file("lib/a.pm", "a2\n", 0o644)
		_, err := Make(context.Background(), Options{Old: old.root, New: new.root, Out: new.p("hotfix"), Version: mustVersion(t, "6.14.2.4")})
		if err == nil || !strings.Contains(err.Error(), "inside or above") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestEmptyOutIsTaken: an empty -out directory is taken.
func TestEmptyOutIsTaken(t *testing.T) {
	old := newTree(t, "old").file("lib/a.pm", "a\n", 0o644).stamp(oldTime)
	new := cloneTree(t, old.root).file("lib/a.pm", "a2\n", 0o644)
	out := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Make(context.Background(), Options{Old: old.root, New: new.root, Out: out, Version: mustVersion(t, "6.14.2.4")}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "FileChanges/lib/a.pm"))
	if err != nil || string(got) != "a2\n" {
		t.Fatalf("FileChanges/lib/a.pm: %q, %v", got, err)
	}
}

// TestTrees: -trees maps change trees to subtrees; a hotfix of several trees round-trips
// through an applier whose CHANGE_TREES maps them the same way.
func TestTrees(t *testing.T) {
	old := newTree(t, "old").file("app/lib/a.pm", "a\n", 0o644).file("app/lib/gone.pm", "g\n", 0o644).
		file("types/Store/layout.xml", "<l/>\n", 0o644).file("README", "r\n", 0o644).stamp(oldTime)
	new := cloneTree(t, old.root).file("app/lib/a.pm", "a2\n", 0o644).file("types/Store/new.xml", "<n/>\n", 0o644)
	os.Remove(new.p("app/lib/gone.pm"))
	touch(t, new.p("app/lib/a.pm"), newTime)
	touch(t, new.p("types/Store/new.xml"), newTime)
	trees, err := ParseTrees("FileChanges=app,StoreTypeChanges=types/")
	if err != nil {
		t.Fatal(err)
	}
	dir, _, err := makeDiff(t, old, new, trees)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"FileChanges/lib/a.pm", "StoreTypeChanges/Store/new.xml"} {
		if _, err := os.Lstat(filepath.Join(dir, rel)); err != nil {
			t.Error(err)
		}
	}
	rs, err := hotfix.ReadRemovals(dir)
	if err != nil || len(rs) != 1 || rs[0].Path != "FileChanges/lib/gone.pm" || rs[0].Kind != hotfix.RemoveFile {
		t.Fatalf("removals %+v, %v", rs, err)
	}
	newSnap := testutil.Snapshot(t, new.root, false, ".")
	_, prod := applyOnHost(t, dir, old, trees)
	if d := testutil.DiffTrees(newSnap, testutil.Snapshot(t, prod, false, ".")); d != "" {
		t.Fatalf("applied hotfix differs from NEW:\n%s", d)
	}
}

func TestParseTrees(t *testing.T) {
	for _, bad := range []string{"", "FileChanges", "a/b=x", "Install=x", "FileChanges=/abs", "FileChanges=../up", "A=x,A=y", "A=x,B=x", "version.txt=x",
		"fixed-bugs.txt=x", "fixed-files.txt=x", "install.txt=x", "restart.txt=x", "filelist.txt=x", "FileRemovals=x", "Backup-1=x", ".hidden=x", "a-install-1.log=x"} {
		if _, err := ParseTrees(bad); err == nil {
			t.Errorf("ParseTrees(%q) took it", bad)
		}
	}
	got, err := ParseTrees("FileChanges=app, StoreTypeChanges=var/types/")
	if err != nil || len(got) != 2 || got[1] != (Tree{Dir: "StoreTypeChanges", Sub: "var/types"}) {
		t.Fatalf("%+v, %v", got, err)
	}
}

// TestSelfCheckCatchesABrokenHotfix: a hotfix broken after it was written (an entry left
// out, a mode changed) fails the self-check, which names the entry, and nothing is left.
func TestSelfCheckCatchesABrokenHotfix(t *testing.T) {
	for name, c := range map[string]struct {
		breakIt func(t *testing.T, dir string)
		want    string
	}{
		"entry left out": {func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "FileChanges/lib/Shop/Neu€.pm")); err != nil {
				t.Fatal(err)
			}
		}, "lib/Shop/Neu€.pm: is missing"},
		"mode": {func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "FileChanges/lib/Shop/mode.sh"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "lib/Shop/mode.sh: mode -rwx------, want -rwxr-xr-x"},
		"content": {func(t *testing.T, dir string) {
			p := filepath.Join(dir, "FileChanges/lib/Shop/Sized.pm")
			fi, _ := os.Stat(p)
			if err := os.WriteFile(p, []byte("cccc\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			touch(t, p, fi.ModTime())
		}, "lib/Shop/Sized.pm: content differs"},
		"removal left out": {func(t *testing.T, dir string) {
			p := filepath.Join(dir, hotfix.RemovalsFile)
			rs, err := hotfix.ReadRemovals(dir)
			if err != nil {
				t.Fatal(err)
			}
			var keep []hotfix.Removal
			for _, r := range rs {
				if r.Path != "FileChanges/lib/Shop/obsolete.pm" {
					keep = append(keep, r)
				}
			}
			if err := os.WriteFile(p, hotfix.FormatRemovals(keep), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "lib/Shop/obsolete.pm: is still there"},
	} {
		t.Run(name, func(t *testing.T) {
			old, new := productTrees(t)
			faultHook = func(dir string) {
				c.breakIt(t, dir)
				// The file list as it would be for the broken hotfix.
				os.Remove(filepath.Join(dir, hotfix.FilelistFile))
				d, err := hotfix.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, hotfix.FilelistFile), d.Filelist(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			defer func() { faultHook = nil }()
			refusedBy(t, old, new, nil, "self-check", c.want)
		})
	}
}

// TestRetargetedSymlinkToDirectory: a symlink to a directory that points elsewhere in NEW
// (current -> v1 becoming current -> v2) is shipped as the new link; applied, the product
// is NEW, and rolled back, OLD.
func TestRetargetedSymlinkToDirectory(t *testing.T) {
	old := newTree(t, "old").file("v1/a", "1\n", 0o644).file("v2/a", "2\n", 0o644).link("current", "v1").stamp(oldTime)
	new := cloneTree(t, old.root).link("current", "v2")
	retargetRoundTrip(t, old, new)
}

// retargetRoundTrip is roundTrip for trees that differ by one retargeted symlink.
func retargetRoundTrip(t *testing.T, old, new *tree) {
	t.Helper()
	if res := roundTrip(t, old, new); res.Replaced != 1 {
		t.Errorf("result %+v, want the one link replaced", res)
	}
}

// TestFileAndSymlinkReplaceEachOther: a file that becomes a symlink and a symlink that
// becomes a file are replacements, which the applier places in one hotfix; they round-trip.
func TestFileAndSymlinkReplaceEachOther(t *testing.T) {
	old := newTree(t, "old").file("lib/x.pm", "x\n", 0o644).file("lib/y.pm", "y\n", 0o644).link("lib/current.pm", "y.pm").stamp(oldTime)
	new := cloneTree(t, old.root)
	if err := os.Remove(new.p("lib/x.pm")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(new.p("lib/current.pm")); err != nil {
		t.Fatal(err)
	}
	new.link("lib/x.pm", "y.pm").file("lib/current.pm", "now a file\n", 0o644)
	if res := roundTrip(t, old, new); res.Replaced != 2 || res.Added+res.Removed != 0 {
		t.Errorf("result %+v, want two entries replaced", res)
	}
}

// TestSelfCheckSeesTemporaryNames: a product file that bears the temporary name the
// applier would give a changed file is copied into the sparse copy, so the self-check
// refuses as a host's applier would.
func TestSelfCheckSeesTemporaryNames(t *testing.T) {
	sum := sha256.Sum256([]byte("a.pm"))
	temp := "lib/" + tempPrefix + hex.EncodeToString(sum[:6]) + ".new"
	old := newTree(t, "old").file("lib/a.pm", "a\n", 0o644).file(temp, "product data\n", 0o644).stamp(oldTime)
	new := cloneTree(t, old.root).file("lib/a.pm", "a2\n", 0o644)
	refusedBy(t, old, new, nil, "self-check", "under the name hotchain gives the temporary copy")
}

// TestNestedTrees: a subtree mapped inside another belongs to the deeper mapping, and the
// hotfix round-trips through hosts whose CHANGE_TREES nest the same way.
func TestNestedTrees(t *testing.T) {
	old := newTree(t, "old").file("lib/a.pm", "a\n", 0o644).file("var/types/t.xml", "<t/>\n", 0o644).stamp(oldTime)
	new := cloneTree(t, old.root).file("lib/a.pm", "a2\n", 0o644).file("var/types/t.xml", "<t2/>\n", 0o644).file("var/other.txt", "o\n", 0o644)
	trees := []Tree{{Dir: "FileChanges", Sub: "."}, {Dir: "StoreTypeChanges", Sub: "var/types"}}
	dir, _, err := makeDiff(t, old, new, trees)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{"FileChanges/lib/a.pm": true, "FileChanges/var/other.txt": true, "StoreTypeChanges/t.xml": true, "FileChanges/var/types/t.xml": false} {
		if _, err := os.Lstat(filepath.Join(dir, rel)); (err == nil) != want {
			t.Errorf("%s: want present %v, %v", rel, want, err)
		}
	}
	newSnap := testutil.Snapshot(t, new.root, false, ".")
	_, prod := applyOnHost(t, dir, old, trees)
	if d := testutil.DiffTrees(newSnap, testutil.Snapshot(t, prod, false, ".")); d != "" {
		t.Fatalf("applied hotfix differs from NEW:\n%s", d)
	}
}

// TestUnchangedSpecialFiles: a pipe that is the same in both trees is no difference; hard
// links are files like any other.
func TestUnchangedSpecialFiles(t *testing.T) {
	old := newTree(t, "old").file("lib/a.pm", "a\n", 0o644).dir("run", 0o755)
	if err := syscall.Mkfifo(old.p("run/pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(old.p("lib/a.pm"), old.p("lib/hard.pm")); err != nil {
		t.Fatal(err)
	}
	old.stamp(oldTime)
	new := cloneTree(t, old.root)
	// Written anew, so the hard link of NEW keeps the old content.
	os.Remove(new.p("lib/a.pm"))
	new.file("lib/a.pm", "a2\n", 0o644)
	dir, res, err := makeDiff(t, old, new, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced != 1 || res.Added+res.Removed != 0 {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Lstat(filepath.Join(dir, "FileChanges/lib/hard.pm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unchanged hard link was shipped: %v", err)
	}
}

// TestSelfCheckFollowsSymlinksOnTheWay: a replaced symlink whose target lies through
// another symlink: the sparse copy holds the whole way, so the self-check sees the
// directory at its end as the applier on a host would, and the retargeted link round-trips.
func TestSelfCheckFollowsSymlinksOnTheWay(t *testing.T) {
	old := newTree(t, "old").file("releases/v1/a", "1\n", 0o644).file("releases/v2/a", "2\n", 0o644).
		link("latest", "releases").link("current", "latest/v1").stamp(oldTime)
	new := cloneTree(t, old.root).link("current", "latest/v2")
	retargetRoundTrip(t, old, new)
}

// setXattr sets the extended attribute name of p; the test is skipped where the file
// system has none.
func setXattr(t *testing.T, p, name, value string) {
	t.Helper()
	if err := unix.Lsetxattr(p, name, []byte(value), 0); err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			t.Skipf("%s: the file system takes no extended attributes", p)
		}
		t.Fatal(err)
	}
}

// scratchLeft lists the self-check's directories in the scratch roots.
func scratchLeft() map[string]bool {
	left := map[string]bool{}
	for _, d := range scratchRoots() {
		names, _ := filepath.Glob(filepath.Join(d, scratchPrefix+"*"))
		for _, n := range names {
			left[n] = true
		}
	}
	return left
}

// TestInterrupted: a diff whose context ends, before the walk or after the hotfix is
// written (in the self-check and the copy to -out), stops with an error that wraps the
// context's, and leaves nothing beside -out or in the scratch.
func TestInterrupted(t *testing.T) {
	for _, when := range []string{"before the walk", "after the write"} {
		t.Run(when, func(t *testing.T) {
			old, new := productTrees(t)
			before := scratchLeft()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if when == "before the walk" {
				cancel()
			} else {
				faultHook = func(string) { cancel() }
				defer func() { faultHook = nil }()
			}
			out := filepath.Join(t.TempDir(), "shop-hotfix-6.14.2.4")
			_, err := Make(ctx, Options{Old: old.root, New: new.root, Out: out, Version: mustVersion(t, "6.14.2.4")})
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
				t.Fatalf("err = %v, want an interruption", err)
			}
			if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
				t.Errorf("an interrupted diff left %v", left)
			}
			for d := range scratchLeft() {
				if !before[d] {
					t.Errorf("an interrupted diff left %s", d)
				}
			}
		})
	}
}

// TestStaleScratchRemoved: a diff removes the work directories a killed diff left beside
// its -out and its old scratch directories, and leaves those a live diff holds and fresh
// scratch.
func TestStaleScratchRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	old, new := productTrees(t)
	out := filepath.Join(t.TempDir(), "shop-hotfix-6.14.2.4")
	long := time.Now().Add(-2 * time.Hour)
	plant := func(p string, at time.Time) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(p, "product", "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		touch(t, p, at)
		return p
	}
	killed := plant(filepath.Join(filepath.Dir(out), workPrefix(out)+"111"), long)
	live := plant(filepath.Join(filepath.Dir(out), workPrefix(out)+"222"), long)
	release, err := holdDir(live)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	otherOut := plant(filepath.Join(filepath.Dir(out), ".other."+scratchPrefix+"333"), long)
	oldScratch := plant(filepath.Join(tmp, scratchPrefix+"444"), long)
	freshScratch := plant(filepath.Join(tmp, scratchPrefix+"555"), time.Now())
	var log strings.Builder
	if _, err := Make(context.Background(), Options{Old: old.root, New: new.root, Out: out, Version: mustVersion(t, "6.14.2.4"), Log: &log}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{killed: false, live: true, otherOut: true, oldScratch: false, freshScratch: true} {
		if _, err := os.Lstat(p); (err == nil) != want {
			t.Errorf("%s: there %v, want %v", p, err == nil, want)
		}
	}
	if !strings.Contains(log.String(), "removed "+killed+", left by a diff that was killed") {
		t.Errorf("log does not name %s:\n%s", killed, log.String())
	}
}

// TestSparseFileStaysSparse: a sparse file of NEW (64 MiB, 8 KiB of data) is shipped with
// its holes: the hotfix's copy takes about as many blocks as the data, and holds the same
// bytes (the self-check compares them).
func TestSparseFileStaysSparse(t *testing.T) {
	const size = 64 << 20
	old := newTree(t, "old").file("data/big.img", "small\n", 0o644).stamp(oldTime)
	new := cloneTree(t, old.root)
	f, err := os.OpenFile(new.p("data/big.img"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, size / 2, size - 4096} {
		if _, err := f.WriteAt([]byte(strings.Repeat("x", 4096)), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	blocks := func(p string) int64 {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks * 512
	}
	if b := blocks(new.p("data/big.img")); b >= 1<<20 {
		t.Skipf("the file system made a %d-byte file with holes take %d bytes", size, b)
	}
	out, _, err := makeDiff(t, old, new, nil)
	if err != nil {
		t.Fatal(err)
	}
	shipped := filepath.Join(out, "FileChanges", "data", "big.img")
	if b := blocks(shipped); b >= 1<<20 {
		t.Errorf("the shipped copy of a sparse file takes %d bytes, want its 12 KiB of data", b)
	}
	if eq, err := sameContent(shipped, new.p("data/big.img")); err != nil || !eq {
		t.Errorf("shipped copy differs: %v %v", eq, err)
	}
}
