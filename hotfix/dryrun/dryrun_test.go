package dryrun

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/applier/appliertest"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// sandbox is appliertest's sandbox host with its Host.
type sandbox struct {
	*appliertest.Sandbox
	host *applier.Host
}

func newSandbox(t *testing.T, role sysconfig.Role) *sandbox {
	t.Helper()
	box := appliertest.New(t, role)
	return &sandbox{box, &applier.Host{Cfg: box.Cfg, Out: box.Out, Environ: box.Environ}}
}

// interruptedAt makes the hotfix spec and applies it until the apply dies at step, as a
// killed apply does: its journal is left. It returns the hotfix's directory.
func (sb *sandbox) interruptedAt(spec appliertest.Hotfix, step string) string {
	dir := sb.MakeHotfix(spec)
	sb.host.StepHook = func(s string) {
		if s == step {
			panic("killed")
		}
	}
	func() {
		defer func() { recover() }()
		sb.host.Apply(context.Background(), dir, applier.ApplyOptions{})
	}()
	sb.host.StepHook = nil
	return dir
}

// dryRunSpec is a hotfix that replaces, adds, makes a directory and a symlink, and has
// scripts and checks of every class.
func dryRunSpec(version string) appliertest.Hotfix {
	return appliertest.Hotfix{
		Version: version,
		Files: map[string]string{
			"FileChanges/lib/Shop/Core.pm":      "core 2, a longer file than before\n",
			"FileChanges/lib/Shop/New.pm":       "new\n",
			"FileChanges/lib/Shop/Pay/Card.pm":  "card\n",
			"StoreTypeChanges/Store/layout.xml": "<layout v='2'/>\n",
			"Check/10-up.sh":                    "exit 0\n",
			"Check/20-db-shared.sh":             "exit 0\n",
			"Check/30-cache-local.sh":           "exit 0\n",
		},
		Links: map[string]string{"FileChanges/lib/Shop/Default.pm": "New.pm"},
		Scripts: map[string]string{
			"10-schema-shared.sh": "exit 0\n",
			"20-cache-local.sh":   "exit 0\n",
			"90-index-final.sh":   "exit 0\n",
		},
	}
}

// showPlan is the plan's text with the test's root and what the machine decides (the free
// space, the block size in the need) replaced by fixed values; TestDryRunSpace checks those.
func showPlan(t *testing.T, sb *sandbox, p *Plan) []byte {
	t.Helper()
	for i := range p.Space.FileSystems {
		f := &p.Space.FileSystems[i]
		f.Free, f.Need = 1<<40, f.Bytes+f.Entries*4096
	}
	var b bytes.Buffer
	p.WriteText(&b)
	return bytes.ReplaceAll(b.Bytes(), []byte(sb.Root), []byte("ROOT"))
}

