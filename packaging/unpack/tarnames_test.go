package unpack

import (
	"archive/tar"
	"strings"
	"testing"
)

// TestTarNames pins the rules a hotfix tarball's entries are held to, entry by entry, given
// the entries before them; extract only writes what check let through.
func TestTarNames(t *testing.T) {
	dir := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir} }
	file := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg} }
	link := func(name, to string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: to}
	}
	top := []*tar.Header{dir("shop-hotfix-6.14.2.1/"), file("shop-hotfix-6.14.2.1/version.txt")}
	for _, tc := range []struct {
		name   string
		before []*tar.Header
		entry  *tar.Header
		want   string // part of why; "" = accepted
	}{
		{"file in the top directory", top, file("shop-hotfix-6.14.2.1/FileChanges/a.pm"), ""},
		{"directory after files under it", []*tar.Header{dir("h/"), file("h/d/x")}, dir("h/d/"), ""},
		{"relative symlink inside", top, link("shop-hotfix-6.14.2.1/FileChanges/a", "b"), ""},
		{"symlink up but inside", top, link("shop-hotfix-6.14.2.1/FileChanges/a", "../version.txt"), ""},
		{"absolute name", nil, file("/etc/passwd"), "has an absolute name"},
		{"dot-dot", top, file("shop-hotfix-6.14.2.1/../x"), `has ".." in its name`},
		{"backslash", top, file(`shop-hotfix-6.14.2.1/a\b`), "backslash or NUL"},
		{"NUL", top, file("shop-hotfix-6.14.2.1/a\x00b"), "backslash or NUL"},
		{"empty name", nil, file("./"), "has an empty name"},
		{"second top directory", top, file("other/x"), `outside the archive's one top directory "shop-hotfix-6.14.2.1"`},
		{"twice", top, file("shop-hotfix-6.14.2.1/version.txt"), "appears twice"},
		{"file where entries lay under", []*tar.Header{dir("h/"), file("h/d/x")}, file("h/d"), "earlier entries lie under it"},
		{"under a file", top, file("shop-hotfix-6.14.2.1/version.txt/x"), `lies under "shop-hotfix-6.14.2.1/version.txt", which is not a directory`},
		{"top is a file", nil, file("h"), "is the top directory but not a directory"},
		{"absolute symlink", top, link("shop-hotfix-6.14.2.1/a", "/etc/shadow"), "must point inside the hotfix directory, relatively"},
		{"empty symlink", top, link("shop-hotfix-6.14.2.1/a", ""), "must point inside"},
		{"symlink out", top, link("shop-hotfix-6.14.2.1/a", "../../etc"), "points out of the hotfix directory"},
		{"hard link", top, &tar.Header{Name: "shop-hotfix-6.14.2.1/a", Typeflag: tar.TypeLink, Linkname: "shop-hotfix-6.14.2.1/version.txt"}, "is a hard link"},
		{"device", top, &tar.Header{Name: "shop-hotfix-6.14.2.1/a", Typeflag: tar.TypeBlock}, "is a device file"},
		{"fifo", top, &tar.Header{Name: "shop-hotfix-6.14.2.1/a", Typeflag: tar.TypeFifo}, "is a named pipe"},
		{"unknown type", top, &tar.Header{Name: "shop-hotfix-6.14.2.1/a", Typeflag: 'Z'}, "unsupported tar type"},
		{"long name", top, file("shop-hotfix-6.14.2.1/" + strings.Repeat("x", MaxTarballName)), "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &tarNames{kinds: map[string]byte{}, implicit: map[string]bool{}}
			for _, h := range tc.before {
				if _, _, why := n.check(h); why != "" {
					t.Fatalf("entry %q before: %s", h.Name, why)
				}
			}
			_, _, why := n.check(tc.entry)
			switch {
			case tc.want == "" && why != "":
				t.Errorf("refused: %s", why)
			case tc.want != "" && !strings.Contains(why, tc.want):
				t.Errorf("got %q, want %q", why, tc.want)
			}
		})
	}
}
