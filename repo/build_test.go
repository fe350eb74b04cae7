package repo

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/repo/rpmfile"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// snapshot is every file under dir with its content, to prove that a run changed nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		m[rel] = string(data) + "\x00" + fi.ModTime().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, v := range before {
		if after[name] != v {
			t.Errorf("%s changed", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
}

func build(t *testing.T, o Options) (*Result, error) {
	t.Helper()
	return Build(context.Background(), o)
}

func mustBuild(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := build(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestGolden pins the reproducible output: with the same packages and the same time
// (SOURCE_DATE_EPOCH in the command) repomd.xml and the .repo file come out byte for byte
// the same. repomd.xml.asc is checked (verifyDetached), not pinned.
func TestGolden(t *testing.T) {
	vendor, _ := testKeys(t)
	dir := buildRepoDir(t, vendor, testPkgs...)
	o := testOptions(dir)
	o.Signer = vendor
	mustBuild(t, o)
	for _, name := range []string{"repodata/repomd.xml", "shop-hotfix.repo"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, filepath.Join("testdata", filepath.Base(name)+".golden"), data)
	}
	repomd, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	sig, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml.asc"))
	pub, _ := os.ReadFile(filepath.Join(dir, "RPM-GPG-KEY-shop-hotfix"))
	verifyDetached(t, pub, repomd, sig, o.Time)

	// Every metadata file carries the run's time, for rsync and HTTP caches.
	entries, _ := os.ReadDir(filepath.Join(dir, "repodata"))
	for _, e := range entries {
		fi, _ := e.Info()
		if !fi.ModTime().Equal(o.Time) {
			t.Errorf("%s mtime %v, want %v", e.Name(), fi.ModTime(), o.Time)
		}
	}
	testutil.Golden(t, "testdata/shop-hotfix-unsigned.repo.golden", RepoFile("shop", "6.14.2", []string{"file:///srv/repo/shop"}, false))

	// A second run over the same input gives the same files, whether it reuses or reads.
	before := snapshot(t, dir)
	delete(before, "repodata/repomd.xml.asc")
	for _, noUpdate := range []bool{false, true} {
		o.NoUpdate = noUpdate
		mustBuild(t, o)
		after := snapshot(t, dir)
		delete(after, "repodata/repomd.xml.asc")
		sameSnapshot(t, before, after)
	}
}

// verifyDetached checks an armored detached signature made at when with the armored key.
func verifyDetached(t *testing.T, pub, data, sig []byte, when time.Time) {
	t.Helper()
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	block, err := armor.Decode(bytes.NewReader(sig))
	if err != nil {
		t.Fatalf("repomd.xml.asc is not armored: %v", err)
	}
	s, _, err := openpgp.VerifyDetachedSignature(ring, bytes.NewReader(data), block.Body, nil)
	if err != nil {
		t.Fatalf("repomd.xml.asc: %v", err)
	}
	if !s.CreationTime.Equal(when) {
		t.Errorf("signature made at %v, want %v", s.CreationTime, when)
	}
}

func TestUpdateReusesUnchangedEntries(t *testing.T) {
	dir := buildRepoDir(t, nil, pkgBase, pkgFix1, pkgTools)
	o := testOptions(dir)
	res := mustBuild(t, o)
	if res.Packages != 3 || res.Reused != 0 {
		t.Fatalf("first run: %+v, want 3 packages, none reused", res)
	}
	first, _ := readRepo(t, dir)

	// Overwrite the base package with garbage of the same size and mtime: a run that read
	// it again would fail, so success proves that its entry was reused.
	basePath := filepath.Join(dir, pkgBase.fileName())
	orig, _ := os.ReadFile(basePath)
	if err := os.WriteFile(basePath, bytes.Repeat([]byte{'x'}, len(orig)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(basePath, testEpoch, testEpoch)
	pkgFix2.build(t, dir, nil)
	res = mustBuild(t, o)
	if res.Packages != 4 || res.Reused != 3 {
		t.Fatalf("after adding a package: %+v, want 4 packages, 3 reused", res)
	}
	second, _ := readRepo(t, dir)
	if got := names(second); got != "shop-hotfix-6_14_2_1 shop-hotfix-6_14_2_2 shop-hotfix-base shop-tools" {
		t.Errorf("packages %s", got)
	}
	for _, p := range first {
		if d := firstDiff(p.Name, reflectOf(p), reflectOf(find(second, p.Name))); d != "" {
			t.Errorf("reused entry changed: %s", d)
		}
	}

	// -no-update reads every package: the garbage is found.
	o.NoUpdate = true
	before := snapshot(t, dir)
	_, err := build(t, o)
	if err == nil || !strings.Contains(err.Error(), pkgBase.fileName()) || !strings.Contains(err.Error(), "not an RPM") {
		t.Fatalf("-no-update over a damaged package: err = %v, want it to name %s as not an RPM", err, pkgBase.fileName())
	}
	sameSnapshot(t, before, snapshot(t, dir))
	o.NoUpdate = false

	// A package replaced by another build (new mtime) is read again.
	os.WriteFile(basePath, orig, 0o644)
	later := testEpoch.Add(time.Hour)
	os.Chtimes(basePath, later, later)
	if res = mustBuild(t, o); res.Reused != 3 {
		t.Errorf("after touching one package: reused %d, want 3", res.Reused)
	}
	third, _ := readRepo(t, dir)
	if got := find(third, "shop-hotfix-base").FileTime; got != later.Unix() {
		t.Errorf("time file of the rebuilt package = %d, want %d", got, later.Unix())
	}

	// A removed package leaves the metadata.
	os.Remove(filepath.Join(dir, pkgFix1.fileName()))
	if res = mustBuild(t, o); res.Packages != 3 || res.Reused != 3 {
		t.Errorf("after removing a package: %+v, want 3 packages, 3 reused", res)
	}
	fourth, _ := readRepo(t, dir)
	if got := names(fourth); got != "shop-hotfix-6_14_2_2 shop-hotfix-base shop-tools" {
		t.Errorf("packages after removal: %s", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".repodata.tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left behind: %v", leftovers)
	}
}

func names(pkgs []*pkg) string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.Name)
	}
	return strings.Join(s, " ")
}

func find(pkgs []*pkg, name string) *pkg {
	for _, p := range pkgs {
		if p.Name == name {
			return p
		}
	}
	return &pkg{}
}

// TestBadInputChangesNothing: each bad input fails with an error that names the problem,
// and the repository (metadata, .repo file, key) stays byte for byte as it was.
func TestBadInputChangesNothing(t *testing.T) {
	vendor, other := testKeys(t)
	dir := buildRepoDir(t, vendor, pkgBase, pkgFix1)
	o := testOptions(dir)
	o.Signer = vendor
	mustBuild(t, o)
	fix2 := filepath.Join(dir, pkgFix2.fileName())

	tests := []struct {
		name    string
		setup   func(t *testing.T) // makes the bad input
		opts    func(*Options)
		wantErr []string
	}{
		{
			name: "truncated package",
			setup: func(t *testing.T) {
				p := pkgFix2.build(t, dir, vendor)
				data, _ := os.ReadFile(p)
				os.WriteFile(p, data[:len(data)-100], 0o644)
			},
			wantErr: []string{pkgFix2.fileName(), "truncated"},
		},
		{
			name: "package cut inside its header",
			setup: func(t *testing.T) {
				p := pkgFix2.build(t, dir, vendor)
				data, _ := os.ReadFile(p)
				os.WriteFile(p, data[:700], 0o644)
			},
			wantErr: []string{pkgFix2.fileName(), "truncated"},
		},
		{
			name:    "not an RPM",
			setup:   func(t *testing.T) { os.WriteFile(fix2, []byte("<html>404 not found</html>\n"), 0o644) },
			wantErr: []string{pkgFix2.fileName(), "not an RPM"},
		},
		{
			name:    "empty file",
			setup:   func(t *testing.T) { os.WriteFile(fix2, nil, 0o644) },
			wantErr: []string{pkgFix2.fileName(), "not an RPM"},
		},
		{
			name:    "unsigned package",
			setup:   func(t *testing.T) { pkgFix2.build(t, dir, nil) },
			wantErr: []string{pkgFix2.fileName(), "not signed"},
		},
		{
			name:    "package signed with another key",
			setup:   func(t *testing.T) { pkgFix2.build(t, dir, other) },
			wantErr: []string{pkgFix2.fileName(), "signed with key " + other.KeyID(), vendor.KeyID()},
		},
		{
			name:    "ftp base URL",
			opts:    func(o *Options) { o.BaseURLs = []string{"ftp://mirror.example/shop"} },
			wantErr: []string{"ftp://mirror.example/shop", "http, https or file"},
		},
		{
			name:    "relative file URL",
			opts:    func(o *Options) { o.BaseURLs = []string{"file://srv/repo"} },
			wantErr: []string{"file://srv/repo", "absolute path"},
		},
		{
			name:    "bad base version",
			opts:    func(o *Options) { o.BaseVersion = "6.x" },
			wantErr: []string{"6.x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer os.Remove(fix2)
			before := snapshot(t, dir)
			if tt.setup != nil {
				tt.setup(t)
				before = snapshot(t, dir)
			}
			o := o
			if tt.opts != nil {
				tt.opts(&o)
			}
			_, err := build(t, o)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			sameSnapshot(t, before, snapshot(t, dir))
		})
	}
}

// TestShortReads feeds the reader one byte per Read: the headers must still be read whole
// (cavaliergopher/rpm v1.2.0 takes a short Read for a whole header structure, so it only
// ever parses them from memory).
func TestShortReads(t *testing.T) {
	vendor, _ := testKeys(t)
	dir := t.TempDir()
	data, err := os.ReadFile(pkgTools.build(t, dir, vendor))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := readPackage(bytes.NewReader(data), "x.rpm")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readPackage(iotest.OneByteReader(bytes.NewReader(data)), "x.rpm")
	if err != nil {
		t.Fatalf("one byte at a time: %v", err)
	}
	if d := firstDiff("pkg", reflectOf(got), reflectOf(want)); d != "" {
		t.Error(d)
	}
	if _, _, err := readPackage(iotest.HalfReader(bytes.NewReader(data[:len(data)/2])), "x.rpm"); err == nil {
		t.Error("half a package read without error")
	}
}

// readPackage (for tests) reads an RPM from r (to its end: the checksum covers the whole file) and
// returns its metadata, without the file time. Errors say what is wrong with the file.
func readPackage(r io.Reader, href string) (*pkg, *rpmfile.Header, error) {
	return rpmfile.Read(r, href, bufio.NewReaderSize(nil, 64<<10), rpmfile.Options{ChangelogLimit: DefaultChangelogLimit})
}
