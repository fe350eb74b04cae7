package repo

import (
	"slices"
	"testing"
)

// TestCompressFileList: the full paths of an old package become what librpm's
// compressFilelist makes of them, and join back to the same paths.
func TestCompressFileList(t *testing.T) {
	paths := []string{"/etc/a.conf", "/etc/b", "/usr/bin/x", "/etc/c", "rel", "/"}
	base, dirs, idx := compressFileList(paths)
	if want := []string{"/etc/", "/usr/bin/", "", "/"}; !slices.Equal(dirs, want) {
		t.Errorf("dirs = %q, want %q", dirs, want)
	}
	for i, p := range paths {
		if got := dirs[idx[i]] + base[i]; got != p {
			t.Errorf("path %d = %q, want %q", i, got, p)
		}
	}
}

// TestTrimAuthor: createrepo_c trims the spaces at the end of a changelog author but never
// looks at its first byte.
func TestTrimAuthor(t *testing.T) {
	for in, want := range map[string]string{
		"Ann <a@x> - 1  ": "Ann <a@x> - 1",
		" ":               " ",
		"   ":             " ",
		"":                "",
		"a b":             "a b",
	} {
		if got := trimAuthor(in); got != want {
			t.Errorf("trimAuthor(%q) = %q, want %q", in, got, want)
		}
	}
}
