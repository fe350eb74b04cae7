package repo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/rpmpack"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// hotfixPkg is a small hotfix package of the 6.14.2 chain.
func hotfixPkg(seq int, release string) testPkg {
	v := "6.14.2." + string(rune('0'+seq))
	return testPkg{name: "shop-hotfix-6_14_2_" + string(rune('0'+seq)), version: "1", release: release, arch: "noarch", epoch: rpmpack.NoEpoch,
		summary: "shop hotfix " + v, description: "fix " + v,
		files: []testFile{{name: "/var/opt/shop/Patches/shop-hotfix-" + v + "/version.txt", body: v + "\n", mode: 0o644}}}
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
	before := snapshot(t, dir)
	res, err := MakeBundle(context.Background(), BundleOptions{Dir: dir, Product: "shop", From: v("6.14.2.2"), To: v("6.14.2.3"),
		Signer: vendor, TarballKey: tk, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, before, snapshot(t, dir))
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
			before := snapshot(t, dir)
			out := filepath.Join(t.TempDir(), "b.tar")
			_, err := MakeBundle(context.Background(), BundleOptions{Dir: dir, Product: "shop", From: v(tc.from), To: v(tc.to),
				Signer: vendor, TarballKey: tk, Out: out})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			sameSnapshot(t, before, snapshot(t, dir))
			if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
				t.Errorf("left %d files beside the bundle", len(left))
			}
		})
	}
}
