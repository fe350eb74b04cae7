package applier

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// Regressions found in review: each is a way an apply could record a hotfix it did not
// install, or write outside its root.

func TestApplyUncleanPaths(t *testing.T) {
	ctx := context.Background()
	for _, form := range []func(string) string{
		func(d string) string { return d + "/" },
		func(d string) string { return d + "/." },
		func(d string) string {
			l := filepath.Join(filepath.Dir(filepath.Dir(d)), "link")
			os.Symlink(d, l)
			return l
		},
	} {
		sb := newSandbox(t, sysconfig.RoleSingle)
		d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"}})
		if err := sb.host.Apply(ctx, form(d), ApplyOptions{}); err != nil {
			t.Fatalf("apply %s: %v", form(d), err)
		}
		assertFile(t, filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm"), "core 2\n")
	}
}

func TestApplyRefusesUnsafeHotfixes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(sb *sandbox) string
		want  string
	}{
		{"outside PATCHES_DIR", func(sb *sandbox) string {
			d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/a": "a"}})
			moved := filepath.Join(sb.t.TempDir(), "shop-hotfix-6.14.2.1")
			if err := os.Rename(d, moved); err != nil {
				sb.t.Fatal(err)
			}
			return moved
		}, "not in"},
		{"link out of its tree", func(sb *sandbox) string {
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", links: map[string]string{"FileChanges/x": "../Extra"}})
		}, "points out of its tree FileChanges"},
		{"two trees on one target", func(sb *sandbox) string {
			sb.host.Cfg.ChangeTrees = append(sb.host.Cfg.ChangeTrees, sysconfig.ChangeTree{Dir: "Extra", Root: "/opt/shop"})
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/a": "a", "Extra/a": "b"}})
		}, "both land on /opt/shop/a"},
		{"below a link it places", func(sb *sandbox) string {
			sb.host.Cfg.ChangeTrees = append(sb.host.Cfg.ChangeTrees, sysconfig.ChangeTree{Dir: "Extra", Root: "/opt/shop"})
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1",
				links: map[string]string{"FileChanges/x": "lib"}, files: map[string]string{"Extra/x/evil.pm": "e"}})
		}, "which the same hotfix makes a symlink"},
		{"file over a symlink to a directory", func(sb *sandbox) string {
			os.Mkdir(filepath.Join(sb.root, "opt/shop/plugins.v1"), 0o755)
			os.Symlink("plugins.v1", filepath.Join(sb.root, "opt/shop/plugins"))
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/plugins": "x"}})
		}, "is a symlink to a directory"},
		{"temporary name", func(sb *sandbox) string {
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/.hotchain-0123456789ab.new": "x"}})
		}, "hotchain's temporary files"},
		{"absolute symlink root under -root", func(sb *sandbox) string {
			outside := sb.t.TempDir()
			os.RemoveAll(filepath.Join(sb.root, "var/opt/shop/StoreTypes"))
			os.Symlink(outside, filepath.Join(sb.root, "var/opt/shop/StoreTypes"))
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"StoreTypeChanges/Store/x": "x"}})
		}, "outside the root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			dir := tc.setup(sb)
			before := testutil.Snapshot(t, sb.root, true, "opt", "etc")
			err := sb.host.Apply(ctx, dir, ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, "opt", "etc")); d != "" {
				t.Fatalf("refused apply changed the tree:\n%s", d)
			}
		})
	}
}

func TestResumeRechecksPaths(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Payment/PayPal.pm": "p"}})
	// Stop right after the journal, then have someone put a symlink where the hotfix will
	// create a directory.
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
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(sb.root, "opt/shop/lib/Shop/Payment")); err != nil {
		t.Fatal(err)
	}
	err := sb.host.Apply(ctx, d, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "leaves its target root") {
		t.Fatalf("resume through a new symlink: %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("resume wrote outside the root: %v", entries)
	}
}

