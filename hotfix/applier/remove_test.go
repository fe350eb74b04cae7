package applier

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier/appliertest"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

func sha(s string) string { return appliertest.SHA256(s) }

// removalProduct adds to the sandbox's product what removalSpec removes
// (appliertest.Sandbox.RemovalProduct).
func removalProduct(sb *sandbox) {
	sb.t.Helper()
	sb.box.RemovalProduct()
}

// newRemovalSandbox is a single host's sandbox with the removal product
// (removalProduct) and the hotfix 6.14.2.1 that removes removalList; it returns the
// hotfix's directory too.
func newRemovalSandbox(t *testing.T) (*sandbox, string) {
	t.Helper()
	sb := newSandbox(t, sysconfig.RoleSingle)
	removalProduct(sb)
	return sb, sb.makeHotfix(removalSpec("6.14.2.1", removalList()))
}

// removalList is what removalSpec removes (appliertest.Removals).
func removalList() []hotfix.Removal { return appliertest.Removals() }

// removalSpec replaces a file, adds one, and removes rs (appliertest.RemovalHotfix).
func removalSpec(version string, rs []hotfix.Removal) hotfixSpec {
	h := appliertest.RemovalHotfix(version, rs)
	return hotfixSpec{version: h.Version, files: h.Files}
}

var removedPaths = []string{"opt/shop/lib/old.jar", "opt/shop/bin/old-tool", "opt/shop/lib/obsolete", "var/opt/shop/StoreTypes/Store/old.xml"}

func assertAbsent(t *testing.T, root string, rels ...string) {
	t.Helper()
	appliertest.AssertAbsent(t, root, rels...)
}

