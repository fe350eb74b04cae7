package report

import (
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/notify"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/sysconfig"
)

// NotifyWanted says whether NOTIFY_ON asks for this run.
func (r *Outcome) NotifyWanted() bool {
	cfg := r.Cfg
	if cfg.NotifyURL == "" && cfg.NotifyCmd == "" || r.Mode != ModeCron && r.Mode != ModeConsole {
		return false
	}
	switch cfg.NotifyOn {
	case sysconfig.NotifyAlways:
		return true
	case sysconfig.NotifyFailure:
		return r.Failed
	}
	return r.Failed || len(r.Installed) > 0 || len(r.RolledBack) > 0 || r.Dropped != nil ||
		len(r.Finalized) > 0 || len(r.Recovered) > 0
}

// Notification builds the document.
func (r *Outcome) Notification() *notify.Document {
	cfg := r.Cfg
	n := &notify.Document{Schema: notify.Schema, Time: r.Now().UTC().Truncate(time.Second),
		Host:         notify.Host{Name: cfg.Hostname, System: cfg.SystemName, Role: string(cfg.HostRole), Applied: []string{}},
		Installation: notify.Installation{Product: cfg.Product},
		Mode:         string(r.Mode), Outcome: "success", Summary: r.Summary(), Problems: notify.NonNil(r.Problems),
		Hotfixes: notify.Hotfixes{Installed: hoststate.VersionStrings(r.Installed), RolledBack: hoststate.VersionStrings(r.RolledBack),
			Failed: []string{}, Pending: []string{}, Held: notify.NonNil(heldRecords(r.Held)), Withdrawn: notify.NonNil(heldRecords(r.WithdrawnApplied)),
			Finalized: hoststate.VersionStrings(r.Finalized), Recovered: notify.NonNil(r.Recovered)},
		Report: r.Body()}
	if r.Failed {
		n.Outcome = "failure"
	}
	if applied, err := r.Host.Applied(); err == nil {
		n.Host.Applied = hoststate.VersionStrings(applied)
	}
	if v, ok := r.installationVersion(); ok {
		n.Installation.Version = v
	}
	for _, v := range []hotfix.Version{r.ApplyFailed, r.HealthFailed, r.Dropped} {
		if v != nil {
			n.Hotfixes.Failed = append(n.Hotfixes.Failed, v.String())
		}
	}
	for _, p := range r.Pending {
		n.Hotfixes.Pending = append(n.Hotfixes.Pending, p.Hotfix.String())
	}
	return n
}
