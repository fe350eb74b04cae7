package repo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/rpmpack"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging"
)

// hotfixPkg is a small hotfix package of the 6.14.2 chain.
func hotfixPkg(seq int, release string) testPkg {
	v := "6.14.2." + string(rune('0'+seq))
	return testPkg{name: "shop-hotfix-6_14_2_" + string(rune('0'+seq)), version: "1", release: release, arch: "noarch", epoch: rpmpack.NoEpoch,
		summary: "shop hotfix " + v, description: "fix " + v,
		files: []testFile{{name: "/var/opt/shop/Patches/shop-hotfix-" + v + "/version.txt", body: v + "\n", mode: 0o644}}}
}

// TestMakeBundle: the bundle of 2..3 holds the newest release of each, metadata for just
// them signed by the repository key, and a signature by the tarball key; the packages'
// signatures check with the host side's CheckPackage. An unsigned package, a gap and a
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
	b, err := packaging.ReadVerifiedBundle(out, res.Signature, pub, "pub.pem", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	primary, _ := filepath.Glob(filepath.Join(b.Dir, "repodata", "*-primary.xml.gz"))
	if len(primary) != 1 {
		t.Fatalf("repodata: %v", primary)
	}
	keys, _ := vendor.PublicKeyArmored()
	var ring sign.Keyring
	if err := ring.Add(keys, "vendor.pub.asc"); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Packages {
		if err := CheckPackage(filepath.Join(b.Dir, p.File), &ring, testEpoch); err != nil {
			t.Errorf("CheckPackage: %v", err)
		}
	}
	otherKeys, _ := other.PublicKeyArmored()
	var otherRing sign.Keyring
	otherRing.Add(otherKeys, "other.pub.asc")
	if err := CheckPackage(filepath.Join(b.Dir, m.Packages[0].File), &otherRing, testEpoch); err == nil || !strings.Contains(err.Error(), "which this host does not trust") {
		t.Errorf("CheckPackage with another key: %v", err)
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
