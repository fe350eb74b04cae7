package hotfix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// removalProduct adds to the sandbox's product what removalSpec removes: a file with an
// owner and mode of its own, a symlink to it, a directory tree (files, a subdirectory with a
// mode and owner of its own, an empty directory) and a file of the second tree.
func removalProduct(sb *sandbox) {
	sb.t.Helper()
	sb.write("opt/shop/lib/old.jar", "old jar\n", 0o640)
	sb.write("opt/shop/lib/obsolete/a.pm", "a\n", 0o644)
	sb.write("opt/shop/lib/obsolete/sub/b.pm", "b\n", 0o600)
	sb.write("var/opt/shop/StoreTypes/Store/old.xml", "<old/>\n", 0o644)
	for _, p := range []string{"opt/shop/lib/obsolete/sub/empty"} {
		if err := os.MkdirAll(filepath.Join(sb.root, p), 0o755); err != nil {
			sb.t.Fatal(err)
		}
	}
	if err := os.Symlink("../lib/old.jar", filepath.Join(sb.root, "opt/shop/bin/old-tool")); err != nil {
		sb.t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(sb.root, "opt/shop/lib/obsolete/sub"), 0o750); err != nil {
		sb.t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		for _, p := range []string{"opt/shop/lib/old.jar", "opt/shop/lib/obsolete/sub", "opt/shop/bin/old-tool"} {
			if err := os.Lchown(filepath.Join(sb.root, p), 1234, 4321); err != nil {
				sb.t.Fatal(err)
			}
		}
	}
	sb.touchAll()
}

// removalList is what removalSpec removes; lib/never-there.pm is absent from the product.
func removalList() []Removal {
	return []Removal{
		{Path: "FileChanges/lib/old.jar", Kind: RemoveFile, SHA256: sha("old jar\n")},
		{Path: "FileChanges/bin/old-tool", Kind: RemoveLink, SHA256: LinkSHA256("../lib/old.jar")},
		{Path: "FileChanges/lib/obsolete", Kind: RemoveDir},
		{Path: "FileChanges/lib/obsolete/a.pm", Kind: RemoveFile, SHA256: sha("a\n")},
		{Path: "FileChanges/lib/obsolete/sub", Kind: RemoveDir},
		{Path: "FileChanges/lib/obsolete/sub/b.pm", Kind: RemoveFile, SHA256: sha("b\n")},
		{Path: "FileChanges/lib/obsolete/sub/empty", Kind: RemoveDir},
		{Path: "StoreTypeChanges/Store/old.xml", Kind: RemoveFile, SHA256: sha("<old/>\n")},
		{Path: "FileChanges/lib/never-there.pm", Kind: RemoveFile, SHA256: sha("x\n")},
	}
}

// removalSpec replaces a file, adds one, and removes removalList.
func removalSpec(version string, rs []Removal) hotfixSpec {
	return hotfixSpec{version: version, files: map[string]string{
		"FileChanges/lib/Shop/Core.pm": "core 2\n",
		"FileChanges/lib/Shop/New.pm":  "new\n",
		RemovalsFile:                   string(FormatRemovals(rs)),
	}}
}

var removedPaths = []string{"opt/shop/lib/old.jar", "opt/shop/bin/old-tool", "opt/shop/lib/obsolete", "var/opt/shop/StoreTypes/Store/old.xml"}

func assertAbsent(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		if _, err := os.Lstat(filepath.Join(root, rel)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want it removed", rel, err)
		}
	}
}

// TestRemovalsApplyAndRollback: the apply backs every removed entry up and removes it (an
// absent one is said to be absent), verify finds no drift, and the rollback puts the tree
// back byte-exact: content, mode, owner, modification times of files and directories.
func TestRemovalsApplyAndRollback(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	removalProduct(sb)
	dir := sb.makeHotfix(removalSpec("6.14.2.1", removalList()))
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, sb.out)
	}
	assertAbsent(t, sb.root, removedPaths...)
	assertFile(t, filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm"), "core 2\n")
	for _, want := range []string{
		"    remove  /opt/shop/lib/old.jar\n",
		"    remove  /opt/shop/bin/old-tool\n",
		"    rmdir   /opt/shop/lib/obsolete/sub/empty\n",
		"    rmdir   /opt/shop/lib/obsolete\n",
		"    absent  /opt/shop/lib/never-there.pm (already absent: nothing to remove)\n",
		"1 files replaced, 1 added, 8 removed, 0 scripts run\n",
	} {
		if !strings.Contains(sb.out.String(), want) {
			t.Errorf("apply output lacks %q:\n%s", want, sb.out)
		}
	}
	// The backups hold the removed entries as they were.
	bak := filepath.Join(dir, "Backup-host1")
	assertFile(t, filepath.Join(bak, "FileChanges/lib/old.jar"), "old jar\n")
	assertFile(t, filepath.Join(bak, "FileChanges/lib/obsolete/sub/b.pm"), "b\n")
	if l, err := os.Readlink(filepath.Join(bak, "FileChanges/bin/old-tool")); err != nil || l != "../lib/old.jar" {
		t.Errorf("backup of the symlink: %q, %v", l, err)
	}
	if fi, err := os.Lstat(filepath.Join(bak, "FileChanges/lib/obsolete/sub")); err != nil || fi.Mode().Perm() != 0o750 || !fi.ModTime().Equal(epoch) {
		t.Errorf("backup of the directory: %v, %v; want mode 0750 and time %v", fi.Mode(), err, epoch)
	}
	// Added entries only: not the removed ones.
	if inex, _ := os.ReadFile(filepath.Join(dir, "Backup-host1.inexistent")); string(inex) != "/opt/shop/lib/Shop/New.pm\n" {
		t.Errorf("inexistent = %q", inex)
	}
	j, err := readJournal(journalPath(dir, "host1"))
	if err != nil {
		t.Fatal(err)
	}
	removals, absent := 0, 0
	for _, o := range j.Ops {
		if o.Remove {
			removals++
			if o.Existed == "" {
				absent++
			}
		}
	}
	if removals != 9 || absent != 1 {
		t.Errorf("journal: %d removals, %d absent; want 9 and 1", removals, absent)
	}
	if drift, n, err := sb.host.Verify(); err != nil || len(drift) != 0 || n != 11 {
		t.Errorf("verify after apply: %d checked, drift %v, %v; want 11 checked, none", n, drift, err)
	}
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatalf("rollback: %v\n%s", err, sb.out)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Fatalf("after rollback the tree differs from before the apply:\n%s", d)
	}
	assertAbsent(t, sb.root, "opt/shop/lib/never-there.pm")
}
