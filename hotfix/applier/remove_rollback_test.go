package applier

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/sysconfig"
)

// recreateAtRemovedPaths makes, after an apply with removalList, something new at three
// removed paths: a file where a file was, a directory with a file where a symlink was, a
// file where a directory tree was.
func recreateAtRemovedPaths(t *testing.T, sb *sandbox) {
	t.Helper()
	sb.write("opt/shop/lib/old.jar", "the admin's jar\n", 0o644)
	sb.write("opt/shop/bin/old-tool/README", "the admin's dir\n", 0o644)
	sb.write("opt/shop/lib/obsolete", "the admin's file\n", 0o644)
}

// TestRollbackSetsAsideWhatIsAtARemovedPath: what was made at removed paths after the apply
// is neither overwritten nor in the way: the rollback renames it to <name>.hotchain-save,
// says so, and restores the removed entries; no temporary is left.
func TestRollbackSetsAsideWhatIsAtARemovedPath(t *testing.T) {
	ctx := context.Background()
	sb, dir := newRemovalSandbox(t)
	if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	recreateAtRemovedPaths(t, sb)
	sb.out.Reset()
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatalf("rollback: %v\n%s", err, sb.out)
	}
	assertSetAside(t, sb)
	for _, w := range []string{
		"saved   /opt/shop/lib/old.jar as old.jar.hotchain-save",
		"saved   /opt/shop/bin/old-tool as old-tool.hotchain-save",
		"saved   /opt/shop/lib/obsolete as obsolete.hotchain-save",
	} {
		if !strings.Contains(sb.out.String(), w) {
			t.Errorf("the output lacks %q:\n%s", w, sb.out)
		}
	}
}

func assertSetAside(t *testing.T, sb *sandbox) {
	t.Helper()
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(sb.root, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		return string(b)
	}
	if got := read("opt/shop/lib/old.jar"); got != "old jar\n" {
		t.Errorf("old.jar: %q, want the removed file back", got)
	}
	if got := read("opt/shop/lib/old.jar.hotchain-save"); got != "the admin's jar\n" {
		t.Errorf("old.jar.hotchain-save: %q, want the admin's file", got)
	}
	if l, err := os.Readlink(filepath.Join(sb.root, "opt/shop/bin/old-tool")); err != nil || l != "../lib/old.jar" {
		t.Errorf("old-tool: %q, %v; want the removed symlink back", l, err)
	}
	if got := read("opt/shop/bin/old-tool.hotchain-save/README"); got != "the admin's dir\n" {
		t.Errorf("old-tool.hotchain-save/README: %q", got)
	}
	if got := read("opt/shop/lib/obsolete/sub/b.pm"); got != "b\n" {
		t.Errorf("obsolete/sub/b.pm: %q, want the removed tree back", got)
	}
	if got := read("opt/shop/lib/obsolete.hotchain-save"); got != "the admin's file\n" {
		t.Errorf("obsolete.hotchain-save: %q, want the admin's file", got)
	}
	for _, d := range []string{"opt/shop/lib", "opt/shop/bin"} {
		names, _ := filepath.Glob(filepath.Join(sb.root, d, ".hotchain-*"))
		if len(names) > 0 {
			t.Errorf("temporaries left: %v", names)
		}
		saves, _ := filepath.Glob(filepath.Join(sb.root, d, "*.hotchain-save.*"))
		if len(saves) > 0 {
			t.Errorf("set aside more than once: %v", saves)
		}
	}
}

// TestRollbackSetAsideIsIdempotent: a rollback that dies after it set aside and restored
// old.jar is finished by the next one, which sets aside nothing more: what it restored is
// the backup.
func TestRollbackSetAsideIsIdempotent(t *testing.T) {
	ctx := context.Background()
	sb, dir := newRemovalSandbox(t)
	if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	recreateAtRemovedPaths(t, sb)
	for _, at := range []string{"undo /opt/shop/lib/obsolete", "undo /opt/shop/lib/old.jar", "undo /opt/shop/bin/old-tool"} {
		func() {
			defer func() {
				if r := recover(); r != nil && r != "crash" {
					panic(r)
				}
			}()
			sb.host.StepHook = func(s string) {
				if s == at {
					panic("crash")
				}
			}
			sb.host.Rollback(ctx, nil, nil)
		}()
	}
	sb.host.StepHook = nil
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatalf("rollback: %v\n%s", err, sb.out)
	}
	assertSetAside(t, sb)
}

// TestBackupOfAFileWithOtherHardLinks: a removed file and a replaced file that have another
// name in the product are kept as copies, not hard links: a write in place through the other
// name after the apply does not change what the rollback restores.
func TestBackupOfAFileWithOtherHardLinks(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	removalProduct(sb)
	for _, l := range [][2]string{{"opt/shop/lib/old.jar", "opt/shop/share/old.jar"}, {"opt/shop/lib/Shop/Core.pm", "opt/shop/share/Core.pm"}} {
		os.MkdirAll(filepath.Join(sb.root, "opt/shop/share"), 0o755)
		if err := os.Link(filepath.Join(sb.root, l[0]), filepath.Join(sb.root, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	sb.touchAll()
	dir := sb.makeHotfix(removalSpec("6.14.2.1", removalList()))
	if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"opt/shop/share/old.jar", "opt/shop/share/Core.pm"} {
		if err := os.WriteFile(filepath.Join(sb.root, p), []byte("changed through the other name\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatalf("rollback: %v\n%s", err, sb.out)
	}
	for rel, want := range map[string]string{"opt/shop/lib/old.jar": "old jar\n", "opt/shop/lib/Shop/Core.pm": "core 1\n"} {
		if b, err := os.ReadFile(filepath.Join(sb.root, rel)); err != nil || string(b) != want {
			t.Errorf("%s after the rollback: %q, %v; want %q, as before the apply", rel, b, err, want)
		}
	}
}
