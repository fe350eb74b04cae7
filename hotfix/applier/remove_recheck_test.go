package applier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/internal/fileops"
)

// replaceFile gives p new content through a new inode, as an editor or a deploy does.
func replaceFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p+".new", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
}

// assertRolledBackAfterDrift: the apply was refused with a RemovalMismatchError naming
// old.jar, it is rolled back (no journal, Core.pm is the product's again, the other removed
// entries are back), and old.jar holds want.
func assertRolledBackAfterDrift(t *testing.T, sb *sandbox, dir string, err error, want string) {
	t.Helper()
	var drift *plan.RemovalMismatchError
	if !errors.As(err, &drift) || !strings.Contains(err.Error(), "/opt/shop/lib/old.jar changed since its backup was taken") {
		t.Fatalf("apply: %v, want a RemovalMismatchError naming old.jar\n%s", err, sb.out)
	}
	jar := filepath.Join(sb.root, "opt/shop/lib/old.jar")
	if b, err := os.ReadFile(jar); err != nil || string(b) != want {
		t.Errorf("old.jar: %q, %v; want %q: what changed after the backup must not be lost", b, err, want)
	}
	if b, err := os.ReadFile(filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm")); err != nil || string(b) != "core 1\n" {
		t.Errorf("Core.pm: %q, %v; want the product's, the apply rolled back", b, err)
	}
	for _, p := range []string{"opt/shop/bin/old-tool", "opt/shop/lib/obsolete/sub/b.pm", "var/opt/shop/StoreTypes/Store/old.xml"} {
		if _, err := os.Lstat(filepath.Join(sb.root, p)); err != nil {
			t.Errorf("%s: %v, want it restored by the rollback", p, err)
		}
	}
	if _, err := os.Lstat(journal.Path(dir, "host1")); !os.IsNotExist(err) {
		t.Errorf("journal: %v, want none after the rollback", err)
	}
	if !strings.Contains(sb.out.String(), "rolled back on host1") {
		t.Errorf("the output does not say the apply was rolled back:\n%s", sb.out)
	}
}

// TestRemovalRecheckedBeforeRemove: old.jar matches FileRemovals when the plan looks;
// after the backups are taken (state apply) it gets new content through a new inode. The
// removal looks again, leaves it, and the apply is rolled back: the new content is kept.
func TestRemovalRecheckedBeforeRemove(t *testing.T) {
	sb, dir := newRemovalSandbox(t)
	jar := filepath.Join(sb.root, "opt/shop/lib/old.jar")
	sb.host.StepHook = func(s string) {
		if s == "state apply" {
			replaceFile(t, jar, "precious new data\n")
		}
	}
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	assertRolledBackAfterDrift(t, sb, dir, err, "precious new data\n")
}

// TestRemovalRecheckedSameSizeAndTime: new content of the same size and modification time
// in a new inode is found by its SHA-256.
func TestRemovalRecheckedSameSizeAndTime(t *testing.T) {
	sb, dir := newRemovalSandbox(t)
	jar := filepath.Join(sb.root, "opt/shop/lib/old.jar")
	sb.host.StepHook = func(s string) {
		if s == "state apply" {
			replaceFile(t, jar, "new jar\n") // as long as "old jar\n"
			if err := fileops.SetMtime(jar, epoch); err != nil {
				t.Fatal(err)
			}
		}
	}
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	assertRolledBackAfterDrift(t, sb, dir, err, "new jar\n")
}

// TestRemovalRecheckedOnResume: the apply dies right after its backups (state apply); the
// admin then edits old.jar; the next apply resumes from the journal, finds old.jar changed
// and rolls back instead of removing it.
func TestRemovalRecheckedOnResume(t *testing.T) {
	sb, dir := newRemovalSandbox(t)
	func() {
		defer func() {
			if r := recover(); r != "crash" {
				panic(r)
			}
		}()
		sb.host.StepHook = func(s string) {
			if s == "state apply" {
				panic("crash")
			}
		}
		sb.host.Apply(context.Background(), dir, ApplyOptions{})
	}()
	sb.host.StepHook = nil
	replaceFile(t, filepath.Join(sb.root, "opt/shop/lib/old.jar"), "edited after the crash\n")
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	assertRolledBackAfterDrift(t, sb, dir, err, "edited after the crash\n")
}

