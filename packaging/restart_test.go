package packaging

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
)

// restart.txt travels in the RPM and the tarball like every hotfix file, covered by
// filelist.txt, and reads back as it was written.
func TestRestartFileCarried(t *testing.T) {
	dir := buildCarrying(t, "restart.txt", "services shop-web shop-worker\n")
	r, err := hotfix.ReadRestart(filepath.Join(dir, hotfix.RestartFile))
	if err != nil || r.Kind != hotfix.RestartServices || strings.Join(r.Services, " ") != "shop-web shop-worker" {
		t.Errorf("restart.txt from the tarball: %+v, %v", r, err)
	}
}
