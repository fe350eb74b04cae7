package packaging_test

import (
	"slices"
	"testing"

	"github.com/cavaliergopher/rpm"
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/repo"
	"github.com/hotchain/hotchain/sysconfig"

	"github.com/hotchain/hotchain/internal/sign"
)

// TestNamesAgreeWithHostSide: the base RPM installs its files where packages repo and
// sysconfig expect them, and hotfix RPMs unpack where PATCHES_DIR points by default.
func TestNamesAgreeWithHostSide(t *testing.T) {
	def := sysconfig.Defaults("shop")
	if got := packaging.DefaultPatchesDir("shop"); got != def.PatchesDir {
		t.Errorf("DefaultPatchesDir %s, PATCHES_DIR default %s", got, def.PatchesDir)
	}
	if got := packaging.ConfigPath("shop"); got != def.File {
		t.Errorf("ConfigPath %s, sysconfig file %s", got, def.File)
	}
	if got := packaging.KeyPath("shop"); got != repo.KeyPath("shop") {
		t.Errorf("KeyPath %s, repo.KeyPath %s", got, repo.KeyPath("shop"))
	}
	signer := packaging.TestSigner(t, sign.Ed25519)
	tk, err := sign.TarballKeyFromSigner(signer)
	if err != nil {
		t.Fatal(err)
	}
	res, err := packaging.BuildBase(packaging.BaseOptions{
		Product: "shop", BaseVersion: "6.14.2", Binary: packaging.FakeELF(t, 62, false),
		RepoFile: repo.RepoFile("shop", "6.14.2", []string{"https://updates.example.com/shop"}, true),
		Signer:   signer, TarballKey: tk, Time: packaging.SDE, OutDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := rpm.Open(res.RPM)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range p.Files() {
		names = append(names, f.Name())
	}
	for _, want := range []string{"/etc/yum.repos.d/" + repo.RepoFileName("shop"), repo.KeyPath("shop"), def.TarballKey, def.File} {
		if !slices.Contains(names, want) {
			t.Errorf("the base RPM lacks %s: %v", want, names)
		}
	}
}
