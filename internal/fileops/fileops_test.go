package fileops

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

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
	if err := os.WriteFile(NewTemp(target), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	mode := os.FileMode(0o750) | os.ModeSetuid
	if err := PlaceFile(src, target, mode); err != nil {
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
	if _, err := os.Lstat(NewTemp(target)); !os.IsNotExist(err) {
		t.Errorf("temporary left behind: %v", err)
	}

	// The source is now a symlink: refused, nothing changed.
	os.Remove(src)
	if err := os.Symlink("/etc/passwd", src); err != nil {
		t.Fatal(err)
	}
	if err := PlaceFile(src, target, 0o644); err == nil {
		t.Fatal("a symlinked source was followed")
	}
	if got, _ := os.ReadFile(target); string(got) != "new\n" {
		t.Errorf("target changed to %q", got)
	}
	if _, err := os.Lstat(NewTemp(target)); !os.IsNotExist(err) {
		t.Errorf("temporary left behind: %v", err)
	}
}

// TestPreserveCopyOfAFileWithOtherNames: a file with one name is kept by a hard link (and
// a repeated backup finds it linked), one with another name by a copy with its time.
func TestPreserveCopyOfAFileWithOtherNames(t *testing.T) {
	dir := t.TempDir()
	src, other, dst := filepath.Join(dir, "src"), filepath.Join(dir, "other"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte("one\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	backup := func() os.FileInfo {
		t.Helper()
		fi, err := os.Lstat(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := PreserveCopy(src, dst, fi); err != nil {
			t.Fatal(err)
		}
		return fi
	}
	fi := backup()
	if d, _ := os.Lstat(dst); !os.SameFile(fi, d) {
		t.Fatal("a file with one name: not linked")
	}
	backup() // as a resumed backup: src has two names now, one of them dst
	if d, _ := os.Lstat(dst); !os.SameFile(fi, d) {
		t.Fatal("a repeated backup replaced the link by a copy")
	}
	os.Remove(dst)
	if err := os.Link(src, other); err != nil {
		t.Fatal(err)
	}
	fi = backup()
	d, err := os.Lstat(dst)
	if err != nil || os.SameFile(fi, d) {
		t.Fatalf("a file with another name: %v, linked %v; want a copy", err, err == nil)
	}
	if b, _ := os.ReadFile(dst); string(b) != "one\n" || !d.ModTime().Equal(fi.ModTime()) || d.Mode() != fi.Mode() {
		t.Errorf("copy: %q, %v, %v; want the content, time and mode of src", b, d.ModTime(), d.Mode())
	}
}
