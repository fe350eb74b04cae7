package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
)

// TestSmoke runs every benchmark on tiny inputs, once: the harness, the peers' command
// lines and the checks it makes must keep working as hotchain changes. The figures mean
// nothing at this size; each row must have one.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs createrepo_c, rpmbuild, dnf and the hotchain binary")
	}
	for _, tool := range []string{"createrepo_c", "rpmbuild", "rpm", "rpm2cpio", "cpio", "dnf"} {
		testutil.RequireTool(t, tool)
	}
	src, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{reps: 1, slowReps: 1, sc: smokeScale}
	rows, err := b.main(src, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 {
		t.Fatalf("%d rows, want 9:\n%s", len(rows), renderTable(rows))
	}
	works := map[string]bool{}
	for _, r := range rows {
		works[r.work] = true
		if r.notRun != "" || math.IsNaN(r.ratio) || r.ratio <= 0 {
			t.Errorf("%s: %s", r.work, r.status())
		}
		// The repo row compares hotchain's XML with what createrepo_c wrote in the same run.
		if strings.HasPrefix(r.work, "repo metadata") && !strings.Contains(r.detail, "byte for byte the same as createrepo_c's") {
			t.Errorf("%s: %s", r.work, r.detail)
		}
		// The diff row checks the hotfix it made against the changes it generated.
		if strings.HasPrefix(r.work, "diff:") && !strings.Contains(r.detail, ", as made") {
			t.Errorf("%s: %s", r.work, r.detail)
		}
		// The closed time comes from the hooks; the agent's report must say it too.
		if strings.HasPrefix(r.work, "closed time") && !strings.Contains(r.detail, "(the agent's reports: closed for ") {
			t.Errorf("%s: %s", r.work, r.detail)
		}
	}
	for _, w := range []string{"install a chain of 2 hotfixes through the agent", "closed time, 2 hotfixes of 8 files", "diff: 2,000 files, 100 differ"} {
		if !works[w] {
			t.Errorf("no row %q:\n%s", w, renderTable(rows))
		}
	}
}
