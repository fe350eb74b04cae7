package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFindPackagesSymlinks: where the walk parts from createrepo_c's. A symlink out of the
// repository (to a package or a directory) is not followed, and a symlink loop is entered
// once (createrepo_c lists sub/loop/loop/.../x.rpm to the kernel's limit); each with a
// warning. Symlinks that stay inside are followed, as createrepo_c follows them.
func TestFindPackagesSymlinks(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "6.14.2")
	for _, d := range []string{dir + "/sub", top + "/outside"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{dir + "/sub/x.rpm", top + "/outside/o.rpm", dir + "/notes.txt"} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"out":          "../outside",
		"fo.rpm":       "../outside/o.rpm",
		"abs.rpm":      top + "/outside/o.rpm",
		"sub/loop":     ".",
		"sub/up":       "..",
		"linked":       "sub",
		"linked.rpm":   "sub/x.rpm",
		"dangling.rpm": "nothing.rpm",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	got, err := FindPackages(dir, &log)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"linked.rpm", "linked/x.rpm", "sub/x.rpm"}
	if !slices.Equal(got, want) {
		t.Errorf("packages = %q, want %q", got, want)
	}
	for _, w := range []string{
		"out is a symlink to " + top + "/outside, outside the repository",
		"fo.rpm is a symlink to " + top + "/outside/o.rpm, outside the repository",
		"abs.rpm is a symlink",
		"sub/loop leads back to",
		"sub/up leads back to",
	} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log does not say %q:\n%s", w, log.String())
		}
	}
}

// TestComparePackagePaths: createrepo_c's order, file name first, then directory byte by
// byte ("a" before "a b" before "a/b": a shorter prefix first, then 0x20 before "/").
func TestComparePackagePaths(t *testing.T) {
	hrefs := []string{"sub/b.rpm", "a.rpm", "z/a.rpm", "a b/a.rpm", "a/a.rpm", "a/b/a.rpm", ".x.rpm", "B.rpm"}
	slices.SortFunc(hrefs, comparePackagePaths)
	want := []string{".x.rpm", "B.rpm", "a.rpm", "a/a.rpm", "a b/a.rpm", "a/b/a.rpm", "z/a.rpm", "sub/b.rpm"}
	if !slices.Equal(hrefs, want) {
		t.Errorf("order = %q, want %q", hrefs, want)
	}
}
