package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/testutil"
)

// METRICS_FILE, with the fake package manager and checked by the real promtool.

const promDir = "var/lib/node_exporter/textfile_collector"

// metricsHost is an agent host with METRICS_FILE in the collector's directory.
func metricsHost(t *testing.T, extra ...string) *agentHost {
	h := newAgentHost(t, append([]string{"METRICS_FILE=/" + promDir + "/shop_hotfix.prom"}, extra...)...)
	if err := os.MkdirAll(h.path(promDir), 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

// metrics reads the file, checks it with promtool and returns its samples by series.
func (h *agentHost) metrics() map[string]string {
	h.t.Helper()
	data, err := os.ReadFile(h.path(promDir + "/shop_hotfix.prom"))
	if err != nil {
		h.t.Fatal(err)
	}
	promtool(h.t, data)
	samples := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.HasPrefix(l, "#") {
			series, value, _ := strings.Cut(l, " ")
			samples[series] = value
		}
	}
	return samples
}

// promtool runs `promtool check metrics`, which lints names, types and help texts.
func promtool(t *testing.T, data []byte) {
	t.Helper()
	if os.Getenv("HOTCHAIN_LANE") == "debian13" {
		// The Debian 13 root holds the rpm, dnf and createrepo_c this lane is for, not
		// Prometheus; the Debian 12 lane runs promtool over the same files. The values are
		// still asserted here.
		return
	}
	cmd := exec.Command(testutil.RequireTool(t, "promtool"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\nof:\n%s", err, out, data)
	}
}

func wantSamples(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %q, want %q", series, got[series], v)
		}
	}
}

func TestMetricsAfterRuns(t *testing.T) {
	h := metricsHost(t)
	now := time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC).Unix()
	if code, _, stderr := h.run(h.options(agent.ModeCron)); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantSamples(t, h.metrics(), map[string]string{
		`hotchain_applied_hotfixes{product="shop"}`:                           "3",
		`hotchain_applied_info{product="shop",version="6.14.2.3"}`:            "1",
		`hotchain_pending_hotfixes{product="shop"}`:                           "0",
		`hotchain_last_run_success{product="shop"}`:                           "1",
		`hotchain_last_run_timestamp_seconds{product="shop"}`:                 strconv.FormatInt(now, 10),
		`hotchain_drifted_files{product="shop"}`:                              "0",
		`hotchain_restart_required{product="shop"}`:                           "0",
		`hotchain_withdrawn_applied_hotfixes{product="shop"}`:                 "0",
		`hotchain_held_back_hotfixes{product="shop",reason="alpha"}`:          "0",
		`hotchain_held_back_hotfixes{product="shop",reason="install_window"}`: "0",
	})

	// hotchain rollback from the command line rewrites it: one fewer applied, one more pending.
	code, _, stderr := h.cli(nil, "rollback", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix")
	if code != 0 {
		t.Fatalf("rollback: exit %d: %s", code, stderr)
	}
	wantSamples(t, h.metrics(), map[string]string{
		`hotchain_applied_hotfixes{product="shop"}`:                "2",
		`hotchain_applied_info{product="shop",version="6.14.2.2"}`: "1",
		`hotchain_pending_hotfixes{product="shop"}`:                "1",
		`hotchain_last_run_success{product="shop"}`:                "1",
	})
	// And hotchain apply.
	code, _, stderr = h.cli(nil, "apply", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix", h.path("var/opt/shop/Patches/shop-hotfix-6.14.2.3"))
	if code != 0 {
		t.Fatalf("apply: exit %d: %s", code, stderr)
	}
	wantSamples(t, h.metrics(), map[string]string{
		`hotchain_applied_hotfixes{product="shop"}`: "3",
		`hotchain_pending_hotfixes{product="shop"}`: "0",
	})

	// A file the hotfixes own changed, and hotfix 4 fails: the next run says both.
	h.write("opt/shop/lib/fix2.txt", "edited\n")
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.4/Install/10-fail.sh", "exit 3\n")
	if code, _, _ := h.run(h.options(agent.ModeCron)); code != cli.ExitFailure {
		t.Fatalf("exit %d, want 1", code)
	}
	wantSamples(t, h.metrics(), map[string]string{
		`hotchain_applied_hotfixes{product="shop"}`: "3",
		`hotchain_pending_hotfixes{product="shop"}`: "1",
		`hotchain_last_run_success{product="shop"}`: "0",
		`hotchain_drifted_files{product="shop"}`:    "1",
	})
}

// Hotfixes held back by a closed install window count under their reason.
func TestMetricsHeldBack(t *testing.T) {
	h := metricsHost(t, `INSTALL_WINDOW="Sun 01:00-02:00 UTC"`)
	if code, _, stderr := h.run(h.options(agent.ModeCron)); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantSamples(t, h.metrics(), map[string]string{
		`hotchain_applied_hotfixes{product="shop"}`:                           "0",
		`hotchain_applied_info{product="shop",version=""}`:                    "1",
		`hotchain_pending_hotfixes{product="shop"}`:                           "3",
		`hotchain_held_back_hotfixes{product="shop",reason="install_window"}`: "3",
		`hotchain_held_back_hotfixes{product="shop",reason="rollout_policy"}`: "0",
		`hotchain_held_back_hotfixes{product="shop",reason="waiting_period"}`: "0",
	})
}

// Every metric the file can hold, from a last-run record with all of them, against a
// golden file and promtool.
func TestMetricsGolden(t *testing.T) {
	h := metricsHost(t)
	h.write("etc/opt/shop/hotfix/host1.txt", "6.14.2.1\n6.14.2.2\n")
	issued := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	due := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	last := &hoststate.LastRun{Time: time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC), Mode: "cron", Outcome: "success",
		Pending: []string{"6.14.2.2", "6.14.2.3", "6.14.2.4"}, Waiting: []string{"6.14.2.4"},
		Held:           []hoststate.HeldRecord{{Version: "6.14.2.3", Reason: "MIN_AGE_DAYS=7: published 2026-11-21", Due: &due}},
		Withdrawn:      []hoststate.HeldRecord{{Version: "6.14.2.2", Reason: "breaks checkout"}, {Version: "6.14.2.9", Reason: "gone"}},
		MetadataIssued: &issued}
	host := &applier.Host{Cfg: h.cfg, Out: io.Discard, Environ: h.environ} // as the agent run makes it
	data, err := hoststate.MetricsText(h.cfg, host, last, hoststate.RestartRequired(h.cfg))
	if err != nil {
		t.Fatal(err)
	}
	// No journal for the applied hotfixes: drift cannot be told, and the metric is left out.
	if bytes.Contains(data, []byte("hotchain_drifted_files")) {
		t.Errorf("drift without apply records:\n%s", data)
	}
	promtool(t, data)
	testutil.Golden(t, "testdata/metrics.golden", data)
}

// A METRICS_FILE whose directory does not exist (node_exporter is not installed, or a typo)
// is a warning; the run itself is done.
func TestMetricsDirectoryMissing(t *testing.T) {
	h := newAgentHost(t, "METRICS_FILE=/var/lib/node_exporter/textfile_colector/shop_hotfix.prom")
	code, _, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || !strings.Contains(stderr, "hotchain: warning: write the metrics: directory /var/lib/node_exporter/textfile_colector does not exist\nhint: check METRICS_FILE") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("ledger %q", h.ledger("host1.txt"))
	}
}
