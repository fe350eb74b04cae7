package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/testutil"
)

// TestRepoChangelogLimit: -changelog-limit reaches the metadata with createrepo_c's
// meanings (default 10, 0 none, -1 all) and a limit below -1 is a usage error.
func TestRepoChangelogLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with rpmbuild")
	}
	testutil.RequireTool(t, "rpmbuild")
	top := t.TempDir()
	var spec strings.Builder
	spec.WriteString("Name: many-entries\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n%description\nd\n%files\n%changelog\n")
	for i := 12; i >= 1; i-- {
		spec.WriteString("* Mon Jan 01 2024 A <a@example.org> - 1-" + string(rune('a'+i)) + "\n- entry\n")
	}
	os.WriteFile(filepath.Join(top, "s.spec"), []byte(spec.String()), 0o644)
	if out, err := exec.Command("rpmbuild", "-bb", "--quiet", "--define", "_topdir "+top, filepath.Join(top, "s.spec")).CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "noarch", "*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("rpmbuild built %v", rpms)
	}
	dir := filepath.Join(t.TempDir(), "6.14.2")
	os.Mkdir(dir, 0o755)
	data, _ := os.ReadFile(rpms[0])
	os.WriteFile(filepath.Join(dir, "p.rpm"), data, 0o644)

	for _, tt := range []struct {
		args []string
		want int
	}{
		{nil, 10},
		{[]string{"-changelog-limit", "3"}, 3},
		{[]string{"-changelog-limit", "0"}, 0},
		{[]string{"-changelog-limit", "-1"}, 12},
	} {
		args := append([]string{"repo", "-no-update", "-product", "shop", "-base-url", "http://repo.example/"}, tt.args...)
		var stderr bytes.Buffer
		e := &cli.Env{Stdout: io.Discard, Stderr: &stderr, Environ: []string{"SOURCE_DATE_EPOCH=1704067200"}}
		if err := run(context.Background(), e, append(args, dir)); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, stderr.String())
		}
		other, _ := filepath.Glob(filepath.Join(dir, "repodata", "*-other.xml.gz"))
		if len(other) != 1 {
			t.Fatalf("other.xml.gz: %v", other)
		}
		f, _ := os.Open(other[0])
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		xml, _ := io.ReadAll(zr)
		f.Close()
		if got := bytes.Count(xml, []byte("<changelog ")); got != tt.want {
			t.Errorf("%v: %d changelog entries, want %d", tt.args, got, tt.want)
		}
	}
	e := &cli.Env{Stdout: io.Discard, Stderr: io.Discard}
	err := run(context.Background(), e, []string{"repo", "-product", "shop", "-base-url", "http://repo.example/", "-changelog-limit", "-5", dir})
	if code := report(io.Discard, err); code != 2 || !strings.Contains(err.Error(), "-changelog-limit -5") {
		t.Errorf("-changelog-limit -5: exit %d, %v; want a usage error", code, err)
	}
}
