package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/hoststate"
)

// writeHostRecord leaves the run's record in LEDGER_DIR for status -installation on every
// host; a failure is a warning: it only reports.
func (r *agentRun) writeHostRecord(l *hoststate.LastRun) {
	rec := &hoststate.HostRecord{Schema: hoststate.HostRecordSchema, Host: r.cfg.Hostname, Role: string(r.cfg.HostRole), Time: l.Time, Mode: l.Mode,
		Outcome: l.Outcome, Summary: l.Summary, Error: l.Error, Pending: l.Pending, Waiting: l.Waiting, Restart: r.restart}
	if r.healthFailed != nil {
		rec.HealthFailed = r.healthFailed.String()
	}
	// Drift is counted by the runs that may install (hashing every file the chain owns);
	// -check and -download, which must stay as cheap as the one dnf call, keep the count
	// of the run before.
	if r.o.Mode == ModeConsole || r.o.Mode == ModeCron && !r.cfg.CheckOnly && !r.cfg.DownloadOnly {
		if drift, _, err := r.host.Verify(); err == nil {
			n := len(drift)
			rec.Drift, rec.DriftTime = &n, &l.Time
		}
	} else if prev, err := hoststate.ReadHostRecord(hoststate.HostRecordFile(r.cfg, r.cfg.Hostname)); err == nil {
		rec.Drift, rec.DriftTime = prev.Drift, prev.DriftTime
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	p := hoststate.HostRecordFile(r.cfg, r.cfg.Hostname)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(p), 0o755) // as the ledger makes it
	}
	if err == nil {
		err = atomicfile.Replace(p, append(data, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: warning: write the run's record for the installation: %v\n", err)
	}
}