// TestRemovalsApplyAndRollback: the apply backs every removed entry up and removes it (an
// absent one is said to be absent), verify finds no drift, and the rollback puts the tree
// back byte-exact: content, mode, owner, modification times of files and directories.
func TestRemovalsApplyAndRollback(t *testing.T) {
	ctx := context.Background()
	sb, dir := newRemovalSandbox(t)
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
	j, err := journal.Read(journal.Path(dir, "host1"))
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

// TestRemovalRefusedBeforeTheFirstWrite: a removal that does not match the product (a
// drifted file, a retargeted symlink, a directory that would not be empty, another kind of
// entry) or that the plan cannot do safely stops the apply before it writes anything: the
// tree is byte-identical, there is no journal, no backup and no install log. The error
// names the path, what it is now and what FileRemovals expects.
func TestRemovalRefusedBeforeTheFirstWrite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(sb *sandbox) []hotfix.Removal
		want  []string
	}{
		{"drifted file", func(sb *sandbox) []hotfix.Removal {
			sb.write("opt/shop/lib/old.jar", "patched by hand\n", 0o640)
			return removalList()
		}, []string{"/opt/shop/lib/old.jar is a file with SHA-256 " + sha("patched by hand\n"), "FileRemovals expects a file with SHA-256 " + sha("old jar\n")}},
		{"retargeted symlink", func(sb *sandbox) []hotfix.Removal {
			os.Remove(filepath.Join(sb.root, "opt/shop/bin/old-tool"))
			os.Symlink("shopctl", filepath.Join(sb.root, "opt/shop/bin/old-tool"))
			return removalList()
		}, []string{"/opt/shop/bin/old-tool is a symlink to shopctl (SHA-256 of the target " + hotfix.LinkSHA256("shopctl") + ")", "expects a symlink whose target has SHA-256 " + hotfix.LinkSHA256("../lib/old.jar")}},
		{"directory not empty", func(sb *sandbox) []hotfix.Removal {
			sb.write("opt/shop/lib/obsolete/sub/local.conf", "mine\n", 0o644)
			sb.write("opt/shop/lib/obsolete/sub/empty/x", "mine\n", 0o644)
			return removalList()
		}, []string{"/opt/shop/lib/obsolete/sub is a directory that still holds local.conf once the removals are done", "/opt/shop/lib/obsolete/sub/empty is a directory that still holds x"}},
		{"a directory where a file is expected", func(sb *sandbox) []hotfix.Removal {
			os.MkdirAll(filepath.Join(sb.root, "opt/shop/share"), 0o755)
			return append(removalList(), hotfix.Removal{Path: "FileChanges/share", Kind: hotfix.RemoveFile, SHA256: sha("x")})
		}, []string{"/opt/shop/share is a directory; FileRemovals expects a file with SHA-256"}},
		{"a symlink to a directory where a directory is expected", func(sb *sandbox) []hotfix.Removal {
			os.Symlink("obsolete", filepath.Join(sb.root, "opt/shop/lib/gone"))
			return append(removalList(), hotfix.Removal{Path: "FileChanges/lib/gone", Kind: hotfix.RemoveDir})
		}, []string{"/opt/shop/lib/gone is a symlink to obsolete", "FileRemovals expects a directory"}},
		{"its directory is a symlink", func(sb *sandbox) []hotfix.Removal {
			os.Symlink("obsolete", filepath.Join(sb.root, "opt/shop/lib/alias"))
			return []hotfix.Removal{{Path: "FileChanges/lib/alias/a.pm", Kind: hotfix.RemoveFile, SHA256: sha("a\n")}}
		}, []string{"FileRemovals: FileChanges/lib/alias/a.pm: the way to it goes through the symlink", "lib/alias (-> obsolete)"}},
		{"an alias of a placed file through a symlink", func(sb *sandbox) []hotfix.Removal {
			// lib/self/lib/Shop/New.pm is lib/Shop/New.pm, which the hotfix adds: absent when
			// the plan looks, it would be removed right after it is placed.
			os.Symlink("..", filepath.Join(sb.root, "opt/shop/lib/self"))
			return []hotfix.Removal{{Path: "FileChanges/lib/self/lib/Shop/New.pm", Kind: hotfix.RemoveFile, SHA256: sha("new\n")}}
		}, []string{"FileRemovals: FileChanges/lib/self/lib/Shop/New.pm: the way to it goes through the symlink", "lib/self (-> ..)"}},
		{"through a symlink deeper up", func(sb *sandbox) []hotfix.Removal {
			os.Symlink("obsolete", filepath.Join(sb.root, "opt/shop/lib/alias"))
			return []hotfix.Removal{{Path: "FileChanges/lib/alias/sub/b.pm", Kind: hotfix.RemoveFile, SHA256: sha("b\n")}}
		}, []string{"FileRemovals: FileChanges/lib/alias/sub/b.pm: the way to it goes through the symlink", "lib/alias (-> obsolete)"}},
		{"through a symlink out of the root", func(sb *sandbox) []hotfix.Removal {
			outside := sb.t.TempDir()
			os.WriteFile(filepath.Join(outside, "victim"), []byte("v"), 0o644)
			os.Symlink(outside, filepath.Join(sb.root, "opt/shop/ext"))
			return []hotfix.Removal{{Path: "FileChanges/ext/victim", Kind: hotfix.RemoveFile, SHA256: sha("v")}}
		}, []string{"FileChanges/ext/victim: path leaves its target root"}},
		{"placed and removed through two trees", func(sb *sandbox) []hotfix.Removal {
			sb.host.Cfg.ChangeTrees = append(sb.host.Cfg.ChangeTrees, sysconfig.ChangeTree{Dir: "Extra", Root: "/opt/shop/lib"})
			return append(removalList(), hotfix.Removal{Path: "Extra/Shop/Core.pm", Kind: hotfix.RemoveFile, SHA256: sha("core 1\n")})
		}, []string{"FileRemovals: Extra/Shop/Core.pm: the hotfix places FileChanges/lib/Shop/Core.pm on /opt/shop/lib/Shop/Core.pm, which it also removes"}},
		{"a removed directory a tree places entries in", func(sb *sandbox) []hotfix.Removal {
			sb.host.Cfg.ChangeTrees = append(sb.host.Cfg.ChangeTrees, sysconfig.ChangeTree{Dir: "Extra", Root: "/opt/shop/lib/obsolete/sub/empty"})
			sb.write("var/opt/shop/Patches/shop-hotfix-6.14.2.1/Extra/new.pm", "new\n", 0o644)
			return removalList()
		}, []string{"FileRemovals: FileChanges/lib/obsolete: the hotfix places Extra/new.pm in /opt/shop/lib/obsolete, which it also removes"}},
		{"removed through two trees", func(sb *sandbox) []hotfix.Removal {
			sb.host.Cfg.ChangeTrees = append(sb.host.Cfg.ChangeTrees, sysconfig.ChangeTree{Dir: "Extra", Root: "/opt/shop/lib"})
			return append(removalList(), hotfix.Removal{Path: "Extra/old.jar", Kind: hotfix.RemoveFile, SHA256: sha("old jar\n")})
		}, []string{"FileRemovals: Extra/old.jar and FileRemovals: FileChanges/lib/old.jar both remove /opt/shop/lib/old.jar"}},
		{"placed and removed in one tree", func(sb *sandbox) []hotfix.Removal {
			return append(removalList(), hotfix.Removal{Path: "FileChanges/lib/Shop/Core.pm", Kind: hotfix.RemoveFile, SHA256: sha("core 1\n")})
		}, []string{"FileChanges/lib/Shop/Core.pm is removed, and the hotfix also holds it (a file)"}},
		{"removed below a removed file", func(sb *sandbox) []hotfix.Removal {
			return append(removalList(), hotfix.Removal{Path: "FileChanges/lib/old.jar/x", Kind: hotfix.RemoveFile, SHA256: sha("x")})
		}, []string{"FileChanges/lib/old.jar/x lies below FileChanges/lib/old.jar, which is removed as a file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			removalProduct(sb)
			rs := tc.setup(sb)
			sb.touchAll()
			dir := sb.makeHotfix(removalSpec("6.14.2.1", rs))
			before := testutil.Snapshot(t, sb.root, true, "opt", "var", "etc")
			err := sb.host.Apply(ctx, dir, ApplyOptions{})
			if err == nil {
				t.Fatalf("apply went ahead:\n%s", sb.out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, "opt", "var", "etc")); d != "" {
				t.Errorf("the refused apply changed the root:\n%s", d)
			}
			if _, err := os.Lstat(journal.Path(dir, "host1")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal: %v, want none", err)
			}
		})
	}
}

