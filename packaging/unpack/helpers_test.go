package unpack

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging"
)

// The tarballs of these tests are made by package packaging, as `hotchain build` makes them.

// sde is the SOURCE_DATE_EPOCH of the tests: 2026-01-02 03:04:05 UTC.
var sde = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// tarballKey is an Ed25519 tarball signing key.
func tarballKey(t *testing.T) *sign.TarballKey {
	t.Helper()
	s, err := sign.GenerateKey("Shop Hotfixes", "hotfixes@example.com", sign.Ed25519, sde.AddDate(0, -6, 0))
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.TarballKeyFromSigner(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePub writes k's public key as TARBALL_KEY holds it and returns its path.
func writePub(t *testing.T, k *sign.TarballKey) string {
	t.Helper()
	pem, err := k.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(p, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleDir writes a small hotfix 6.14.2.3 with every kind of entry and returns it.
func sampleDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	testutil.WriteTree(t, dir, map[string]string{
		"version.txt":                            "6.14.2.3\n",
		"fixed-bugs.txt":                         "SHOP-101 cart total rounds wrong\n\nSHOP-101: the cart total rounded half-down.\nSHOP-107: login page typo.\n",
		"install.txt":                            "Installed by hotchain apply.\n",
		"FileChanges/lib/Shop/Cart.pm":           "package Shop::Cart; # fixed\n1;\n",
		"FileChanges/bin/shopctl#0755":           "#!/bin/sh\necho fixed\n",
		"FileChanges/lib/Shop/Default.pm":        "-> Cart.pm",
		"FileChanges/empty/":                     "",
		"Install/01-migrate-shared.sh#0755":      "#!/bin/sh\necho migrate\n",
		"StoreTypeChanges/Store/layout.xml#0640": "<layout fixed=\"1\"/>\n",
	})
	return dir
}

// buildSample builds src for product shop at the test time into a new output directory;
// key, if not nil, signs the tarball.
func buildSample(t *testing.T, src string, key *sign.TarballKey) *packaging.BuildResult {
	t.Helper()
	res, err := packaging.Build(src, packaging.BuildOptions{Product: "shop", Time: sde, OutDir: t.TempDir(), TarballKey: key})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return res
}
