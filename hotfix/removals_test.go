package hotfix

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/boundedio"
)

func TestRemovalsRoundTrip(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	rs := []Removal{
		{Path: "FileChanges/lib/z.jar", Kind: RemoveFile, SHA256: sum},
		{Path: "FileChanges/bin/old", Kind: RemoveLink, SHA256: LinkSHA256("../lib/z.jar")},
		{Path: "StoreTypeChanges/types/é dir", Kind: RemoveDir},
		{Path: "FileChanges/odd\nname\\with\rall", Kind: RemoveFile, SHA256: sum},
	}
	data := FormatRemovals(rs)
	got, err := ParseRemovals(strings.NewReader(string(data)), RemovalsFile)
	if err != nil {
		t.Fatalf("parse what FormatRemovals wrote: %v\n%s", err, data)
	}
	want := []Removal{rs[1], rs[0], rs[3], rs[2]} // sorted by path
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(string(data), `\file:`+sum+`  FileChanges/odd\nname\\with\rall`+"\n") {
		t.Errorf("the odd name is not escaped as in filelist.txt:\n%s", data)
	}
	if r := got[1]; r.Tree() != "FileChanges" || r.Rel() != "lib/z.jar" {
		t.Errorf("Tree, Rel = %q, %q", r.Tree(), r.Rel())
	}
}

func TestRemovalsRefused(t *testing.T) {
	sum := strings.Repeat("0f", 32)
	for _, tc := range []struct{ line, want string }{
		{"file:" + sum + " FileChanges/a", "no two blanks"},
		{"file:" + sum[:63] + "  FileChanges/a", "64 lower-case hex"},
		{"file:" + strings.ToUpper(sum) + "  FileChanges/a", "64 lower-case hex"},
		{"link:  FileChanges/a", "64 lower-case hex"},
		{"dir:" + sum + "  FileChanges/a", "a directory has no SHA-256"},
		{"device:" + sum + "  FileChanges/a", `unknown kind "device"`},
		{"file:" + sum + "  /etc/passwd", "absolute"},
		{"file:" + sum + "  FileChanges/../../etc/passwd", "not clean"},
		{"file:" + sum + "  FileChanges/a/", "not clean"},
		{"file:" + sum + "  ../x", "not clean"},
		{"dir  FileChanges", "whole change tree"},
		{"file:" + sum + "  Install/10-run.sh", "Install/"},
		{`\file:` + sum + `  FileChanges/a\q`, `unknown escape \q`},
		{"file:" + sum + "  FileChanges/a\nfile:" + sum + "  FileChanges/a", "listed on line 3 already"},
	} {
		_, err := ParseRemovals(strings.NewReader("# comment\n\n"+tc.line+"\n"), "X/FileRemovals")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "X/FileRemovals:") {
			t.Errorf("%q: err = %v, want one naming the file, the line and %q", tc.line, err, tc.want)
		}
	}
}

func TestReadRemovals(t *testing.T) {
	dir := t.TempDir()
	if rs, err := ReadRemovals(dir); rs != nil || err != nil {
		t.Fatalf("no FileRemovals: %v, %v; want nothing and no error", rs, err)
	}
	if err := os.Mkdir(filepath.Join(dir, RemovalsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRemovals(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a directory named FileRemovals: %v", err)
	}
	os.Remove(filepath.Join(dir, RemovalsFile))
	f, err := os.Create(filepath.Join(dir, RemovalsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxRemovalsSize + 1); err != nil { // sparse: refused by its size, not read
		t.Fatal(err)
	}
	f.Close()
	if _, err := ReadRemovals(dir); !boundedio.IsTooLarge(err) {
		t.Fatalf("an oversized FileRemovals: %v, want a too-large error", err)
	}
}

// TestRemovalsEntryLimit: FileRemovals lists at most MaxRemovals entries, well within its
// size limit; one more is refused, naming the file, the line and the limit.
func TestRemovalsEntryLimit(t *testing.T) {
	var b strings.Builder
	for i := range MaxRemovals {
		fmt.Fprintf(&b, "dir  FileChanges/d/%d\n", i)
	}
	if rs, err := ParseRemovals(strings.NewReader(b.String()), "X/FileRemovals"); err != nil || len(rs) != MaxRemovals {
		t.Fatalf("%d entries: %d, %v; want all of them", MaxRemovals, len(rs), err)
	}
	b.WriteString("dir  FileChanges/d/one-more\n")
	if b.Len() > MaxRemovalsSize {
		t.Fatalf("the test's FileRemovals (%d bytes) is over the size limit: it tests the size, not the count", b.Len())
	}
	_, err := ParseRemovals(strings.NewReader(b.String()), "X/FileRemovals")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("X/FileRemovals:%d: more than %d entries", MaxRemovals+1, MaxRemovals)) {
		t.Fatalf("%d entries: %v; want a refusal naming the line and the limit", MaxRemovals+1, err)
	}
}

// TestShortList: a list longer than n is cut to n entries and a count of the rest; a
// shorter one is kept, and the list passed in is never changed.
func TestShortList(t *testing.T) {
	list := []string{"a", "b", "c", "d"}
	if got := strings.Join(ShortList(list, 2), ", "); got != "a, b, and 2 more" {
		t.Errorf("ShortList(4 entries, 2) = %q", got)
	}
	if got := strings.Join(ShortList(list, 4), ", "); got != "a, b, c, d" {
		t.Errorf("ShortList(4 entries, 4) = %q", got)
	}
	if got := strings.Join(list, ","); got != "a,b,c,d" {
		t.Errorf("the list passed in changed: %q", got)
	}
}
