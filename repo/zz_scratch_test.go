package repo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestZZScratch(t *testing.T) {
	vendor, other := testKeys(t)
	root := "/tmp/dnfx/root"
	os.RemoveAll("/tmp/dnfx")
	os.MkdirAll(filepath.Join(root, "6.14.2"), 0o755)
	dir := filepath.Join(root, "6.14.2")
	pkgBase.build(t, dir, vendor)
	pkgMeta.build(t, dir, vendor)
	pkgFix1.build(t, dir, vendor)
	o := testOptions(dir)
	o.Signer = vendor
	o.BaseURLs = []string{"file://" + root}
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	k, _ := vendor.PublicKeyArmored()
	os.WriteFile("/tmp/dnfx/pub.asc", k, 0o644)
	k, _ = other.PublicKeyArmored()
	os.WriteFile("/tmp/dnfx/other.asc", k, 0o644)
	exec.Command("true").Run()
}
