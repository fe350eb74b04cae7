package repo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/repo/rpmmd"
)

// readRepo reads the metadata of the repository in dir through its repomd.xml.
func readRepo(t *testing.T, dir string) (pkgs []*pkg, plain map[string][]byte) {
	t.Helper()
	repomd, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	locs, err := metadataLocations(repomd)
	if err != nil {
		t.Fatal(err)
	}
	plain = make(map[string][]byte)
	for _, typ := range []string{"primary", "filelists", "other"} {
		data, err := os.ReadFile(filepath.Join(dir, locs[typ].href))
		if err != nil {
			t.Fatal(err)
		}
		if plain[typ], err = decompress(data); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	pkgs, err = rpmmd.Parse(plain["primary"], plain["filelists"], plain["other"])
	if err != nil {
		t.Fatal(err)
	}
	return pkgs, plain
}

// firstDiff names the first field in which a and b differ, "" when they are equal.
func firstDiff(path string, a, b reflect.Value) string {
	switch a.Kind() {
	case reflect.Pointer:
		return firstDiff(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := firstDiff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		for i := 0; i < min(a.Len(), b.Len()); i++ {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d entries, want %d", path, a.Len(), b.Len())
		}
		return ""
	}
	if !a.Equal(b) {
		return fmt.Sprintf("%s = %#v, want %#v", path, a.Interface(), b.Interface())
	}
	return ""
}

func comparePkgs(t *testing.T, got, want []*pkg) {
	t.Helper()
	if d := firstDiff("packages", reflect.ValueOf(got), reflect.ValueOf(want)); d != "" {
		t.Errorf("metadata differs from createrepo_c's: %s", d)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	// CopyFS does not keep mtimes, which the metadata records.
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		os.Chtimes(filepath.Join(dst, e.Name()), fi.ModTime(), fi.ModTime())
	}
}

func testOptions(dir string) Options {
	return Options{
		Dir:      dir,
		Product:  "shop",
		BaseURLs: []string{"https://updates.shop.example/hotfix", "http://mirror.shop.example/hotfix/"},
		Time:     time.Unix(1714600000, 0),
	}
}

// TestCreaterepoAgreement compares our primary, filelists and other with createrepo_c's
// for the same packages: parsed, field by field, and then as bytes. Known and accepted
// differences: none in the three XML files (package order is the sorted location for
// both), compression aside; repomd.xml differs in revision and timestamps (createrepo_c takes the clock and
// the files' mtimes) and createrepo_c names no key or .repo file.
func TestCreaterepoAgreement(t *testing.T) {
	createrepo := testutil.RequireTool(t, "createrepo_c")
	vendor, _ := testKeys(t)
	ours := buildRepoDir(t, vendor, testPkgs...)
	theirs := filepath.Join(t.TempDir(), "6.14.2")
	copyDir(t, ours, theirs)

	// createrepo_c 1.x compresses primary, filelists and other with zstd by default, 0.17
	// with gzip; the comparison is of the XML, so both are asked for gzip, what hotchain
	// writes.
	if out, err := exec.Command(createrepo, "--no-database", "--general-compress-type=gz", theirs).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	if _, err := Build(context.Background(), testOptions(ours)); err != nil {
		t.Fatal(err)
	}
	gotPkgs, got := readRepo(t, ours)
	wantPkgs, want := readRepo(t, theirs)
	if len(wantPkgs) != len(testPkgs) {
		t.Fatalf("createrepo_c indexed %d packages, want %d", len(wantPkgs), len(testPkgs))
	}
	comparePkgs(t, gotPkgs, wantPkgs)
	for _, typ := range []string{"primary", "filelists", "other"} {
		if !bytes.Equal(got[typ], want[typ]) {
			t.Errorf("%s.xml is not byte-identical to createrepo_c's:\n%s", typ, testutil.FirstDiff(got[typ], want[typ]))
		}
	}

	// createrepo_c's metadata is also what an update starts from when a vendor switches
	// tools: every entry is reused, and the result is the same again.
	res, err := Build(context.Background(), testOptions(theirs))
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused != len(testPkgs) {
		t.Errorf("update over createrepo_c's metadata reused %d entries, want %d", res.Reused, len(testPkgs))
	}
	againPkgs, _ := readRepo(t, theirs)
	comparePkgs(t, againPkgs, wantPkgs)
}

func reflectOf(p *pkg) reflect.Value { return reflect.ValueOf(p) }
