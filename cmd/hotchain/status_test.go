package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/testutil"
)

// TestStatusText pins what status prints for people, every line that can show up.
func TestStatusText(t *testing.T) {
	due := time.Date(2026, 11, 29, 4, 2, 0, 0, time.UTC)
	st := &hostStatus{
		Status: &state.Status{
			Product: "shop", Host: "alpha1", Role: "alpha", ProductVersion: "6.14.2",
			Applied: []string{"6.14.2.1", "6.14.2.2"}, Installation: []string{"6.14.2.1", "6.14.2.2"},
			Finalized:   []string{"6.14.2.1"},
			Interrupted: []state.Unfinished{{Version: "6.14.2.3", State: "scripts", Journal: "/var/opt/shop/Patches/shop-hotfix-6.14.2.3/Backup-alpha1.journal"}},
			Unpacked:    []string{"6.14.2.4"},
			Logs:        []string{"/var/opt/shop/Patches/shop-hotfix-6.14.2.1/shop-hotfix-6.14.2.1-install-alpha1.log"},
		},
		Nightly: true, Installing: true, Pending: []string{"6.14.2.5", "6.14.2.6"},
		Secondaries: map[string][]string{"sec2": {}, "sec1": {"6.14.2.1"}},
		Restart: &restartState{Kind: "services", Services: []string{"shop-web", "shop-worker"}, Reboot: true,
			Hotfixes: []string{"6.14.2.1", "6.14.2.2"}, Since: time.Date(2026, 11, 24, 4, 3, 0, 0, time.UTC)},
		LastRun: &lastRun{Time: time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC), Mode: "cron", Outcome: "failure",
			Summary: "1 hotfix installed", Error: "hotfix 6.14.2.3 is installed but not applied",
			Held: []heldRecord{
				{Version: "6.14.2.5", Reason: "MIN_AGE_DAYS=7: published 2026-11-22 04:02 UTC", Due: &due},
				{Version: "6.14.2.2", Reason: "outside INSTALL_WINDOW", Due: &due}, // applied since: not shown
				{Version: "6.14.2.6", Reason: "follows 6.14.2.5; MIN_AGE_DAYS=7: no signed publish time"},
			}},
	}
	var b bytes.Buffer
	st.writeText(&b, "/var/lock/shop-hotfix.lock/ts.lock", time.UTC)
	// A host that knows nothing yet: no product version, nightly runs off, no last run.
	empty := &hostStatus{Status: &state.Status{Product: "shop", Host: "h", Role: "single", VersionError: "open /opt/shop/version.txt: no such file or directory"}}
	b.WriteString("--\n")
	empty.writeText(&b, "/var/lock/shop-hotfix.lock/ts.lock", time.UTC)
	testutil.Golden(t, "testdata/status.txt", b.Bytes())
}
