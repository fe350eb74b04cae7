package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// restart.txt travels in the RPM and the tarball like every hotfix file, covered by
// filelist.txt, and reads back as it was written.
func TestRestartFileCarried(t *testing.T) {
	src := sampleDir(t, map[string]string{"restart.txt": "services shop-web shop-worker\n"})
	res := buildSample(t, src, BuildOptions{})
	inRPM := false
	for _, f := range openRPM(t, res.RPM).Files() {
		inRPM = inRPM || strings.HasSuffix(f.Name(), "/shop-hotfix-6.14.2.3/restart.txt")
	}
	if !inRPM {
		t.Error("the RPM does not hold restart.txt")
	}
	dir, err := unpack.Tarball(res.Tarball, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	list, _ := os.ReadFile(filepath.Join(dir, hotfix.FilelistFile))
	if !strings.Contains(string(list), "  restart.txt\n") {
		t.Errorf("filelist.txt does not cover restart.txt:\n%s", list)
	}
	r, err := hotfix.ReadRestart(filepath.Join(dir, hotfix.RestartFile))
	if err != nil || r.Kind != hotfix.RestartServices || strings.Join(r.Services, " ") != "shop-web shop-worker" {
		t.Errorf("restart.txt from the tarball: %+v, %v", r, err)
	}
}
