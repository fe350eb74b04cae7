package applier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// A hotfix that fails its health check is rolled back byte-exact before any ledger holds it;
// one that passes is applied; a check that fails once and then passes is retried.
func TestHealthGate(t *testing.T) {
	defer func(d time.Duration) { script.RetryWait = d }(script.RetryWait)
	script.RetryWait = 10 * time.Millisecond
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		role      sysconfig.Role
		checks    map[string]string // Check/ scripts
		healthCmd string            // HEALTH_CMD, {root} replaced
		retries   int
		timeout   time.Duration
		fail      string // part of the error; "" = applied
	}{
		{"no checks", sysconfig.RoleSingle, nil, "", 1, 0, ""},
		{"check script passes", sysconfig.RoleSingle, map[string]string{"10-ok.sh": "grep -q 'core 2' \"$PRODUCT_ROOT/lib/Shop/Core.pm\"\n"}, "", 1, 0, ""},
		{"check script fails", sysconfig.RoleSingle, map[string]string{"10-bad.sh": "echo 'shop answers 500' >&2; exit 3\n"}, "", 1, 0, "failed its health check Check/10-bad.sh: exit status 3"},
		{"HEALTH_CMD fails", sysconfig.RoleSingle, nil, "sh -c 'exit 7'", 1, 0, "failed its health check sh -c 'exit 7': exit status 7"},
		// On the alpha the check runs before version.txt holds the hotfix: it exits 9 only
		// when version.txt does not have it yet, so that no secondary can see it.
		{"alpha: checked before version.txt", sysconfig.RoleAlpha, nil, "sh -c 'grep -qs 6.14.2.1 {root}/etc/opt/shop/hotfix/version.txt || exit 9'", 2, 0, "exit status 9"},
		{"another role's check is not run", sysconfig.RoleSecondary, map[string]string{"10-db-shared.sh": "exit 1\n"}, "", 1, 0, ""},
		{"fails once, then passes", sysconfig.RoleSingle, nil, "sh -c 'test -f {root}/tried || { touch {root}/tried; exit 1; }'", 2, 0, ""},
		{"fails every try", sysconfig.RoleSingle, nil, "sh -c 'echo down; exit 1'", 3, 0, "exit status 1"},
		{"no answer in time", sysconfig.RoleSingle, nil, "sleep 30", 1, 300 * time.Millisecond, "no answer within HEALTH_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, tc.role)
			sb.host.Cfg.HealthCmd = strings.ReplaceAll(tc.healthCmd, "{root}", sb.root)
			sb.host.Cfg.HealthRetries = tc.retries
			sb.host.Cfg.HealthTimeout = tc.timeout
			spec := hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n", "FileChanges/lib/Shop/New.pm": "new\n"}}
			for name, text := range tc.checks {
				spec.files["Check/"+name] = text
			}
			if tc.role == sysconfig.RoleSecondary {
				sb.write("etc/opt/shop/hotfix/version.txt", "6.14.2.1\n", 0o644) // the alpha went first
			}
			before := testutil.Snapshot(t, sb.root, true, productTrees...)
			dir := sb.makeHotfix(spec)
			start := time.Now()
			err := sb.host.Apply(ctx, dir, ApplyOptions{})
			if tc.fail == "" {
				if err != nil {
					t.Fatalf("apply: %v\n%s", err, sb.out)
				}
				assertFile(t, filepath.Join(sb.root, "opt/shop/lib/Shop/Core.pm"), "core 2\n")
				if got := sb.ledger("host1.txt"); got != "6.14.2.1" {
					t.Errorf("ledger %q", got)
				}
				return
			}
			var he *script.HealthError
			if !errors.As(err, &he) || !strings.Contains(err.Error(), tc.fail) || !script.IsHealth(err) {
				t.Fatalf("apply: %v, want a health failure saying %q\n%s", err, tc.fail, sb.out)
			}
			if !he.Version.Equal(mustVersion(t, "6.14.2.1")) || he.Hint() == "" {
				t.Errorf("script.HealthError %+v", he)
			}
			if tc.timeout > 0 && time.Since(start) > 10*time.Second {
				t.Errorf("a check that hangs took %s to give up", time.Since(start))
			}
			if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
				t.Errorf("product tree after the rollback:\n%s", d)
			}
			for _, led := range []string{"host1.txt", hotfix.InstallationLedger} {
				if got := sb.ledger(led); got != "" {
					t.Errorf("%s holds %q after a failed check", led, got)
				}
			}
			if _, err := os.Stat(journal.Path(dir, "host1")); !os.IsNotExist(err) {
				t.Errorf("journal left: %v", err)
			}
			if !strings.Contains(sb.out.String(), "rolled back on host1") {
				t.Errorf("output:\n%s", sb.out)
			}
		})
	}
}

// TestHealthCheckOfARun: the check after a whole run is HEALTH_CMD alone.
func TestHealthCheckOfARun(t *testing.T) {
	sb := newSandbox(t, sysconfig.RoleSingle)
	if err := sb.host.HealthCheck(context.Background(), nil, sysconfig.RoleSingle, nil, sb.out); err != nil {
		t.Errorf("no HEALTH_CMD: %v", err)
	}
	sb.host.Cfg.HealthCmd, sb.host.Cfg.HealthRetries = "false", 1
	err := sb.host.HealthCheck(context.Background(), nil, sysconfig.RoleSingle, os.Environ(), sb.out)
	var he *script.HealthError
	if !errors.As(err, &he) || he.Version != nil || !strings.Contains(err.Error(), "the product failed its health check false") {
		t.Errorf("got %v", err)
	}
}
