package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/internal/testutil"
)

// TestDiffInstallsThroughDNF is `hotchain diff` end to end: a hotfix made from two product
// trees (symlinks, modes, a removed directory, non-ASCII names) is built, published and
// installed by the agent through the real dnf, which leaves the product tree exactly NEW;
// `dnf remove` rolls it back through %preun, which leaves it exactly OLD.
func TestDiffInstallsThroughDNF(t *testing.T) {
	e2eHost(t, true, "unshare", "mount", "cp")
	v := newServedRepo(t, buildStatic(t))
	work := t.TempDir()
	old, new := filepath.Join(work, "old"), filepath.Join(work, "new")
	oldT, newT := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	write := func(root, rel, content string, mode os.FileMode) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.Remove(p)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	link := func(root, rel, target string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	write(old, "version.txt", "6.14.2\n", 0o644)
	write(old, "bin/shopctl", "#!/bin/sh\necho 1\n", 0o755)
	write(old, "lib/Shop/Cart.pm", "cart 6.14.2\n", 0o644)
	write(old, "lib/Shop/Core.pm", "core 6.14.2\n", 0o640)
	write(old, "lib/Shop/Grüße.pm", "grüße 1\n", 0o644)
	write(old, "lib/Shop/mode.sh", "echo\n", 0o644)
	link(old, "lib/Shop/Default.pm", "Core.pm")
	write(old, "lib/Legacy/a.pm", "a\n", 0o644)
	write(old, "lib/Legacy/deep/b.pm", "b\n", 0o600)
	link(old, "lib/Legacy/deep/c", "b.pm")
	write(old, "share/doc/read me.txt", "doc 1\n", 0o644)
	stampTree(t, old, oldT)
	if out, err := exec.Command("cp", "-a", old, new).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	write(new, "lib/Shop/Cart.pm", "cart 6.14.2.1\n", 0o644)
	write(new, "lib/Shop/Grüße.pm", "grüße 2\n", 0o644)
	write(new, "lib/Shop/mode.sh", "echo\n", 0o755)
	write(new, "lib/Shop/Neu€.pm", "neu\n", 0o644)
	link(new, "lib/Shop/Default.pm", "Cart.pm")
	write(new, "lib/Fresh/x.pm", "x\n", 0o640)
	link(new, "lib/Fresh/y", "x.pm")
	write(new, "share/doc/read me.txt", "doc 2\n", 0o644)
	if err := os.RemoveAll(filepath.Join(new, "lib/Legacy")); err != nil {
		t.Fatal(err)
	}
	// Builds give every file the time SOURCE_DATE_EPOCH says: what the hotfix ships has it.
	for _, rel := range []string{"lib/Shop/Cart.pm", "lib/Shop/Grüße.pm", "lib/Shop/mode.sh", "lib/Shop/Neu€.pm", "lib/Shop/Default.pm", "lib/Fresh/x.pm", "lib/Fresh/y", "share/doc/read me.txt"} {
		touchNoFollow(t, filepath.Join(new, rel), newT)
	}

	dir := filepath.Join(v.src, "shop-hotfix-6.14.2.1")
	if err := os.MkdirAll(v.src, 0o755); err != nil {
		t.Fatal(err)
	}
	runOK(t, nil, v.bin, "diff", "-from", old, "-to", new, "-version", "6.14.2.1", "-out", dir)
	v.publish(1, 1)

	shared := filepath.Join(t.TempDir(), "ledger")
	os.MkdirAll(shared, 0o755)
	h := v.host("host", shared, `PRODUCT=shop
HOSTNAME=host
RANDOMWAIT=0
YUM_PARAMETER="--disablerepo '*' --enablerepo shop-hotfix --releasever=1"
`)
	prod := filepath.Join(h.root, "opt/shop")
	if err := os.RemoveAll(prod); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", old, prod).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	oldSnap := testutil.Snapshot(t, old, true, ".")
	newSnap := testutil.Snapshot(t, new, false, ".")

	if out, code := h.agent("-console"); code != 0 {
		t.Fatalf("agent -console: exit %d\n%s", code, out)
	}
	if got := h.ledger("host.txt"); got != "6.14.2.1" {
		t.Fatalf("ledger %q, want 6.14.2.1", got)
	}
	if d := testutil.DiffTrees(newSnap, testutil.Snapshot(t, prod, false, ".")); d != "" {
		t.Fatalf("product tree after the install differs from NEW:\n%s", d)
	}

	// dnf remove, in the host's mount namespace (its ledger is the shared one).
	ledger := filepath.Join(h.root, "etc/opt/shop/hotfix")
	args := append([]string{"-m", "sh", "-c", `mkdir -p "$1" && mount --bind "$0" "$1" && shift && exec "$@"`, shared, ledger, "dnf"},
		h.dnfArgs("remove", "--setopt=clean_requirements_on_remove=False", "shop-hotfix-6_14_2_1")...)
	if out, code := runCode(t, nil, "unshare", args...); code != 0 {
		t.Fatalf("dnf remove: exit %d\n%s", code, out)
	}
	if got := h.ledger("host.txt"); got != "" {
		t.Errorf("ledger after dnf remove %q, want empty", got)
	}
	if d := testutil.DiffTrees(oldSnap, testutil.Snapshot(t, prod, true, ".")); d != "" {
		t.Fatalf("product tree after dnf remove differs from OLD:\n%s", d)
	}
}

// stampTree gives every entry under root the time at, children before their directories.
func stampTree(t *testing.T, root string, at time.Time) {
	t.Helper()
	var paths []string
	filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		touchNoFollow(t, paths[i], at)
	}
}

// touchNoFollow sets the time of p, a symlink's own.
func touchNoFollow(t *testing.T, p string, at time.Time) {
	t.Helper()
	ts := unix.NsecToTimespec(at.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
}
