package hotfix

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceFiles(t *testing.T) {
	// UpdateFile gives a new file perm: written where none was, it must get 0644.
	fresh := filepath.Join(t.TempDir(), "new")
	if err := UpdateFile(fresh, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o644 {
		t.Errorf("UpdateFile of a new file: mode %v, want 0644", fi.Mode().Perm())
	}
	for name, write := range map[string]func(string, []byte, os.FileMode) error{
		"WriteFileAtomic": WriteFileAtomic,
		"ReplaceFile":     ReplaceFile,
		"UpdateFile":      UpdateFile,
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
			if name == "UpdateFile" {
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
