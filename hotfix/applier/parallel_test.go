package applier

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/fileops"
)

// TestInOrder: the work runs on several goroutines, but what the journal's users see (the
// steps) comes in order, and the first failure in that order ends it.
func TestInOrder(t *testing.T) {
	const n = 200
	for _, failAt := range []int{-1, 0, 57, n - 1} {
		t.Run(fmt.Sprint("fail at ", failAt), func(t *testing.T) {
			var running, most atomic.Int32
			var seen []int
			errBoom := errors.New("boom")
			err := inOrder(n, func(i int) error {
				r := running.Add(1)
				defer running.Add(-1)
				for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
				}
				time.Sleep(time.Duration(rand.Intn(200)) * time.Microsecond)
				if i == failAt {
					return fmt.Errorf("entry %d: %w", i, errBoom)
				}
				return nil
			}, func(i int) { seen = append(seen, i) })
			want := n
			if failAt >= 0 {
				want = failAt
				if !errors.Is(err, errBoom) {
					t.Fatalf("err = %v, want the failure of entry %d", err, failAt)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(seen) != want {
				t.Fatalf("done was called for %d entries, want %d", len(seen), want)
			}
			for i, v := range seen {
				if v != i {
					t.Fatalf("done called for %d in place %d", v, i)
				}
			}
			if running.Load() != 0 {
				t.Error("work still running after inOrder returned")
			}
			if fileWorkers > 1 && failAt < 0 && most.Load() < 2 {
				t.Errorf("at most %d entries at once, want up to %d", most.Load(), fileWorkers)
			}
		})
	}
}

// TestPlaceFile: a placed file has the hotfix's content and mode (setuid included, even
// after a change of owner), the owner of the file it replaces and the source's mtime; a
// temporary left by an interrupted apply is replaced; a source that became a symlink is
// refused and the target left alone.
func TestPlaceFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(src, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	if err := os.Chtimes(src, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := os.Geteuid() == 0
	if root {
		if err := os.Chown(target, 4321, 4322); err != nil {
			t.Fatal(err)
		}
	}
	// An earlier, killed apply left its temporary.
	if err := os.WriteFile(fileops.NewTemp(target), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	mode := os.FileMode(0o750) | os.ModeSetuid
	if err := fileops.PlaceFile(src, target, mode); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(target)
	fi, err := os.Lstat(target)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new\n" {
		t.Errorf("content %q", got)
	}
	if want := mode &^ os.ModeSetuid; fi.Mode() != want {
		t.Errorf("mode %v, want %v: never setuid from a hotfix", fi.Mode(), want)
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime %v, want %v", fi.ModTime(), mtime)
	}
	if st := fi.Sys().(*syscall.Stat_t); root && (st.Uid != 4321 || st.Gid != 4322) {
		t.Errorf("owner %d:%d, want that of the replaced file, 4321:4322", st.Uid, st.Gid)
	}
	if _, err := os.Lstat(fileops.NewTemp(target)); !os.IsNotExist(err) {
		t.Errorf("temporary left behind: %v", err)
	}

	// The source is now a symlink: refused, nothing changed.
	os.Remove(src)
	if err := os.Symlink("/etc/passwd", src); err != nil {
		t.Fatal(err)
	}
	if err := fileops.PlaceFile(src, target, 0o644); err == nil {
		t.Fatal("a symlinked source was followed")
	}
	if got, _ := os.ReadFile(target); string(got) != "new\n" {
		t.Errorf("target changed to %q", got)
	}
	if _, err := os.Lstat(fileops.NewTemp(target)); !os.IsNotExist(err) {
		t.Errorf("temporary left behind: %v", err)
	}
}
