package hoststate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/sysconfig"
)

// METRICS_FILE: the host's hotfix state in Prometheus' text format, for node_exporter's
// textfile collector. It is rewritten (atomically: a temporary file renamed over it) at
// the end of every agent run that got past its locks and after every `hotchain apply` and
// `hotchain rollback`. What only a run knows (pending, held back, withdrawn, the last
// run, the policy's issue time) comes from the last run's record (last-run.json), less
// what was applied since; what is applied and drift are read when the file is written.
// Times are exported as timestamps, not ages, so that a file the collector reads hours
// later still tells the truth: the age is `time() - hotchain_..._timestamp_seconds`.

// Held-back reasons, the values of the reason label.
const (
	HeldPolicy  = "rollout_policy" // the vendor's policy: withdrawn, halted, not yet this host's share
	HeldWaiting = "waiting_period" // MIN_AGE_DAYS
	HeldWindow  = "install_window" // INSTALL_WINDOW was closed
	HeldAlpha   = "alpha"          // a secondary waits for the alpha to apply it first
)

// HeldReason sorts a held-back record into a reason label.
func HeldReason(h HeldRecord) string {
	switch {
	case h.Policy:
		return HeldPolicy
	case strings.Contains(h.Reason, "INSTALL_WINDOW"):
		return HeldWindow
	}
	return HeldWaiting
}

// WriteMetricsFile writes METRICS_FILE from the ledger, the drift and last (nil: no run
// yet: the run's metrics are left out). The directory must exist: it is the collector's.
func WriteMetricsFile(cfg *sysconfig.Config, host *applier.Host, last *LastRun, restart bool) error {
	p := cfg.InRoot(cfg.MetricsFile)
	if _, err := os.Stat(filepath.Dir(p)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write the metrics: directory %s does not exist", filepath.Dir(cfg.MetricsFile))
	}
	data, err := MetricsText(cfg, host, last, restart)
	if err != nil {
		return fmt.Errorf("write the metrics %s: %w", cfg.MetricsFile, err)
	}
	if err := atomicfile.Replace(p, data, 0o644); err != nil {
		return fmt.Errorf("write the metrics: %w", err)
	}
	return nil
}

// MetricsText is the file's content, in Prometheus' text exposition format.
func MetricsText(cfg *sysconfig.Config, host *applier.Host, last *LastRun, restart bool) ([]byte, error) {
	applied, err := host.Applied()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	prod := `product="` + escapeLabel(cfg.Product) + `"`
	metric := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v float64) {
		fmt.Fprintf(&b, "%s{%s} %s\n", name, labels, strconv.FormatFloat(v, 'f', -1, 64))
	}
	metric("hotchain_applied_hotfixes", "gauge", "Hotfixes applied on this host: its position in the chain.")
	sample("hotchain_applied_hotfixes", prod, float64(len(applied)))
	newest := ""
	if v, ok := hotfix.Newest(applied); ok {
		newest = v.String()
	}
	metric("hotchain_applied_info", "gauge", "The newest hotfix applied on this host, in the label version (empty: none); always 1.")
	sample("hotchain_applied_info", prod+`,version="`+escapeLabel(newest)+`"`, 1)
	if drift, _, err := host.Verify(); err == nil {
		metric("hotchain_drifted_files", "gauge", "Product files owned by applied hotfixes that differ from what the hotfixes wrote (hotchain verify).")
		sample("hotchain_drifted_files", prod, float64(len(drift)))
	}
	metric("hotchain_restart_required", "gauge", "1 when an applied hotfix requires a restart that was not done yet.")
	required := 0.0
	if restart {
		required = 1
	}
	sample("hotchain_restart_required", prod, required)
	if last == nil {
		return []byte(b.String()), nil
	}
	isApplied := func(s string) bool {
		return slices.ContainsFunc(applied, func(v hotfix.Version) bool { return v.String() == s })
	}
	notApplied := func(vs []string) int {
		n := 0
		for _, v := range vs {
			if !isApplied(v) {
				n++
			}
		}
		return n
	}
	metric("hotchain_pending_hotfixes", "gauge", "Hotfixes the repository offered for this host and not applied, as the last agent run found them.")
	sample("hotchain_pending_hotfixes", prod, float64(notApplied(last.Pending)))
	held := map[string]int{HeldPolicy: 0, HeldWaiting: 0, HeldWindow: 0, HeldAlpha: notApplied(last.Waiting)}
	for _, h := range last.Held {
		if !isApplied(h.Version) {
			held[HeldReason(h)]++
		}
	}
	metric("hotchain_held_back_hotfixes", "gauge", "Pending hotfixes that the last agent run did not install, by reason.")
	for _, reason := range []string{HeldAlpha, HeldWindow, HeldPolicy, HeldWaiting} {
		sample("hotchain_held_back_hotfixes", prod+`,reason="`+reason+`"`, float64(held[reason]))
	}
	withdrawn := 0
	for _, h := range last.Withdrawn {
		if isApplied(h.Version) {
			withdrawn++
		}
	}
	metric("hotchain_withdrawn_applied_hotfixes", "gauge", "Applied hotfixes that the vendor withdrew, as of the last agent run's rollout policy.")
	sample("hotchain_withdrawn_applied_hotfixes", prod, float64(withdrawn))
	metric("hotchain_last_run_timestamp_seconds", "gauge", "When the last agent run ended, in seconds since the epoch.")
	sample("hotchain_last_run_timestamp_seconds", prod, float64(last.Time.Unix()))
	success := 0.0
	if last.Outcome == "success" {
		success = 1
	}
	metric("hotchain_last_run_success", "gauge", "1 when the last agent run succeeded, 0 when it failed.")
	sample("hotchain_last_run_success", prod, success)
	if last.MetadataIssued != nil {
		metric("hotchain_metadata_issued_timestamp_seconds", "gauge", "When the vendor signed the rollout policy that the last agent run accepted, in seconds since the epoch.")
		sample("hotchain_metadata_issued_timestamp_seconds", prod, float64(last.MetadataIssued.Unix()))
	}
	return []byte(b.String()), nil
}

// escapeLabel escapes a label value as the text format wants it.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