func TestReapply(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	dirs := chain(sb)[:2]
	start := testutil.Snapshot(t, sb.root, true, productTrees...)
	for _, d := range dirs {
		if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	after := testutil.Snapshot(t, sb.root, false, productTrees...)
	// Hotfix 1 lies under 2: applying it again would undo files of 2.
	err := sb.host.Apply(ctx, dirs[0], ApplyOptions{NoCheck: true})
	if err == nil || !strings.Contains(err.Error(), "only while it is the newest applied hotfix (6.14.2.2 is)") {
		t.Fatalf("re-apply of 6.14.2.1 under 6.14.2.2: %v", err)
	}
	// The newest one is undone and applied afresh: same result, backups of the original.
	sb.write("opt/shop/lib/Shop/Core.pm", "edited by hand\n", 0o644)
	if err := sb.host.Apply(ctx, dirs[1], ApplyOptions{NoCheck: true}); err != nil {
		t.Fatal(err)
	}
	if d := testutil.DiffTrees(after, testutil.Snapshot(t, sb.root, false, productTrees...)); d != "" {
		t.Fatalf("after re-apply:\n%s", d)
	}
	if got := sb.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2" {
		t.Fatalf("ledger %q", got)
	}
	for range dirs {
		if err := sb.host.Rollback(ctx, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if d := testutil.DiffTrees(start, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Fatalf("after rolling back:\n%s", d)
	}
}

func TestApplyRefusedWhileAnotherIsInterrupted(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	dirs := chain(sb)
	if err := sb.host.Apply(ctx, dirs[0], ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	// A rollback of 1 that stops half-way leaves 1 in the ledger.
	sb.host.StepHook = func(step string) {
		if strings.HasPrefix(step, "undo ") {
			panic("stop")
		}
	}
	func() {
		defer func() { recover() }()
		sb.host.Rollback(ctx, nil, nil)
	}()
	sb.host.StepHook = nil
	err := sb.host.Apply(ctx, dirs[1], ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "hotfix 6.14.2.1 was interrupted") {
		t.Fatalf("apply of 2 beside an interrupted rollback of 1: %v", err)
	}
}

// TestNoSetuidFromHotfix: a hotfix never makes a setuid or setgid file. Its files take the
// owner of what they replace or of their directory (root here), so a setuid bit kept from a
// file that an unprivileged user wrote into the hotfix directory would make a setuid root
// program of it.
func TestNoSetuidFromHotfix(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	// The product has a setuid helper of its own; the hotfix replaces it.
	sb.write("opt/shop/bin/helper", "helper 1\n", 0o755)
	if err := os.Chmod(filepath.Join(sb.root, "opt/shop/bin/helper"), 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	sb.touchAll()
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{
		"FileChanges/bin/suid":   "#!/bin/sh\nid\n",
		"FileChanges/bin/sgid":   "#!/bin/sh\nid\n",
		"FileChanges/bin/helper": "helper 2\n",
	}})
	for name, mode := range map[string]os.FileMode{
		"suid": 0o755 | os.ModeSetuid, "sgid": 0o755 | os.ModeSetgid, "helper": 0o755 | os.ModeSetuid | os.ModeSetgid,
	} {
		p := filepath.Join(d, "FileChanges/bin", name)
		if os.Geteuid() == 0 {
			if err := os.Chown(p, 1234, 1234); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(d, "FileChanges/spool"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(d, "FileChanges/spool"), 0o777|os.ModeSticky|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]os.FileMode{
		"opt/shop/bin/suid": 0o755, "opt/shop/bin/sgid": 0o755, "opt/shop/bin/helper": 0o755,
		"opt/shop/spool": os.ModeDir | 0o777 | os.ModeSticky,
	} {
		fi, err := os.Lstat(filepath.Join(sb.root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", rel, fi.Mode(), want)
		}
		if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0) {
			t.Errorf("%s: owner %d:%d, want that of its directory, 0:0", rel, st.Uid, st.Gid)
		}
	}
	// The product's one setuid file was replaced: none is left.
	for rel, e := range testutil.Snapshot(t, sb.root, false, productTrees...) {
		if e.Mode&(os.ModeSetuid|os.ModeSetgid) != 0 {
			t.Errorf("%s: %v after the apply", rel, e.Mode)
		}
	}
	// The rollback gives the product its setuid helper back.
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if diff := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); diff != "" {
		t.Fatalf("after rollback:\n%s", diff)
	}
}

// An interrupted hotfix of the old chain, left from before a product patch, neither holds
// up the new chain nor is rolled back over the patched product.
func TestOtherChainInterrupted(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	old := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"},
		scripts: map[string]string{"10-fail.sh": "exit 1\n"}})
	if err := sb.host.Apply(ctx, old, ApplyOptions{}); err == nil {
		t.Fatal("the failing script did not fail the apply")
	}
	sb.write("opt/shop/version.txt", "6.15.0\n", 0o644) // the product patch
	sb.write("opt/shop/lib/Shop/Core.pm", "core 6.15.0\n", 0o644)
	d := sb.makeHotfix(hotfixSpec{version: "6.15.0.1", files: map[string]string{"FileChanges/lib/Shop/Cart.pm": "cart 6.15.0.1\n"}})
	if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
		t.Fatalf("apply of 6.15.0.1 beside an interrupted 6.14.2.1: %v", err)
	}
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm"), "core 6.15.0\n")
	if got := sb.ledger("host1.txt"); got != "" {
		t.Fatalf("ledger %q", got)
	}
}

