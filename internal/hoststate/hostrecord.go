package hoststate

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/sysconfig"
)

// The record each agent run leaves in the shared LEDGER_DIR (<host>.status.json), which
// status -installation reads on every host, since a host's STATE_DIR is its own.

// The schema names of the JSON that status prints; a change that breaks a reader gets a new
// number.
const (
	InstallationSchema = "hotchain.installation/1"
	HostRecordSchema   = "hotchain.host/1"
)

// HostRecord is LEDGER_DIR/<host>.status.json: what the last agent run of a host found,
// written atomically at the end of every run that got past its locks.
type HostRecord struct {
	Schema       string        `json:"schema"` // hostRecordSchema
	Host         string        `json:"host"`
	Role         string        `json:"role"`
	Time         time.Time     `json:"time"`
	Mode         string        `json:"mode"`
	Outcome      string        `json:"outcome"` // success or failure
	Summary      string        `json:"summary,omitempty"`
	Error        string        `json:"error,omitempty"`
	Pending      []string      `json:"pending"`
	Waiting      []string      `json:"waiting,omitempty"`       // pending, waiting for the alpha
	HealthFailed string        `json:"health_failed,omitempty"` // the hotfix that failed its health check
	Drift        *int          `json:"drift"`                   // files that applied hotfixes own and that changed; null: not counted
	DriftTime    *time.Time    `json:"drift_time,omitempty"`    // when an install run counted them
	Restart      *RestartState `json:"restart,omitempty"`
}

// maxHostRecordSize bounds a <host>.status.json: some hundred bytes and version lists.
const maxHostRecordSize = 256 << 10

const HostRecordSuffix = ".status.json"

func HostRecordFile(cfg *sysconfig.Config, host string) string {
	return filepath.Join(cfg.InRoot(cfg.LedgerDir), host+HostRecordSuffix)
}

func ReadHostRecord(p string) (*HostRecord, error) {
	data, err := boundedio.ReadFile(p, "host record", maxHostRecordSize)
	if err != nil {
		return nil, err
	}
	var rec HostRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("read %s: %w (the host's next agent run rewrites it)", p, err)
	}
	return &rec, nil
}
