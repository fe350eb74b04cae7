package applier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix/applier/appliertest"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

func chain(sb *sandbox) []string {
	return []string{
		sb.makeHotfix(hotfixSpec{version: "6.14.2.1",
			files: map[string]string{
				"FileChanges/lib/Shop/Core.pm":               "core 2\n",
				"FileChanges/lib/Shop/Payment/PayPal.pm":     "paypal 1\n",
				"StoreTypeChanges/Store/layout.xml":          "<layout v='2'/>\n",
				"StoreTypeChanges/Store/Templates/cart.html": "<cart/>\n",
			},
			scripts: map[string]string{"10-db.sh": "echo db $HOTFIX_VERSION\n"},
		}),
		sb.makeHotfix(hotfixSpec{version: "6.14.2.2",
			files: map[string]string{
				"FileChanges/lib/Shop/Core.pm":           "core 3\n",
				"FileChanges/lib/Shop/Payment/PayPal.pm": "paypal 2\n",
				"FileChanges/bin/shopctl":                "#!/bin/sh\necho 2\n",
			},
			links: map[string]string{"FileChanges/lib/Shop/Default.pm": "Cart.pm"},
		}),
		sb.makeHotfix(hotfixSpec{version: "6.14.2.3",
			files: map[string]string{
				"FileChanges/lib/Shop/Cart.pm":        "cart 2\n",
				"FileChanges/share/new/deep/file.txt": "new\n",
			},
		}),
	}
}

func TestApplyRollbackRoundTrip(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	ctx := context.Background()
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	dirs := chain(sb)
	var states []map[string]testutil.TreeEntry
	for _, d := range dirs {
		states = append(states, testutil.Snapshot(t, sb.root, true, productTrees...))
		if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
			t.Fatalf("apply %s: %v\n%s", d, err, sb.out)
		}
	}
	if got := sb.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("host ledger = %q", got)
	}
	if got := sb.ledger("version.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("installation ledger = %q", got)
	}
	assertFile(t, filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm"), "core 3\n")
	assertFile(t, filepath.Join(sb.root, "opt/shop/share/new/deep/file.txt"), "new\n")
	if l, _ := os.Readlink(filepath.Join(sb.root, "opt/shop/lib/Shop/Default.pm")); l != "Cart.pm" {
		t.Errorf("Default.pm -> %q, want Cart.pm", l)
	}
	// The backup of hotfix 1 holds Core.pm as it was, with its mode and time.
	bak := filepath.Join(dirs[0], "Backup-host1", "FileChanges/lib/Shop/Core.pm")
	assertFile(t, bak, "core 1\n")
	if fi, err := os.Stat(bak); err != nil || !fi.ModTime().Equal(epoch) {
		t.Errorf("backup mtime = %v, %v; want %v", fi.ModTime(), err, epoch)
	}
	inex, _ := os.ReadFile(filepath.Join(dirs[0], "Backup-host1.inexistent"))
	if want := "/opt/shop/lib/Shop/Payment/\n/opt/shop/lib/Shop/Payment/PayPal.pm\n/var/opt/shop/StoreTypes/Store/Templates/\n/var/opt/shop/StoreTypes/Store/Templates/cart.html\n"; string(inex) != want {
		t.Errorf("inexistent =\n%s\nwant\n%s", inex, want)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := sb.host.Rollback(ctx, nil, nil); err != nil {
			t.Fatalf("rollback %d: %v\n%s", i+1, err, sb.out)
		}
		if d := testutil.DiffTrees(states[i], testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
			t.Fatalf("after rolling back hotfix %d the tree differs from before its apply:\n%s", i+1, d)
		}
		if _, err := os.Stat(filepath.Join(dirs[i], "Backup-host1")); !os.IsNotExist(err) {
			t.Errorf("backups of hotfix %d left behind: %v", i+1, err)
		}
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Fatalf("tree differs from the start:\n%s", d)
	}
	if got := sb.ledger("host1.txt") + sb.ledger("version.txt"); got != "" {
		t.Errorf("ledgers not empty: %q", got)
	}
}

func assertFile(t *testing.T, p, want string) {
	t.Helper()
	appliertest.AssertFile(t, p, want)
}

