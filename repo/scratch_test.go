package repo

import (
	"os"
	"os/exec"
	"testing"
)

func TestScratch(t *testing.T) {
	v, _ := testKeys(t)
	dir := buildRepoDir(t, v, testPkgs...)
	out, err := exec.Command("createrepo_c", "--no-database", "--simple-md-filenames", dir).CombinedOutput()
	t.Logf("%s %v", out, err)
	exec.Command("rm", "-rf", "/tmp/scratch").Run()
	exec.Command("cp", "-a", dir, "/tmp/scratch").Run()
	os.WriteFile("/tmp/scratch/key.asc", func() []byte { k, _ := v.PublicKeyArmored(); return k }(), 0o644)
}
