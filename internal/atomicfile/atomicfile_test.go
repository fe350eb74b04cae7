package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReplaceFiles(t *testing.T) {
	// Update gives a new file perm: written where none was, it must get 0644.
	fresh := filepath.Join(t.TempDir(), "new")
	if err := Update(fresh, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o644 {
		t.Errorf("Update of a new file: mode %v, want 0644", fi.Mode().Perm())
	}
	for name, write := range map[string]func(string, []byte, os.FileMode) error{
		"Write":   Write,
		"Replace": Replace,
		"Update":  Update,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "state")
			if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := write(p, []byte("new\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(p)
			if err != nil || string(data) != "new\n" {
				t.Fatalf("content = %q, %v; want %q", data, err, "new\n")
			}
			want := os.FileMode(0o644)
			if name == "Update" {
				want = 0o600 // an existing file keeps its mode
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != want {
				t.Errorf("mode = %v, want %v", fi.Mode().Perm(), want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("directory holds %d entries after the write, want only the file", len(ents))
			}
			// A write that cannot be made leaves nothing behind.
			missing := filepath.Join(dir, "no-such-dir", "state")
			if err := write(missing, []byte("x"), 0o644); err == nil {
				t.Errorf("write into a missing directory worked")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("a failed write left %d entries, want 1", len(ents))
			}
		})
	}
}

// TestSyncDirUnsupported: a file system that cannot sync a directory (EINVAL, ENOTSUP, as
// some NFS and CIFS mounts answer) does not fail a write; any other sync error does.
func TestSyncDirUnsupported(t *testing.T) {
	defer func(f func(*os.File) error) { syncFile = f }(syncFile)
	for _, tc := range []struct {
		err  error
		fail bool
	}{
		{nil, false},
		{&os.PathError{Op: "sync", Path: "d", Err: syscall.EINVAL}, false},
		{&os.PathError{Op: "sync", Path: "d", Err: syscall.ENOTSUP}, false},
		{&os.PathError{Op: "sync", Path: "d", Err: syscall.EIO}, true},
	} {
		syncFile = func(*os.File) error { return tc.err }
		dir := t.TempDir()
		p := filepath.Join(dir, "ledger")
		err := Write(p, []byte("6.14.2.1\n"), 0o644)
		if (err != nil) != tc.fail {
			t.Errorf("directory sync failing with %v: Write returned %v", tc.err, err)
		}
		if err == nil {
			if data, _ := os.ReadFile(p); string(data) != "6.14.2.1\n" {
				t.Errorf("content %q", data)
			}
		}
		if err := SyncDir(dir); (err != nil) != tc.fail {
			t.Errorf("SyncDir with %v: %v", tc.err, err)
		}
	}
}