func TestApplyRefusals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(sb *sandbox) string // returns the hotfix dir to apply
		want  string
	}{
		{"wrong base version", func(sb *sandbox) string {
			return sb.makeHotfix(hotfixSpec{version: "6.15.0.1", files: map[string]string{"FileChanges/a": "a"}})
		}, "it is for shop 6.15.0, the installed version is 6.14.2"},
		{"previous missing", func(sb *sandbox) string {
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.2", files: map[string]string{"FileChanges/a": "a"}})
		}, "hotfix 6.14.2.1 is not applied yet"},
		{"applied already", func(sb *sandbox) string {
			d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/a": "a"}})
			if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
				sb.t.Fatal(err)
			}
			sb.touchAll()
			return d
		}, "it is applied already"},
		{"secondary before alpha", func(sb *sandbox) string {
			sb.host.Cfg.HostRole = sysconfig.RoleSecondary
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/a": "a"}})
		}, "the alpha host has not applied it yet"},
		{"symlink out of the root", func(sb *sandbox) string {
			outside := sb.t.TempDir()
			os.Symlink(outside, filepath.Join(sb.root, "opt/shop/plugins"))
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/plugins/evil.pm": "x"}})
		}, "leaves its target root"},
		{"file over a directory", func(sb *sandbox) string {
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop": "x"}})
		}, "the hotfix has a file where"},
		{"filelist mismatch", func(sb *sandbox) string {
			d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/a": "a"}})
			os.WriteFile(filepath.Join(d, "filelist.txt"), []byte(strings.Repeat("0", 64)+"  FileChanges/a\n"), 0o644)
			return d
		}, "content differs: FileChanges/a"},
		{"bad restart.txt", func(sb *sandbox) string {
			return sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/a": "a", "restart.txt": "services shop-web\nreboot\n"}})
		}, `restart.txt:2: a second requirement "reboot"`},
		{"no version.txt", func(sb *sandbox) string {
			d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1"})
			os.Remove(filepath.Join(d, "version.txt"))
			return d
		}, "has no version.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			dir := tc.setup(sb)
			before := testutil.Snapshot(t, sb.root, true, "opt", "var", "etc")
			err := sb.host.Apply(ctx, dir, ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			var h interface{ Hint() string }
			if errors.As(err, &h) && h.Hint() == "" {
				t.Errorf("empty hint")
			}
			after := testutil.Snapshot(t, sb.root, true, "opt", "var", "etc")
			if d := testutil.DiffTrees(before, after); d != "" {
				t.Fatalf("refused apply changed the tree:\n%s", d)
			}
		})
	}
}

func TestScriptEnvironmentAndFailure(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	ctx := context.Background()
	sb.write("etc/default/shop", "export SHOP_DB='shop db'\n", 0o644)
	trace := filepath.Join(sb.root, "trace")
	d := sb.makeHotfix(hotfixSpec{version: "6.14.2.1",
		files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"},
		scripts: map[string]string{
			"10-env.sh":  `echo "$HOTFIX_VERSION|$HOST_ROLE|$PRODUCT_ROOT|$SHOP_DB|$(pwd)" >> ` + trace + "\n",
			"20-fail.sh": `echo 20 >> ` + trace + "\n" + `[ -e "$PRODUCT_ROOT/ok" ] || { echo "no ok file" >&2; exit 3; }` + "\n",
			"30-last.sh": `echo 30 >> ` + trace + "\n",
		}})
	err := sb.host.Apply(ctx, d, ApplyOptions{})
	var se *script.Error
	if !errors.As(err, &se) || se.Script != "Install/20-fail.sh" {
		t.Fatalf("error = %v, want a script.Error for 20-fail.sh", err)
	}
	if !strings.Contains(sb.out.String(), "no ok file") {
		t.Errorf("script output not on the console:\n%s", sb.out)
	}
	log, _ := os.ReadFile(filepath.Join(d, "shop-hotfix-6.14.2.1-install-host1.log"))
	if !strings.Contains(string(log), "no ok file") || !strings.Contains(string(log), "replace /opt/shop/lib/Shop/Core.pm") {
		t.Errorf("install log lacks the script output or the file operations:\n%s", log)
	}
	if got := sb.ledger("host1.txt"); got != "" {
		t.Fatalf("ledger written after a failed script: %q", got)
	}
	assertFile(t, filepath.Join(d, "Backup-host1/FileChanges/lib/Shop/Core.pm"), "core 1\n")
	// Fix the cause and apply again: it resumes at the failed script.
	sb.write("opt/shop/ok", "", 0o644)
	if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
		t.Fatalf("resume: %v\n%s", err, sb.out)
	}
	want := "6.14.2.1|single|" + filepath.Join(sb.root, "opt/shop") + "|shop db|" + d + "\n20\n20\n30\n"
	assertFile(t, trace, want)
	if got := sb.ledger("host1.txt"); got != "6.14.2.1" {
		t.Fatalf("ledger = %q", got)
	}
}