// TestProductNamesLikeTemporaries: product files named like hotchain's own temporary and
// backup files. One that bears the very name an entry of the hotfix would use is refused
// before anything is written (the apply or rollback would remove it); the others go through
// an apply and a rollback untouched.
func TestProductNamesLikeTemporaries(t *testing.T) {
	ctx := context.Background()
	hf := hotfixSpec{version: "6.14.2.1", files: map[string]string{
		"FileChanges/lib/Shop/Core.pm":      "core 2\n", // replaced
		"FileChanges/lib/Shop/New.pm":       "new\n",    // added
		"FileChanges/lib/Shop/Extra/one.pm": "one\n",    // added, in a new directory
	}}
	lib := "opt/shop/lib/Shop/"
	clash := func(name string, temp func(string) string) string {
		return lib + filepath.Base(temp(filepath.Join("/", lib, name)))
	}
	for _, tc := range []struct {
		name    string
		product []string // files put into the product tree
		refused bool
	}{
		{"new of a replaced file", []string{clash("Core.pm", fileops.NewTemp)}, true},
		{"old of a replaced file", []string{clash("Core.pm", fileops.OldTemp)}, true},
		{"new of an added file", []string{clash("New.pm", fileops.NewTemp)}, true},
		{"new of an added directory", []string{clash("Extra", fileops.NewTemp)}, true},
		{"look-alikes", []string{
			lib + ".hotchain-000000000000.new", lib + ".hotchain-000000000000.old",
			lib + ".hotchain-tmp-123456", lib + ".hotchain-unpack-123456",
			"opt/shop/" + filepath.Base(fileops.NewTemp("/opt/shop/lib/Shop/Core.pm")), // another directory
			lib + "Backup-host1", lib + "Backup-host1.journal",
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			for i, rel := range tc.product {
				sb.write(rel, fmt.Sprintf("product file %d\n", i), 0o600)
			}
			sb.touchAll()
			d := sb.makeHotfix(hf)
			before := testutil.Snapshot(t, sb.root, true, productTrees...)
			err := sb.host.Apply(ctx, d, ApplyOptions{})
			if tc.refused {
				if err == nil || !strings.Contains(err.Error(), "under the name hotchain gives the temporary copy of") {
					t.Fatalf("apply: %v, want a refusal", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				for i, rel := range tc.product {
					assertFile(t, filepath.Join(sb.root, rel), fmt.Sprintf("product file %d\n", i))
				}
				if err := sb.host.Rollback(ctx, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			if diff := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); diff != "" {
				t.Fatalf("product tree changed:\n%s", diff)
			}
		})
	}
}

// TestCheckPatchesDir: a package built for another PATCHES_DIR is refused by %pre, naming both
// directories and the build flag; the same place reached through a symlink is accepted.
func TestCheckPatchesDir(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	if err := os.MkdirAll(filepath.Join(sb.root, "var/opt/shop/Patches"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(sb.root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../var/opt/shop/Patches", filepath.Join(sb.root, "srv/Patches")); err != nil {
		t.Fatal(err)
	}
	v, _ := hotfix.ParseHotfixVersion("6.14.2.1")
	for _, tc := range []struct{ dir, want string }{
		{"/var/opt/shop/Patches", ""},
		{"/var/opt/shop/Patches/", ""},
		{"/srv/Patches", ""},
		{"/srv/shop/shared/Patches", "the package unpacks into /srv/shop/shared/Patches, but PATCHES_DIR on this host is /var/opt/shop/Patches"},
	} {
		err := sb.host.CheckPatchesDir(v, tc.dir)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.dir, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.dir, err, tc.want)
		case tc.want != "":
			if h := err.(*PrereqError).Hint(); !strings.Contains(h, "hotchain build -patches-dir /var/opt/shop/Patches") {
				t.Errorf("%s: hint %q does not name the build flag", tc.dir, h)
			}
		}
	}
}

// TestExistedAt: what a hotfix entry of each kind may replace.
func TestExistedAt(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "dir"), 0o755)
	os.Symlink("file", filepath.Join(dir, "tofile"))
	os.Symlink("dir", filepath.Join(dir, "todir"))
	syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644)
	for _, tc := range []struct{ at, kind, want, err string }{
		{"none", journal.KindFile, "", ""},
		{"none", journal.KindDir, "", ""},
		{"file", journal.KindFile, journal.KindFile, ""},
		{"file", journal.KindLink, journal.KindFile, ""},
		{"file", journal.KindDir, "", "has a dir where " + dir + "/file is a file"},
		{"dir", journal.KindDir, journal.KindDir, ""},
		{"dir", journal.KindFile, "", "is a dir"},
		{"tofile", journal.KindFile, journal.KindLink, ""},
		{"tofile", journal.KindDir, "", "is a link"},
		{"todir", journal.KindDir, journal.KindDir, ""},
		{"todir", journal.KindFile, "", "is a symlink to a directory"},
		{"todir", journal.KindLink, journal.KindLink, ""},
		{"fifo", journal.KindFile, "", "a hotfix replaces only files, directories and symlinks"},
	} {
		got, err := plan.ExistedAt(filepath.Join(dir, tc.at), tc.kind)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s %s at %s: %q, %v; want %q", "a", tc.kind, tc.at, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s at %s: %v, want an error saying %q", tc.kind, tc.at, err, tc.err)
		}
	}
}
