package hotfix

import (
	"strings"
	"testing"
)

// FuzzParseVersion feeds arbitrary text to the version parsers (the ledger, version.txt,
// package names and command arguments go through them). They must never panic; what
// parses is canonical (String gives the input back), compares equal to itself and
// consistently with another version, and a hotfix version survives the trip through its
// package name.
func FuzzParseVersion(f *testing.F) {
	for _, seed := range [][2]string{
		{"6.14.2.3", "6.14.2"},
		{"6.14", "6.14.0"},
		{"1.0.0.1", "1.0.0.10"},
		{"01.2", "1..2"},
		{"6.14.2.0", "-1.2.3"},
		{"1073741824.1.1", "1073741825.1.1"},
		{"99999999999999999999.1", "+1.2"},
		{"6.14.2.3\n", " 6.14.2.3"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		v, err := ParseVersion(a)
		if err != nil {
			if _, err := ParseHotfixVersion(a); err == nil {
				t.Fatalf("ParseHotfixVersion(%q) accepts what ParseVersion refuses", a)
			}
			return
		}
		if len(v) < 2 {
			t.Fatalf("ParseVersion(%q) = %v, fewer than two components", a, v)
		}
		if v.String() != a {
			t.Fatalf("ParseVersion(%q).String() = %q, want the input", a, v.String())
		}
		if v.Compare(v) != 0 || !v.Equal(v) {
			t.Fatalf("%v does not equal itself", v)
		}
		if w, err := ParseVersion(b); err == nil {
			if c, d := v.Compare(w), w.Compare(v); c != -d {
				t.Fatalf("Compare(%v, %v) = %d but Compare(%v, %v) = %d", v, w, c, w, v, d)
			}
			if (v.Compare(w) == 0) != (a == b) {
				t.Fatalf("%q and %q compare %d", a, b, v.Compare(w))
			}
		}
		h, err := ParseHotfixVersion(a)
		if err != nil {
			return
		}
		if h.Seq() < 1 || len(h) < 3 {
			t.Fatalf("ParseHotfixVersion(%q) = %v: no sequence", a, h)
		}
		name := PackageName("shop", h)
		back, ok := ParsePackageName("shop", name)
		if !ok || !back.Equal(h) {
			t.Fatalf("ParsePackageName(%q) = %v, %v, want %v", name, back, ok, h)
		}
		if !strings.HasPrefix(DirName("shop", h), "shop-hotfix-") {
			t.Fatalf("DirName(%v) = %q", h, DirName("shop", h))
		}
		if p, ok := h.Previous(); ok && (p.Next().Compare(h) != 0 || p.Compare(h) >= 0) {
			t.Fatalf("Previous(%v) = %v, whose Next is %v", h, p, p.Next())
		}
	})
}
