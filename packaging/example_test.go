package packaging

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestExampleHotfix builds the example hotfix directory under the top-level testdata/, so
// that the documented example stays a valid hotfix.
func TestExampleHotfix(t *testing.T) {
	out := t.TempDir()
	res, err := Build("../testdata/shop-hotfix-6.14.2.1", BuildOptions{Product: "shop", OutDir: out, Time: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version.String() != "6.14.2.1" || !res.FilelistWritten {
		t.Errorf("version %s, filelist written %v", res.Version, res.FilelistWritten)
	}
	for _, name := range []string{"shop-hotfix-6_14_2_1-1-0.noarch.rpm", "shop-hotfix-6.14.2.1.tar.gz"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("build wrote no %s: %v", name, err)
		}
	}
	if _, err := os.Stat("../testdata/shop-hotfix-6.14.2.1/filelist.txt"); !os.IsNotExist(err) {
		t.Errorf("build wrote into the source directory: %v", err)
	}
}
