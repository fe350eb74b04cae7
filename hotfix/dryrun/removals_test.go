package dryrun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/applier/appliertest"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
	"golang.org/x/sys/unix"
)

// TestDryRunAgreesWithApplyRemovals: what the dry run lists to remove is what the apply
// removes, and the absent entries are the ones it says are absent.
func TestDryRunAgreesWithApplyRemovals(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	sb.RemovalProduct()
	dir := sb.MakeHotfix(appliertest.RemovalHotfix("6.14.2.1", appliertest.Removals()))
	p, err := Run(ctx, sb.host, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Refusals) > 0 {
		t.Fatalf("refusals: %v", p.Refusals)
	}
	if err := sb.host.Apply(ctx, dir, applier.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range p.Remove {
		if d, ok := strings.CutSuffix(r, "/"); ok {
			want = append(want, "rmdir   "+d)
		} else {
			want = append(want, "remove  "+r)
		}
	}
	for _, a := range p.AlreadyAbsent {
		want = append(want, "absent  "+a)
	}
	if len(want) != 9 {
		t.Errorf("dry run lists %d removals, want 9: %v", len(want), want)
	}
	for _, w := range want {
		if !strings.Contains(sb.Out.String(), "    "+w) {
			t.Errorf("the apply did not %s:\n%s", w, sb.Out)
		}
	}
	if got := strings.Count(sb.Out.String(), "    remove  ") + strings.Count(sb.Out.String(), "    rmdir   ") + strings.Count(sb.Out.String(), "    absent  "); got != len(want) {
		t.Errorf("the apply did %d removals, the dry run listed %d", got, len(want))
	}
}

// TestRemovalsNeedBackupSpace: a removed entry is kept in the backups, so when PATCHES_DIR is
// on another file system (a tmpfs of 8 MiB here) it is copied there, and counted: a removal
// of a 9 MiB file does not fit, and the apply refuses before its first write.
func TestRemovalsNeedBackupSpace(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	patches := filepath.Join(sb.Root, "var/opt/shop/Patches")
	os.MkdirAll(patches, 0o755)
	if err := unix.Mount("tmpfs", patches, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("mount a tmpfs: %v (needs root)", err)
	}
	t.Cleanup(func() { unix.Unmount(patches, unix.MNT_DETACH) })
	sb.RemovalProduct()
	big := strings.Repeat("x", 9<<20)
	sb.Write("opt/shop/lib/old.jar", big, 0o640)
	sb.TouchAll()
	rs := appliertest.Removals()
	rs[0].SHA256 = appliertest.SHA256(big)
	dir := sb.MakeHotfix(appliertest.RemovalHotfix("6.14.2.1", rs))
	p, err := Run(ctx, sb.host, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// old.jar, old-tool, a.pm, b.pm, old.xml, and Core.pm, which the hotfix replaces.
	wantBytes := int64(len(big) + len("../lib/old.jar") + len("a\n") + len("b\n") + len("<old/>\n") + len("core 1\n"))
	if s := p.Space; s.Copied != 6 || s.Linked != 0 || s.CopyBytes != wantBytes || s.Enough() {
		t.Errorf("space: %+v; want 6 copies of %d bytes, not enough room", s, wantBytes)
	}
	before := testutil.Snapshot(t, sb.Root, true, appliertest.ProductTrees...)
	err = sb.host.Apply(ctx, dir, applier.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "not enough space on the file system of") {
		t.Fatalf("apply: %v, want it refused for space", err)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.Root, true, appliertest.ProductTrees...)); d != "" {
		t.Errorf("the refused apply changed the product:\n%s", d)
	}
}

// TestDryRunChainRemovals: in a run's dry run, a hotfix's removals are checked against what
// the hotfixes before it in the run leave (what they place, what they remove), and what an
// earlier one removes and a later one places is added; applied in order, the hotfixes do
// what the dry run said.
func TestDryRunChainRemovals(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	sb.RemovalProduct()
	first := sb.MakeHotfix(appliertest.Hotfix{Version: "6.14.2.1", Files: map[string]string{
		"FileChanges/lib/Shop/Core.pm":      "core 2\n",
		"FileChanges/lib/Shop/Tmp.pm":       "tmp\n",
		"FileChanges/lib/Shop/Scratch/x.pm": "x\n",
		hotfix.RemovalsFile:                 string(hotfix.FormatRemovals([]hotfix.Removal{{Path: "FileChanges/lib/old.jar", Kind: hotfix.RemoveFile, SHA256: appliertest.SHA256("old jar\n")}})),
	}})
	second := sb.MakeHotfix(appliertest.Hotfix{Version: "6.14.2.2", Files: map[string]string{
		"FileChanges/lib/old.jar": "new jar\n",
		hotfix.RemovalsFile: string(hotfix.FormatRemovals([]hotfix.Removal{
			{Path: "FileChanges/lib/Shop/Core.pm", Kind: hotfix.RemoveFile, SHA256: appliertest.SHA256("core 2\n")},
			{Path: "FileChanges/lib/Shop/Tmp.pm", Kind: hotfix.RemoveFile, SHA256: appliertest.SHA256("tmp\n")},
			{Path: "FileChanges/lib/Shop/Scratch", Kind: hotfix.RemoveDir},
			{Path: "FileChanges/lib/Shop/Scratch/x.pm", Kind: hotfix.RemoveFile, SHA256: appliertest.SHA256("x\n")},
		})),
	}})
	plans, err := Chain(ctx, sb.host, []string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	p := plans[1]
	if len(p.Refusals) > 0 {
		t.Fatalf("the second hotfix would be refused: %v", p.Refusals)
	}
	want := "/opt/shop/lib/Shop/Core.pm /opt/shop/lib/Shop/Scratch/x.pm /opt/shop/lib/Shop/Tmp.pm /opt/shop/lib/Shop/Scratch/"
	if got := strings.Join(p.Remove, " "); got != want {
		t.Errorf("the second removes %q, want %q", got, want)
	}
	if len(p.Add) != 1 || p.Add[0].Path != "/opt/shop/lib/old.jar" || len(p.Replace) != 0 {
		t.Errorf("the second places old.jar, which the first removes: add %v, replace %v", p.Add, p.Replace)
	}
	for _, dir := range []string{first, second} {
		if err := sb.host.Apply(ctx, dir, applier.ApplyOptions{}); err != nil {
			t.Fatalf("apply %s: %v\n%s", dir, err, sb.Out)
		}
	}
	appliertest.AssertAbsent(t, sb.Root, "opt/shop/lib/Shop/Core.pm", "opt/shop/lib/Shop/Tmp.pm", "opt/shop/lib/Shop/Scratch")
	appliertest.AssertFile(t, filepath.Join(sb.Root, "opt/shop/lib/old.jar"), "new jar\n")
	if !strings.Contains(sb.Out.String(), "    add     /opt/shop/lib/old.jar\n") {
		t.Errorf("the second apply did not add old.jar:\n%s", sb.Out)
	}
}