func TestRollbackOrder(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	ctx := context.Background()
	for _, d := range chain(sb)[:2] {
		if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := sb.host.Rollback(ctx, mustHotfix(t, "6.14.2.1"), nil)
	if err == nil || !strings.Contains(err.Error(), "not the newest applied hotfix (6.14.2.2 is)") {
		t.Fatalf("error = %v", err)
	}
	if err := sb.host.Rollback(ctx, mustHotfix(t, "6.14.2.3"), nil); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("rollback of a hotfix never applied: %v, want ErrNotApplied", err)
	}
	if got := sb.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2" {
		t.Fatalf("ledger = %q", got)
	}
}

func TestFinalizeAndRoles(t *testing.T) {
	ctx := context.Background()
	alpha := newSandbox(t, sysconfig.RoleAlpha)
	trace := filepath.Join(alpha.root, "trace")
	scripts := map[string]string{
		"10-db-shared.sh":  "echo shared >> " + trace + "\n",
		"20-conf-local.sh": "echo local >> " + trace + "\n",
		"90-idx-final.sh":  "echo final >> " + trace + "\n",
	}
	d := alpha.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/a": "a"}, scripts: scripts})
	if err := alpha.host.Apply(ctx, d, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, trace, "shared\n")
	done, err := alpha.host.Finalize(ctx, nil, nil)
	if err != nil || len(done) != 1 {
		t.Fatalf("finalize = %v, %v", done, err)
	}
	if done, err := alpha.host.Finalize(ctx, nil, nil); err != nil || len(done) != 0 {
		t.Fatalf("second finalize = %v, %v; want nothing done", done, err)
	}
	assertFile(t, trace, "shared\nfinal\n")
	if got := alpha.ledger("finalized.txt"); got != "6.14.2.1" {
		t.Errorf("finalized = %q", got)
	}

	// A secondary sharing the ledger runs only its own scripts and writes only its ledger.
	sec := alpha.host
	secHost := &Host{Cfg: testConfig(alpha.root, "sec1", sysconfig.RoleSecondary), Out: alpha.out, Environ: sec.Environ}
	os.WriteFile(trace, nil, 0o644)
	if err := secHost.Apply(ctx, d, ApplyOptions{NoCheck: true}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, trace, "local\n")
	if got := alpha.ledger("sec1.txt"); got != "6.14.2.1" {
		t.Errorf("sec1 ledger = %q", got)
	}
	if _, err := secHost.Finalize(ctx, nil, nil); err == nil || !strings.Contains(err.Error(), "alpha") {
		t.Errorf("finalize on a secondary: %v", err)
	}
}

func TestVerify(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	ctx := context.Background()
	for _, d := range chain(sb) {
		if err := sb.host.Apply(ctx, d, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	drift, checked, err := sb.host.Verify()
	if err != nil || len(drift) != 0 || checked != 8 {
		t.Fatalf("verify = %v, %d, %v; want no drift of 8", drift, checked, err)
	}
	sb.write("opt/shop/lib/Shop/Core.pm", "edited\n", 0o644)
	os.Remove(filepath.Join(sb.root, "opt/shop/share/new/deep/file.txt"))
	drift, _, err = sb.host.Verify()
	if err != nil {
		t.Fatal(err)
	}
	want := []state.Drift{{Path: "/opt/shop/lib/Shop/Core.pm", Version: "6.14.2.2", Problem: "changed"}, {Path: "/opt/shop/share/new/deep/file.txt", Version: "6.14.2.3", Problem: "missing"}}
	if !reflect.DeepEqual(drift, want) {
		t.Errorf("drift = %+v, want %+v", drift, want)
	}
}
