package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
)

// WriteRecords writes what the run leaves behind: its record for `hotchain status`
// (hoststate.WriteLastRun), its record in LEDGER_DIR and METRICS_FILE. A failure is a
// warning on stderr: the records only report.
func (r *Outcome) WriteRecords(stderr io.Writer) {
	last := r.lastRun()
	if err := hoststate.WriteLastRun(r.Cfg, last); err != nil {
		fmt.Fprintf(stderr, "hotchain: warning: %v\n", err)
	}
	r.writeHostRecord(last, stderr)
	r.writeMetrics(last, stderr)
}

// RunEnd is the history's run-end event of a run that got under its locks, and its
// failure.
func (r *Outcome) RunEnd() (e history.Event, failure error) {
	e = history.Event{Event: history.RunEnd, Detail: r.Summary()}
	if r.Failed {
		failure = errors.New(strings.Join(r.Problems, "; "))
	}
	return e, failure
}

// lastRun is the run's record for `hotchain status`.
func (r *Outcome) lastRun() *hoststate.LastRun {
	l := &hoststate.LastRun{Time: r.Now().UTC().Truncate(time.Second), Mode: string(r.Mode), Outcome: "success",
		Summary: r.Summary(), Recovered: r.Recovered, Installed: hoststate.VersionStrings(r.Installed), Pending: []string{},
		Waiting: hoststate.VersionStrings(r.Waiting), Finalized: hoststate.VersionStrings(r.Finalized), Held: heldRecords(r.Held),
		Withdrawn: heldRecords(r.WithdrawnApplied), MetadataIssued: r.metadataIssued()}
	if len(r.RolledBack) > 0 {
		l.RolledBack = hoststate.VersionStrings(r.RolledBack)
	}
	for _, p := range r.Pending {
		l.Pending = append(l.Pending, p.Hotfix.String())
	}
	if r.Failed {
		l.Outcome, l.Error = "failure", strings.Join(r.Problems, "\n")
	}
	return l
}

// writeMetrics is the end of an agent run's hook: METRICS_FILE from this run's record.
func (r *Outcome) writeMetrics(last *hoststate.LastRun, stderr io.Writer) {
	if r.Cfg.MetricsFile == "" {
		return
	}
	if err := hoststate.WriteMetricsFile(r.Cfg, r.Host, last, r.Restart != nil); err != nil {
		fmt.Fprintf(stderr, "hotchain: warning: %v\nhint: check METRICS_FILE in %s\n", err, r.Cfg.File)
	}
}

// metadataIssued is when the vendor signed the rollout policy the run accepted; nil
// without one.
func (r *Outcome) metadataIssued() *time.Time {
	if r.Policy == nil || r.Policy.Policy == nil || r.Policy.Issued.IsZero() {
		return nil
	}
	t := r.Policy.Issued.UTC()
	return &t
}

// writeHostRecord leaves the run's record in LEDGER_DIR for status -installation on every
// host; a failure is a warning: it only reports.
func (r *Outcome) writeHostRecord(l *hoststate.LastRun, stderr io.Writer) {
	rec := &hoststate.HostRecord{Schema: hoststate.HostRecordSchema, Host: r.Cfg.Hostname, Role: string(r.Cfg.HostRole), Time: l.Time, Mode: l.Mode,
		Outcome: l.Outcome, Summary: l.Summary, Error: l.Error, Pending: l.Pending, Waiting: l.Waiting, Restart: r.Restart}
	if r.HealthFailed != nil {
		rec.HealthFailed = r.HealthFailed.String()
	}
	// Drift is counted by the runs that may install (hashing every file the chain owns);
	// -check and -download, which must stay as cheap as the one dnf call, keep the count
	// of the run before.
	if r.Mode == ModeConsole || r.Mode == ModeCron && !r.Cfg.CheckOnly && !r.Cfg.DownloadOnly {
		if drift, _, err := r.Host.Verify(); err == nil {
			n := len(drift)
			rec.Drift, rec.DriftTime = &n, &l.Time
		}
	} else if prev, err := hoststate.ReadHostRecord(hoststate.HostRecordFile(r.Cfg, r.Cfg.Hostname)); err == nil {
		rec.Drift, rec.DriftTime = prev.Drift, prev.DriftTime
	}
	data, err := rec.Marshal()
	p := hoststate.HostRecordFile(r.Cfg, r.Cfg.Hostname)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(p), 0o755) // as the ledger makes it
	}
	if err == nil {
		err = atomicfile.Replace(p, append(data, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hotchain: warning: write the run's record for the installation: %v\n", err)
	}
}

func heldRecords(held []Held) []hoststate.HeldRecord {
	var out []hoststate.HeldRecord
	for _, h := range held {
		rec := hoststate.HeldRecord{Version: h.Version.String(), Reason: h.Reason, Policy: h.Policy}
		if !h.Due.IsZero() {
			due := h.Due.UTC()
			rec.Due = &due
		}
		out = append(out, rec)
	}
	return out
}
