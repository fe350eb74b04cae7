package rpmfile

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

func TestParseEVR(t *testing.T) {
	tests := []struct {
		in, e, v, r string
		ok          bool
	}{
		{"", "", "", "", true},
		{"1.0", "0", "1.0", "", true},
		{"1.0-3.el9", "0", "1.0", "3.el9", true},
		{"2:1.0-3", "2", "1.0", "3", true},
		{":1.0", "0", "1.0", "", true},
		{"1.0-3-4", "0", "1.0", "3-4", true},
		{"x:1.0", "", "", "", false}, // createrepo_c drops such a dependency
	}
	for _, tt := range tests {
		e, v, r, ok := parseEVR(tt.in)
		if e != tt.e || v != tt.v || r != tt.r || ok != tt.ok {
			t.Errorf("parseEVR(%q) = %q %q %q %v, want %q %q %q %v", tt.in, e, v, r, ok, tt.e, tt.v, tt.r, tt.ok)
		}
	}
}
