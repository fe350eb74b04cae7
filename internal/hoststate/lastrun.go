// Package hoststate holds the records of a host's runs that outlive the process that
// wrote them: the last agent run (STATE_DIR/last-run.json), what must still restart
// (restart.json, with the RESTART_CMD run that clears it), the host's record in the shared
// LEDGER_DIR (<host>.status.json), METRICS_FILE, and the sink through which the agent and
// the commands that change a host append to its history (internal/history). The agent run
// writes them, `hotchain status`, `apply`, `rollback` and `restarted` read or update them.
// Each record is read bounded (internal/boundedio) and written atomically. It decides
// nothing about a run and prints nothing but warnings; it must not import the agent or
// anything of the vendor side.
package hoststate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/sysconfig"
)

// LastRun is the state file STATE_DIR/last-run.json: the last agent run that got past its
// gates and locks, for `hotchain status`.
type LastRun struct {
	Time      time.Time `json:"time"`
	Mode      string    `json:"mode"`    // cron, check, download, console
	Outcome   string    `json:"outcome"` // success or failure
	Summary   string    `json:"summary,omitempty"`
	Recovered []string  `json:"recovered,omitempty"` // what the run finished or undid, one line each
	Installed []string  `json:"installed"`
	Pending   []string  `json:"pending"` // offered and not applied when the run checked
	Waiting   []string  `json:"waiting,omitempty"`
	Finalized []string  `json:"finalized,omitempty"`
	// Held is what the rollout policy, the waiting period or the install window held back,
	// and until when.
	Held []HeldRecord `json:"held,omitempty"`
	// Withdrawn: hotfixes applied here that the vendor withdrew.
	Withdrawn  []HeldRecord `json:"withdrawn,omitempty"`
	RolledBack []string     `json:"rolled_back,omitempty"`
	Error      string       `json:"error,omitempty"`
	// MetadataIssued: when the vendor signed the rollout policy the run accepted (metrics).
	MetadataIssued *time.Time `json:"metadata_issued,omitempty"`
}

// What says in a few words What the run did and What went wrong: "nothing to do" for a run
// that found nothing, never an empty string.
func (l *LastRun) What() string {
	switch {
	case l.Summary != "" && l.Error != "":
		return l.Summary + "; " + l.Error
	case l.Error != "":
		return l.Error
	case l.Summary != "":
		return l.Summary
	}
	return "nothing to do"
}

// LastRunFile is where the state file lies, as this process sees it.
func LastRunFile(cfg *sysconfig.Config) string {
	return filepath.Join(cfg.InRoot(cfg.StateDir), "last-run.json")
}

func VersionStrings(vs []hotfix.Version) []string {
	s := make([]string, 0, len(vs))
	for _, v := range vs {
		s = append(s, v.String())
	}
	return s
}

// maxLastRunSize bounds the last-run record: a JSON object of some hundred bytes and the
// list of versions the run found.
const maxLastRunSize = 1 << 20

// ReadLastRun reads the state file of the last agent run; nil (and no error) when no run has
// written one yet.
func ReadLastRun(cfg *sysconfig.Config) (*LastRun, error) {
	p := LastRunFile(cfg)
	data, err := boundedio.ReadFile(p, "last-run record", maxLastRunSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if boundedio.IsTooLarge(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read the last run: %w", err)
	}
	var l LastRun
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("read the last run %s: %w (the next agent run rewrites it)", p, err)
	}
	return &l, nil
}

// WriteLastRun replaces the state file atomically (a temporary file renamed over it), without
// fsync: it only reports, every run rewrites it, and status reads a torn one as a warning.
func WriteLastRun(cfg *sysconfig.Config, l *LastRun) error {
	data, err := l.Marshal()
	if err != nil {
		return fmt.Errorf("write the last run: %w", err)
	}
	p := LastRunFile(cfg)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write the last run: %w", err)
	}
	return atomicfile.Replace(p, append(data, '\n'), 0o644)
}

// HeldRecord is a held-back hotfix in the last-run record, for status.
type HeldRecord struct {
	Version string     `json:"version"`
	Reason  string     `json:"reason"`
	Due     *time.Time `json:"due,omitempty"`
	Policy  bool       `json:"policy,omitempty"` // held back by the vendor's rollout policy
}
