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
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// TestRemovalsJournalTooLarge: a FileRemovals within its limits (size and count) whose
// journal would be larger than a journal may be read (journal.MaxSize) is refused before
// the first write, saying so, with the product and the hotfix directory untouched: a
// journal nobody can read again would make the hotfix impossible to roll back.
func TestRemovalsJournalTooLarge(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	removalProduct(sb)
	var b strings.Builder
	b.WriteString(string(hotfix.FormatRemovals(removalList())))
	long := strings.Repeat("x", 120)
	for i := range 180_000 {
		fmt.Fprintf(&b, "dir  FileChanges/gone/%s-%d\n", long, i)
	}
	if b.Len() > hotfix.MaxRemovalsSize {
		t.Fatalf("FileRemovals of %d bytes: over its size limit, the test would test that", b.Len())
	}
	spec := removalSpec("6.14.2.1", nil)
	spec.files[hotfix.RemovalsFile] = b.String()
	dir := sb.makeHotfix(spec)
	product := testutil.Snapshot(t, sb.root, true, productTrees...)
	hotfixDir := testutil.Snapshot(t, dir, true, ".")
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "a journal may hold") {
		t.Fatalf("apply: %v; want a refusal for the journal's size", err)
	}
	if h := hintOf(err); !strings.Contains(h, "split it over several hotfixes") {
		t.Errorf("hint %q, want one that says what to do", h)
	}
	assertUntouched(t, sb, dir, product, hotfixDir)
	if _, err := os.Lstat(journal.Path(dir, "host1")); !os.IsNotExist(err) {
		t.Errorf("journal: %v, want none", err)
	}
	if _, err := os.Stat(filepath.Join(sb.root, "opt/shop/lib/old.jar")); err != nil {
		t.Errorf("old.jar: %v, want it still there", err)
	}
}

// hintOf is the hint err carries, "" if none.
func hintOf(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// TestRemovalOfAMountPointRefused: a removed directory with a file system mounted on it
// cannot be removed (EBUSY); the plan refuses it, naming it, before the first write.
func TestRemovalOfAMountPointRefused(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	removalProduct(sb)
	mnt := filepath.Join(sb.root, "opt/shop/lib/obsolete/sub/empty")
	mountTmpfs(t, mnt, "1m")
	sb.touchAll()
	dir := sb.makeHotfix(removalSpec("6.14.2.1", removalList()))
	product := testutil.Snapshot(t, sb.root, true, productTrees...)
	hotfixDir := testutil.Snapshot(t, dir, true, ".")
	err := sb.host.Apply(context.Background(), dir, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "FileRemovals: FileChanges/lib/obsolete/sub/empty: "+mnt+" is a mount point") {
		t.Fatalf("apply: %v, want a refusal naming the mount point\n%s", err, sb.out)
	}
	if h := hintOf(err); !strings.Contains(h, "unmount it") {
		t.Errorf("hint %q, want one that says to unmount it", h)
	}
	assertUntouched(t, sb, dir, product, hotfixDir)
}