// TestRemovalRecheckedAfterPrepare: a prepared apply whose removed entry changed backs up
// afresh, and the fresh plan refuses before the first write.
func TestRemovalRecheckedAfterPrepare(t *testing.T) {
	sb, dir := newRemovalSandbox(t)
	if err := sb.host.Apply(context.Background(), dir, ApplyOptions{Prepare: true}); err != nil {
		t.Fatal(err)
	}
	jar := filepath.Join(sb.root, "opt/shop/lib/old.jar")
	replaceFile(t, jar, "edited after prepare\n")
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	var drift *plan.RemovalMismatchError
	if !errors.As(err, &drift) {
		t.Fatalf("apply: %v, want a RemovalMismatchError\n%s", err, sb.out)
	}
	if b, _ := os.ReadFile(jar); string(b) != "edited after prepare\n" {
		t.Errorf("old.jar: %q, want the edit kept", b)
	}
}

// TestRemovalOfADirectoryFilledMeanwhile: a removed directory that gets an entry after the
// backups are taken is left, with the entry, and the apply is rolled back.
func TestRemovalOfADirectoryFilledMeanwhile(t *testing.T) {
	sb, dir := newRemovalSandbox(t)
	added := filepath.Join(sb.root, "opt/shop/lib/obsolete/sub/empty/new.conf")
	sb.host.StepHook = func(s string) {
		if s == "state apply" {
			if err := os.WriteFile(added, []byte("mine\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	var drift *plan.RemovalMismatchError
	if !errors.As(err, &drift) || !strings.Contains(err.Error(), "/opt/shop/lib/obsolete/sub/empty is a directory that holds new.conf now") {
		t.Fatalf("apply: %v, want a RemovalMismatchError naming the directory\n%s", err, sb.out)
	}
	if b, err := os.ReadFile(added); err != nil || string(b) != "mine\n" {
		t.Errorf("new.conf: %q, %v; want it kept", b, err)
	}
	for _, p := range []string{"opt/shop/lib/old.jar", "opt/shop/lib/obsolete/a.pm", "opt/shop/lib/obsolete/sub/b.pm"} {
		if _, err := os.Lstat(filepath.Join(sb.root, p)); err != nil {
			t.Errorf("%s: %v, want it restored by the rollback", p, err)
		}
	}
}

// TestRemovalNotThroughASwappedDirectory: after the plan, a directory on the way to a removed
// file is swapped for a symlink to another directory (inside the root, so that the check of
// the way out of the root lets it pass, as it would if the swap came right after that check)
// that holds a file of the same name, content and time. The removal does not follow it.
func TestRemovalNotThroughASwappedDirectory(t *testing.T) {
	sb, dir := newRemovalSandbox(t)
	outside := filepath.Join(sb.root, "opt/shop/keep")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(outside, "b.pm")
	sub := filepath.Join(sb.root, "opt/shop/lib/obsolete/sub")
	sb.host.StepHook = func(s string) {
		if s != "state apply" {
			return
		}
		if err := os.WriteFile(victim, []byte("b\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fileops.SetMtime(victim, epoch)
		if err := os.Rename(sub, sub+".moved"); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, sub); err != nil {
			t.Fatal(err)
		}
	}
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	if err == nil {
		t.Fatalf("apply went through the swapped directory:\n%s", sb.out)
	}
	if _, serr := os.Stat(victim); serr != nil {
		t.Errorf("the file the symlink leads to was removed (%v); apply: %v", serr, err)
	}
}
