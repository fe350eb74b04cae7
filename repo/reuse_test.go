package repo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rewriteOld replaces the old metadata file of typ in dir's repodata with edit(its
// uncompressed content), and points repomd.xml at it with the right checksum: damage that
// only the content itself can show.
func rewriteOld(t *testing.T, dir, typ string, edit func(string) string) {
	t.Helper()
	repodata := filepath.Join(dir, "repodata")
	repomdPath := filepath.Join(repodata, "repomd.xml")
	repomd, err := os.ReadFile(repomdPath)
	if err != nil {
		t.Fatal(err)
	}
	locs, err := metadataLocations(repomd)
	if err != nil {
		t.Fatal(err)
	}
	l := locs[typ]
	old, err := os.ReadFile(filepath.Join(dir, l.href))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(edit(string(plain))))
	zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	newSum := hex.EncodeToString(sum[:])
	href := "repodata/" + newSum + "-" + typ + ".xml.gz"
	if err := os.WriteFile(filepath.Join(dir, href), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, l.href))
	text := strings.ReplaceAll(string(repomd), l.href, href)
	text = strings.ReplaceAll(text, l.sha256, newSum)
	if err := os.WriteFile(repomdPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateOverDamagedMetadata: old metadata whose elements cannot be reused as they are
// (damaged XML, elements out of order, filelists not matching primary) is not reused:
// every package is read again, with a warning, and the result is what a run without old
// metadata writes.
func TestUpdateOverDamagedMetadata(t *testing.T) {
	dir := buildRepoDir(t, nil, pkgBase, pkgFix1, pkgTools)
	o := testOptions(dir)
	mustBuild(t, o)
	want, _ := readRepo(t, dir)
	wantSnap := snapshot(t, dir)

	for _, tt := range []struct {
		name, typ string
		edit      func(string) string
	}{
		{"unclosed element in filelists", "filelists", func(s string) string {
			return strings.Replace(s, "<file>", "<file><b>", 1)
		}},
		{"stray ampersand in other", "other", func(s string) string {
			return strings.Replace(s, "<version ", "<version x=\"&\" ", 1)
		}},
		{"comment in primary", "primary", func(s string) string {
			return strings.Replace(s, "<format>", "<format><!-- x -->", 1)
		}},
		{"filelists entries swapped", "filelists", func(s string) string {
			parts := strings.SplitAfter(s, "</package>\n")
			head, first := parts[0][:strings.Index(parts[0], "<package ")], parts[0][strings.Index(parts[0], "<package "):]
			return head + parts[1] + first + strings.Join(parts[2:], "")
		}},
		{"other entry missing", "other", func(s string) string {
			parts := strings.SplitAfter(s, "</package>\n")
			return parts[0] + strings.Join(parts[2:], "")
		}},
		{"garbage after the root element", "filelists", func(s string) string { return s + "<x/>" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rewriteOld(t, dir, tt.typ, tt.edit)
			var log bytes.Buffer
			o := o
			o.Log = &log
			res := mustBuild(t, o)
			if !strings.Contains(log.String(), "not reused") {
				t.Errorf("no warning about the old metadata; log:\n%s", log.String())
			}
			if res.Reused != 0 || res.Packages != 3 {
				t.Errorf("result %+v, want 3 packages read again", res)
			}
			got, _ := readRepo(t, dir)
			comparePkgs(t, got, want)
			sameSnapshot(t, wantSnap, snapshot(t, dir))
		})
	}
}

// TestUpdateMetadataModes: the metadata files are world-readable, for the web server.
func TestUpdateMetadataModes(t *testing.T) {
	dir := buildRepoDir(t, nil, pkgBase, pkgFix1)
	o := testOptions(dir)
	for _, noUpdate := range []bool{true, false} {
		o.NoUpdate = noUpdate
		mustBuild(t, o)
		entries, _ := os.ReadDir(filepath.Join(dir, "repodata"))
		for _, e := range entries {
			fi, _ := e.Info()
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("%s has mode %v, want 0644", e.Name(), fi.Mode())
			}
		}
		if fi, _ := os.Stat(filepath.Join(dir, "repodata")); fi.Mode().Perm() != 0o755 {
			t.Errorf("repodata has mode %v, want 0755", fi.Mode())
		}
	}
}