// TestDryRunText pins the listing for each role, for drift, for refusals and for a resumed
// apply.
func TestDryRunText(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		role   sysconfig.Role
		health string
		setup  func(sb *sandbox) string // returns the hotfix directory to dry-run
	}{
		{"single", sysconfig.RoleSingle, "curl -fsS http://localhost/health", func(sb *sandbox) string {
			spec := dryRunSpec("6.14.2.1")
			spec.Files["restart.txt"] = "services shop-web shop-worker\n"
			return sb.MakeHotfix(spec)
		}},
		{"alpha", sysconfig.RoleAlpha, "", func(sb *sandbox) string {
			return sb.MakeHotfix(dryRunSpec("6.14.2.1"))
		}},
		{"secondary", sysconfig.RoleSecondary, "", func(sb *sandbox) string {
			sb.Write("etc/opt/shop/hotfix/version.txt", "6.14.2.1\n", 0o644)
			return sb.MakeHotfix(dryRunSpec("6.14.2.1"))
		}},
		{"drift", sysconfig.RoleSingle, "", func(sb *sandbox) string {
			first := sb.MakeHotfix(appliertest.Hotfix{Version: "6.14.2.1", Files: map[string]string{
				"FileChanges/lib/Shop/Core.pm": "core 1.5\n", "FileChanges/lib/Shop/Old.pm": "old\n", "FileChanges/bin/shopctl": "#!/bin/sh\necho 2\n"}})
			if err := sb.host.Apply(ctx, first, applier.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			sb.Write("opt/shop/lib/Shop/Core.pm", "patched by hand\n", 0o644)
			sb.Write("opt/shop/lib/Shop/Old.pm", "patched by hand too\n", 0o644)
			if err := os.Remove(filepath.Join(sb.Root, "opt/shop/bin/shopctl")); err != nil {
				t.Fatal(err)
			}
			return sb.MakeHotfix(dryRunSpec("6.14.2.2"))
		}},
		{"refused", sysconfig.RoleSingle, "", func(sb *sandbox) string {
			// 6.14.2.1 is not applied, and a product file has the name of a temporary.
			// And its restart.txt is not one of the forms.
			sb.Write("opt/shop/lib/Shop/"+filepath.Base(fileops.NewTemp("/opt/shop/lib/Shop/New.pm")), "x", 0o644)
			spec := dryRunSpec("6.14.2.2")
			spec.Files["restart.txt"] = "reboot later\n"
			return sb.MakeHotfix(spec)
		}},
		{"secondary before the alpha", sysconfig.RoleSecondary, "", func(sb *sandbox) string {
			return sb.MakeHotfix(dryRunSpec("6.14.2.1"))
		}},
		{"interrupted", sysconfig.RoleSingle, "", func(sb *sandbox) string {
			return sb.interruptedAt(dryRunSpec("6.14.2.1"), "state apply")
		}},
		{"interrupted in its scripts", sysconfig.RoleSingle, "", func(sb *sandbox) string {
			return sb.interruptedAt(dryRunSpec("6.14.2.1"), "script 10-schema-shared.sh")
		}},
		{"removals", sysconfig.RoleSingle, "", func(sb *sandbox) string {
			sb.RemovalProduct()
			rs := append(appliertest.Removals(), hotfix.Removal{Path: "ReportChanges/old.rpt", Kind: hotfix.RemoveFile, SHA256: appliertest.SHA256("r\n")})
			return sb.MakeHotfix(appliertest.RemovalHotfix("6.14.2.1", rs))
		}},
		{"removals refused", sysconfig.RoleSingle, "", func(sb *sandbox) string {
			sb.RemovalProduct()
			sb.Write("opt/shop/lib/old.jar", "patched by hand\n", 0o640)
			sb.Write("opt/shop/lib/obsolete/sub/empty/keep.me", "x", 0o644)
			return sb.MakeHotfix(appliertest.RemovalHotfix("6.14.2.1", appliertest.Removals()))
		}},
		{"earlier hotfix without its record", sysconfig.RoleSingle, "", func(sb *sandbox) string {
			first := sb.MakeHotfix(appliertest.Hotfix{Version: "6.14.2.1", Files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 1.5\n"}})
			if err := sb.host.Apply(ctx, first, applier.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(journal.Path(first, "host1")); err != nil {
				t.Fatal(err)
			}
			return sb.MakeHotfix(dryRunSpec("6.14.2.2"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, tc.role)
			sb.host.Cfg.HealthCmd = tc.health
			dir := tc.setup(sb)
			p, err := Run(ctx, sb.host, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", strings.ReplaceAll(tc.name, " ", "-")+".txt"), showPlan(t, sb, p))
		})
	}
}

// TestDryRunWritesNothing: a dry run leaves the whole root as it was, mtimes of
// directories included: the product, PATCHES_DIR, LEDGER_DIR and the lock directory, for
// an apply that would go ahead, one that would be refused and one that would resume.
func TestDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	first := sb.MakeHotfix(appliertest.Hotfix{Version: "6.14.2.1", Files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 1.5\n"}})
	if err := sb.host.Apply(ctx, first, applier.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	sb.Write("opt/shop/lib/Shop/Core.pm", "patched by hand\n", 0o644) // drift to find
	second := sb.MakeHotfix(dryRunSpec("6.14.2.2"))
	third := sb.MakeHotfix(dryRunSpec("6.14.2.3"))
	for _, p := range []string{"var/lock/shop-hotfix.lock", "etc/opt/shop/hotfix", "var/opt/shop/Patches"} {
		if _, err := os.Stat(filepath.Join(sb.Root, p)); err != nil {
			t.Fatalf("the test wants %s to exist: %v", p, err)
		}
	}
	before := testutil.Snapshot(t, sb.Root, true, ".")
	for _, dir := range []string{first, second, third} {
		p, err := Run(ctx, sb.host, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if dir == second && (len(p.Refusals) != 0 || len(p.Replace) == 0 || len(p.Drift) != 1) {
			t.Fatalf("dry run of %s: %+v", dir, p)
		}
		if _, err := Chain(ctx, sb.host, []string{second, third}); err != nil {
			t.Fatal(err)
		}
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.Root, true, ".")); d != "" {
		t.Errorf("the dry run changed the root:\n%s", d)
	}
}

// TestDryRunAgreesWithApply: what the dry run lists is what the apply then does.
func TestDryRunAgreesWithApply(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	dir := sb.MakeHotfix(dryRunSpec("6.14.2.1"))
	p, err := Run(ctx, sb.host, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.host.Apply(ctx, dir, applier.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range p.Replace {
		want = append(want, "replace "+f.Path)
	}
	for _, f := range p.Add {
		want = append(want, "add     "+f.Path)
	}
	for _, m := range p.Mkdir {
		want = append(want, "mkdir   "+m)
	}
	for _, w := range want {
		if !strings.Contains(sb.Out.String(), "    "+w+"\n") {
			t.Errorf("the apply did not %s:\n%s", w, sb.Out)
		}
	}
	if got := strings.Count("\n"+sb.Out.String(), "\n    "); got != len(want) {
		t.Errorf("the apply did %d things, the dry run listed %d:\n%s", got, len(want), sb.Out)
	}
	for _, s := range p.Install {
		if !strings.Contains(sb.Out.String(), "running "+s+"\n") {
			t.Errorf("the apply did not run %s:\n%s", s, sb.Out)
		}
	}
}

// TestDryRunSpace: backups on the hotfix directory's file system are hard links and need
// nothing; on another file system (a tmpfs mounted on PATCHES_DIR) every replaced entry is
// copied and counted with its size there; the need is the bytes plus a block per entry,
// the free space statfs's f_bavail; a need larger than what is free is a refusal, as the
// apply's own check makes it.
func TestDryRunSpace(t *testing.T) {
	ctx := context.Background()
	newFiles := int64(len("core 2, a longer file than before\n") + len("new\n") + len("card\n") + len("<layout v='2'/>\n"))
	for _, tc := range []struct {
		name  string
		mount bool // a tmpfs of 8 MiB on PATCHES_DIR
		big   bool // Core.pm is 9 MiB before the hotfix
	}{{"one file system", false, false}, {"backups on another", true, false}, {"no room for the copies", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			patches := filepath.Join(sb.Root, "var/opt/shop/Patches")
			if tc.mount {
				os.MkdirAll(patches, 0o755)
				if err := unix.Mount("tmpfs", patches, "tmpfs", 0, "size=8m"); err != nil {
					t.Skipf("mount a tmpfs: %v (needs root)", err)
				}
				t.Cleanup(func() { unix.Unmount(patches, unix.MNT_DETACH) })
			}
			if tc.big {
				sb.Write("opt/shop/lib/Shop/Core.pm", strings.Repeat("x", 9<<20), 0o644)
			}
			dir := sb.MakeHotfix(dryRunSpec("6.14.2.1"))
			p, err := Run(ctx, sb.host, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := p.Space
			var replacedBytes int64 // Core.pm, Default.pm (a symlink), layout.xml
			for _, rel := range []string{"opt/shop/lib/Shop/Core.pm", "opt/shop/lib/Shop/Default.pm", "var/opt/shop/StoreTypes/Store/layout.xml"} {
				fi, err := os.Lstat(filepath.Join(sb.Root, rel))
				if err != nil {
					t.Fatal(err)
				}
				replacedBytes += fi.Size()
			}
			if tc.mount {
				if s.Linked != 0 || s.Copied != 3 || s.CopyBytes != replacedBytes || len(s.FileSystems) != 2 {
					t.Errorf("backups to another file system: %+v, want 3 copies of %d bytes on 2 file systems", s, replacedBytes)
				}
			} else if s.Linked != 3 || s.Copied != 0 || s.CopyBytes != 0 || len(s.FileSystems) != 1 {
				t.Errorf("backups on the same file system: %+v, want 3 links on 1 file system", s)
			}
			var total int64
			for _, f := range s.FileSystems {
				var st unix.Statfs_t
				if err := unix.Statfs(filepath.Join(sb.Root, f.Path), &st); err != nil {
					t.Fatal(err)
				}
				if f.Need != f.Bytes+f.Entries*st.Bsize {
					t.Errorf("%s: need %d, want %d bytes + %d entries of a %d-byte block", f.Path, f.Need, f.Bytes, f.Entries, st.Bsize)
				}
				// Others share the machine's disk: its free space moves a little meanwhile.
				if free := int64(st.Bavail) * st.Bsize; f.Free <= 0 || f.Free > free+64<<20 || f.Free < free-64<<20 {
					t.Errorf("%s: %d bytes free, statfs says %d", f.Path, f.Free, free)
				}
				total += f.Bytes
			}
			// The new files, the copies and the journal's estimate (1 KiB per entry of the plan).
			journal := total - newFiles - s.CopyBytes
			if journal <= 0 || journal%1024 != 0 {
				t.Errorf("file systems hold %d bytes: %d new, %d copied, and %d for the journal?", total, newFiles, s.CopyBytes, journal)
			}
			refused := slices.ContainsFunc(p.Refusals, func(r Refusal) bool { return strings.Contains(r.Reason, "not enough space on the file system of") })
			if refused != tc.big || s.Enough() == tc.big {
				t.Errorf("refused %v, enough %v, want refused %v: %+v", refused, s.Enough(), tc.big, p.Refusals)
			}
		})
	}
}

// TestDryRunChain: the second hotfix of a run is planned on the files the first places,
// and its prerequisite is the first unpacked, not applied.
func TestDryRunChain(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, sysconfig.RoleSingle)
	first := sb.MakeHotfix(appliertest.Hotfix{Version: "6.14.2.1", Files: map[string]string{"FileChanges/lib/Shop/New.pm": "new 1\n", "FileChanges/lib/Shop/Pay/A.pm": "a\n"}})
	second := sb.MakeHotfix(appliertest.Hotfix{Version: "6.14.2.2", Files: map[string]string{"FileChanges/lib/Shop/New.pm": "new 2\n", "FileChanges/lib/Shop/Pay/B.pm": "b\n"}})
	plans, err := Chain(ctx, sb.host, []string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 || len(plans[0].Refusals)+len(plans[1].Refusals) != 0 {
		t.Fatalf("plans: %+v", plans)
	}
	p := plans[1]
	if len(p.Replace) != 1 || p.Replace[0].Path != "/opt/shop/lib/Shop/New.pm" || p.Replace[0].By != "6.14.2.1" ||
		len(p.Add) != 1 || p.Add[0].Path != "/opt/shop/lib/Shop/Pay/B.pm" || len(p.Mkdir) != 0 {
		t.Errorf("second plan: %+v", p)
	}
	// Alone, the second would be refused: the first is not applied.
	alone, err := Run(ctx, sb.host, second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(alone.Refusals) != 1 || !strings.Contains(alone.Refusals[0].Reason, "hotfix 6.14.2.1 is not applied yet") {
		t.Errorf("alone: %+v", alone.Refusals)
	}
}