// TestRemovalsAlreadyAbsent: removals whose entries are gone already are no error (the goal
// holds), the apply says so, and the rollback does not create them.
func TestRemovalsAlreadyAbsent(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	dir := sb.makeHotfix(removalSpec("6.14.2.1", removalList())) // removalProduct not made
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, sb.out)
	}
	if n := strings.Count(sb.out.String(), "(already absent: nothing to remove)\n"); n != len(removalList()) {
		t.Errorf("%d entries said to be absent, want %d:\n%s", n, len(removalList()), sb.out)
	}
	if !strings.Contains(sb.out.String(), ", 0 removed,") {
		t.Errorf("summary:\n%s", sb.out)
	}
	// Present again: drift, though it was absent at the apply; the removal is the goal.
	sb.write("opt/shop/lib/old.jar", "back\n", 0o644)
	if drift, _, err := sb.host.Verify(); err != nil || len(drift) != 1 || drift[0].Path != "/opt/shop/lib/old.jar" || drift[0].Problem != state.ProblemPresentAgain {
		t.Errorf("verify: %v, %v", drift, err)
	}
	os.Remove(filepath.Join(sb.root, "opt/shop/lib/old.jar"))
	fileops.SetMtime(filepath.Join(sb.root, "opt/shop/lib"), epoch) // as it was before the test's own change
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatalf("rollback: %v\n%s", err, sb.out)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Errorf("after rollback:\n%s", d)
	}
}

// TestRemovalsVerify: an entry a hotfix removed is no drift while it is absent, and drift
// ("present again", naming the hotfix that removed it) once it is back; a later hotfix that
// places the path again owns it, as does one that places entries in a removed directory.
func TestRemovalsVerify(t *testing.T) {
	ctx := context.Background()
	sb, first := newRemovalSandbox(t)
	if err := sb.host.Apply(ctx, first, ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, sb.out)
	}
	sb.write("opt/shop/lib/old.jar", "old jar\n", 0o640)
	os.Symlink("x", filepath.Join(sb.root, "opt/shop/bin/old-tool"))
	drift, _, err := sb.host.Verify()
	if err != nil {
		t.Fatal(err)
	}
	// lib/obsolete is back too, as the directory of nothing the chain removed.
	want := []state.Drift{
		{Path: "/opt/shop/bin/old-tool", Version: "6.14.2.1", Problem: state.ProblemPresentAgain},
		{Path: "/opt/shop/lib/old.jar", Version: "6.14.2.1", Problem: state.ProblemPresentAgain},
	}
	if len(drift) != len(want) || drift[0] != want[0] || drift[1] != want[1] {
		t.Fatalf("drift = %v, want %v", drift, want)
	}
	os.Remove(filepath.Join(sb.root, "opt/shop/bin/old-tool"))
	// 6.14.2.2 places lib/old.jar again and a file in lib/obsolete/sub.
	second := sb.makeHotfix(hotfixSpec{version: "6.14.2.2", files: map[string]string{
		"FileChanges/lib/old.jar":           "old jar\n",
		"FileChanges/lib/obsolete/sub/c.pm": "c\n",
		"FileChanges/lib/Shop/Core.pm":      "core 3\n",
	}})
	os.Remove(filepath.Join(sb.root, "opt/shop/lib/old.jar"))
	if err := sb.host.Apply(ctx, second, ApplyOptions{}); err != nil {
		t.Fatalf("apply 2: %v\n%s", err, sb.out)
	}
	if drift, _, err := sb.host.Verify(); err != nil || len(drift) != 0 {
		t.Errorf("verify after 6.14.2.2 placed them again: %v, %v", drift, err)
	}
}

