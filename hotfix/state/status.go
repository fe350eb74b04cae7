package state

import (
	"context"
	"os"
	"path/filepath"
	"sort"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/sysconfig"
)

// Status is what this host knows of its chain; the agent adds what the repository offers.
type Status struct {
	Product        string       `json:"product"`
	Host           string       `json:"host"`
	Role           string       `json:"role"`
	ProductVersion string       `json:"product_version,omitempty"`
	VersionError   string       `json:"product_version_error,omitempty"`
	Applied        []string     `json:"applied"`
	Installation   []string     `json:"installation"` // version.txt: what the alpha (or single host) applied
	Finalized      []string     `json:"finalized,omitempty"`
	Interrupted    []Unfinished `json:"interrupted,omitempty"`
	Unpacked       []string     `json:"unpacked,omitempty"` // unpacked by rpm, not applied yet (Unpacked)
	Logs           []string     `json:"logs,omitempty"`
}

// Unfinished is an apply or rollback that was interrupted.
type Unfinished struct {
	Version string `json:"version"`
	State   string `json:"state"`
	Journal string `json:"journal"`
}

// Read reads the product version, the ledgers, interrupted applies and install logs.
func Read(ctx context.Context, cfg *sysconfig.Config, environ []string) (*Status, error) {
	s := &Status{Product: cfg.Product, Host: cfg.Hostname, Role: string(cfg.HostRole), Applied: []string{}, Installation: []string{}}
	if pv, err := ProductVersion(ctx, cfg, environ); err != nil {
		s.VersionError = err.Error()
	} else {
		s.ProductVersion = pv.String()
	}
	led := Ledger(cfg)
	for name, dst := range map[string]*[]string{hotfix.HostFile(cfg.Hostname): &s.Applied, hotfix.InstallationLedger: &s.Installation, hotfix.FinalizedLedger: &s.Finalized} {
		vs, err := led.Read(name)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			*dst = append(*dst, v.String())
		}
	}
	s.Interrupted = Interrupted(cfg)
	patches := cfg.InRoot(cfg.PatchesDir)
	logs, _ := filepath.Glob(filepath.Join(patches, cfg.Product+"-hotfix-*", "*-install-"+cfg.Hostname+".log"))
	for _, p := range logs {
		if _, err := os.Stat(p); err == nil {
			s.Logs = append(s.Logs, plan.HostView(cfg, p))
		}
	}
	sort.Strings(s.Logs)
	unpacked, err := Unpacked(cfg)
	if err != nil {
		return nil, err
	}
	for _, v := range unpacked {
		s.Unpacked = append(s.Unpacked, v.String())
	}
	return s, nil
}

// Interrupted finds the apply journals of this host that are not done: the applies and
// rollbacks that were interrupted.
func Interrupted(cfg *sysconfig.Config) []Unfinished {
	var us []Unfinished
	journals, _ := filepath.Glob(filepath.Join(cfg.InRoot(cfg.PatchesDir), cfg.Product+"-hotfix-*", "Backup-"+cfg.Hostname+".journal"))
	for _, p := range journals {
		// Only a hotfix directory that is where its name puts it inside the root: one
		// reached through a symlink out of it is not this root's.
		if v, ok := hotfix.ParseDirName(cfg.Product, filepath.Base(filepath.Dir(p))); !ok {
			continue
		} else if dir, err := ResolveHotfixDir(cfg, v); err != nil || dir != plan.RealPath(filepath.Dir(p)) {
			continue
		}
		// A prepared apply placed nothing: it is listed as unpacked, not applied.
		if j, err := journal.Read(p); err == nil && j.State != journal.StateDone && !j.PreparedOnly() {
			us = append(us, Unfinished{j.Version, j.State, plan.HostView(cfg, p)})
		}
	}
	return us
}
