package bundle

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// testEpoch is the time every test package and key is made at.
var testEpoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testKeys are the vendor's key and another one.
func testKeys(t testing.TB) (vendor, other *sign.Signer) {
	t.Helper()
	gen := func(name string) *sign.Signer {
		s, err := sign.GenerateKey(name, "hotfixes@shop.example", sign.Ed25519, testEpoch)
		if err != nil {
			t.Fatal(err)
		}
		s.Time = testEpoch
		return s
	}
	return gen("Shop Hotfixes"), gen("Someone Else")
}

// testPkg is a small hotfix package of the 6.14.2 chain, built with rpmpack so that the
// tests stand on their own (as repo's do).
type testPkg struct {
	seq     int
	release string
}

// hotfixPkg is the package of hotfix 6.14.2.seq, release release.
func hotfixPkg(seq int, release string) testPkg { return testPkg{seq: seq, release: release} }

// build writes p as an RPM file into dir, signed by s when s is not nil.
func (p testPkg) build(t testing.TB, dir string, s *sign.Signer) string {
	t.Helper()
	v := "6.14.2." + strconv.Itoa(p.seq)
	name := "shop-hotfix-6_14_2_" + strconv.Itoa(p.seq)
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name: name, Version: "1", Release: p.release, Arch: "noarch", Epoch: rpmpack.NoEpoch,
		Summary: "shop hotfix " + v, Description: "fix " + v, Licence: "Proprietary",
		Vendor: "Example Shop Inc.", URL: "https://shop.example/", Packager: "Shop Release <release@shop.example>",
		Group: "Applications/System", BuildHost: "build.shop.example", BuildTime: testEpoch, Compressor: "gzip",
	})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/var/opt/shop/Patches/shop-hotfix-" + v + "/version.txt", Body: []byte(v + "\n"),
		Mode: 0o644, Owner: "root", Group: "root", MTime: uint32(testEpoch.Unix())})
	if s != nil {
		r.SetPGPSigner(s.Sign)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+"-1-"+p.release+".noarch.rpm")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, testEpoch, testEpoch); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildRepoDir builds pkgs into a new directory named after a base version.
func buildRepoDir(t testing.TB, s *sign.Signer, pkgs ...testPkg) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "6.14.2")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		p.build(t, dir, s)
	}
	return dir
}

// unchanged fails the test if dir is not as before, a testutil.Snapshot of it.
func unchanged(t *testing.T, before map[string]testutil.TreeEntry, dir string) {
	t.Helper()
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, dir, true, ".")); d != "" {
		t.Errorf("%s changed: %s", dir, d)
	}
}

// TestMakeBundle: the bundle of 2..3 holds the newest release of each, metadata for just
// them signed by the repository key, the packages as they are in the repository, and a
// signature by the tarball key. An unsigned package, a gap and a
// package signed by another key are refused by name, with the repository unchanged and no
// bundle written.
func TestMakeBundle(t *testing.T) {
	vendor, other := testKeys(t)
	dir := buildRepoDir(t, vendor, hotfixPkg(1, "0"), hotfixPkg(2, "0"), hotfixPkg(2, "1"), hotfixPkg(3, "0"))
	tk, err := sign.TarballKeyFromSigner(vendor)
	if err != nil {
		t.Fatal(err)
	}
	v := func(s string) hotfix.Version { x, _ := hotfix.ParseVersion(s); return x }
	out := filepath.Join(t.TempDir(), "b.tar")
	before := testutil.Snapshot(t, dir, true, ".")
	res, err := Make(context.Background(), Options{Dir: dir, Product: "shop", From: v("6.14.2.2"), To: v("6.14.2.3"),
		Signer: vendor, TarballKey: tk, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	unchanged(t, before, dir)
	m := res.Manifest
	if len(m.Packages) != 2 || m.Packages[0].File != "shop-hotfix-6_14_2_2-1-1.noarch.rpm" || m.Packages[1].EVR != "1-0" {
		t.Errorf("packages %+v, want 6.14.2.2 release 1 and 6.14.2.3", m.Packages)
	}
	pubPEM, _ := tk.PublicPEM()
	pub, err := sign.ParseTarballPublicKey(pubPEM, "pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	b, err := unpack.VerifiedBundle(out, res.Signature, pub, "pub.pem", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	primary, _ := filepath.Glob(filepath.Join(b.Dir, "repodata", "*-primary.xml.gz"))
	if len(primary) != 1 {
		t.Fatalf("repodata: %v", primary)
	}
	for _, p := range m.Packages {
		got, _ := os.ReadFile(filepath.Join(b.Dir, p.File))
		want, _ := os.ReadFile(filepath.Join(dir, p.File))
		if len(got) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%s in the bundle is not the repository's", p.File)
		}
	}

	unsigned := hotfixPkg(4, "0").build(t, dir, nil)
	otherSigned := hotfixPkg(5, "0").build(t, dir, other)
	for _, tc := range []struct {
		name     string
		from, to string
		want     string
	}{
		{"unsigned", "6.14.2.3", "6.14.2.4", unsigned + ": not signed"},
		{"another key", "6.14.2.5", "6.14.2.5", otherSigned + ": signed with key"},
		{"gap", "6.14.2.5", "6.14.2.6", "has no package of hotfix 6.14.2.6 (shop-hotfix-6_14_2_6)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.Snapshot(t, dir, true, ".")
			out := filepath.Join(t.TempDir(), "b.tar")
			_, err := Make(context.Background(), Options{Dir: dir, Product: "shop", From: v(tc.from), To: v(tc.to),
				Signer: vendor, TarballKey: tk, Out: out})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			unchanged(t, before, dir)
			if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
				t.Errorf("left %d files beside the bundle", len(left))
			}
		})
	}
}

// TestBundleThroughRelativeSymlink: a package that the repository reaches through a
// relative symlink (links/x.rpm -> ../pool/x.rpm, which the repository walker follows) is
// packed with its content, not as a symlink that dangles in the staging directory.
func TestBundleThroughRelativeSymlink(t *testing.T) {
	vendor, _ := testKeys(t)
	dir := buildRepoDir(t, vendor, hotfixPkg(1, "0"), hotfixPkg(2, "0"))
	for _, sub := range []string{"links", "pool"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	name := "shop-hotfix-6_14_2_2-1-0.noarch.rpm"
	if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, "pool", name)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../pool/"+name, filepath.Join(dir, "links", name)); err != nil {
		t.Fatal(err)
	}
	tk, err := sign.TarballKeyFromSigner(vendor)
	if err != nil {
		t.Fatal(err)
	}
	v := func(s string) hotfix.Version { x, _ := hotfix.ParseVersion(s); return x }
	res, err := Make(context.Background(), Options{Dir: dir, Product: "shop", From: v("6.14.2.1"), To: v("6.14.2.2"),
		Signer: vendor, TarballKey: tk, Out: filepath.Join(t.TempDir(), "b.tar")})
	if err != nil {
		t.Fatalf("bundle of a package behind a relative symlink: %v", err)
	}
	if len(res.Manifest.Packages) != 2 || res.Manifest.Packages[1].File != name {
		t.Errorf("packages %+v, want 6.14.2.1 and %s", res.Manifest.Packages, name)
	}
}