// TestRemovalsNastyNames: FileRemovals names any name Linux allows (escaped as in
// filelist.txt where it holds a newline, carriage return or backslash); the apply removes
// each, the journal keeps the names that are not UTF-8 in its _base64 fields, and the
// rollback puts every entry back byte-exact.
func TestRemovalsNastyNames(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	const dirName = "gone\xe9dir\n"
	var rs []hotfix.Removal
	for i, n := range nastyNames {
		content := fmt.Sprintf("old %d\n", i)
		sb.write("opt/shop/"+dirName+"/"+n, content, 0o644)
		rs = append(rs, hotfix.Removal{Path: "FileChanges/" + dirName + "/" + n, Kind: hotfix.RemoveFile, SHA256: sha(content)})
	}
	if err := os.Symlink(nastyNames[1], filepath.Join(sb.root, "opt/shop/link\xff\n")); err != nil {
		t.Fatal(err)
	}
	rs = append(rs, hotfix.Removal{Path: "FileChanges/" + dirName, Kind: hotfix.RemoveDir},
		hotfix.Removal{Path: "FileChanges/link\xff\n", Kind: hotfix.RemoveLink, SHA256: hotfix.LinkSHA256(nastyNames[1])})
	sb.touchAll()
	dir := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{hotfix.RemovalsFile: string(hotfix.FormatRemovals(rs))}})
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, sb.out)
	}
	assertAbsent(t, sb.root, "opt/shop/"+dirName, "opt/shop/link\xff\n")
	raw, err := os.ReadFile(journal.Path(dir, "host1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"target_base64"`) || !strings.Contains(string(raw), `"link_base64"`) {
		t.Errorf("the journal does not keep the names that are not UTF-8 in _base64 fields:\n%s", raw)
	}
	if drift, n, err := sb.host.Verify(); err != nil || len(drift) > 0 || n != len(rs) {
		t.Errorf("verify: %d checked, drift %v, %v", n, drift, err)
	}
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatalf("rollback: %v\n%s", err, sb.out)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Fatalf("after rollback:\n%s", d)
	}
}

// TestRemovalJournalFormat pins how the journal writes a removal ("remove": true beside the
// fields every op has) and that a journal written before removals existed reads with none.
func TestRemovalJournalFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Backup-host1.journal")
	j := &journal.Journal{Version: "6.14.2.1", State: journal.StateDone, Ops: []journal.Op{{Tree: "FileChanges", Rel: "lib/old.jar", Target: "/opt/shop/lib/old.jar",
		Kind: journal.KindFile, Existed: journal.KindFile, Mode: 0o640, SHA256: sha("old jar\n"), Remove: true}}}
	if err := journal.Write(p, j); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	want := `    {
      "tree": "FileChanges",
      "rel": "lib/old.jar",
      "target": "/opt/shop/lib/old.jar",
      "kind": "file",
      "existed": "file",
      "mode": 416,
      "sha256": "` + sha("old jar\n") + `",
      "remove": true
    }`
	if !strings.Contains(string(raw), want) {
		t.Errorf("journal:\n%s\nwant the op as\n%s", raw, want)
	}
	old := `{"version":"6.14.2.1","host":"host1","state":"done","ops":[{"tree":"FileChanges","rel":"a","target":"/opt/shop/a","kind":"file","mode":420,"sha256":"` + sha("a") + `"}]}`
	if err := os.WriteFile(p, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if j, err := journal.Read(p); err != nil || len(j.Ops) != 1 || j.Ops[0].Remove {
		t.Errorf("a journal from before removals: %+v, %v", j, err)
	}
}
