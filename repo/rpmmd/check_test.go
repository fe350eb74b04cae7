package rpmmd

import "testing"

func TestCheckElement(t *testing.T) {
	for _, tt := range []struct {
		xml string
		ok  bool
	}{
		{"<package pkgid=\"ab\" name=\"a&amp;b\" arch=\"noarch\">\n  <file>/x&lt;y&#13;</file>\n  <version epoch=\"0\"/>\n</package>\n", true},
		{"<package a='1'>\n  <rpm:entry name=\"x\"/>\n</package>\n", true},
		{"<package>\n  <file>/x</file>\n</package>\n", true},
		{"<package>\n  <file>/x</fil>\n</package>\n", false},
		{"<package>\n  <file>/x\n</package>\n", false},
		{"<package>\n  <file>a & b</file>\n</package>\n", false},
		{"<package>\n  <file>&nbsp;</file>\n</package>\n", false},
		{"<package>\n  <file>&#0;</file>\n</package>\n", false},
		{"<package>\n  <file x=\"a<b\"/>\n</package>\n", false},
		{"<package>\n  <file x=a/>\n</package>\n", false},
		{"<package>\n  <!-- c -->\n</package>\n", false},
		{"<package>\n  <![CDATA[x]]>\n</package>\n", false},
		{"<package>\n  <file>\x01</file>\n</package>\n", false},
		{"<package>\n  <file>\xff</file>\n</package>\n", false},
		{"<package>\n</package>\n<package>\n</package>\n", false},
	} {
		err := CheckElement([]byte(tt.xml))
		if (err == nil) != tt.ok {
			t.Errorf("CheckElement(%q) = %v, want ok %v", tt.xml, err, tt.ok)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"a&amp;b&lt;c&gt;":       "a&b<c>",
		"&quot;q&quot;&apos;":    "\"q\"'",
		"cr&#13;lf&#10;tab&#x9;": "cr\rlf\ntab\t",
		"&#233;":                 "é",
	} {
		if got := Unescape([]byte(in)); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
