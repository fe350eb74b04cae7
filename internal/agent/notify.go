package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/notify"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/sysconfig"
)

// Notifications (NOTIFY_URL, NOTIFY_CMD): the end of a run that installs (a nightly run or
// agent -console) sends one JSON document, the notification, to a webhook and to a command.
// Delivery (internal/agent/notify) is bounded (notify.Limits) and never changes what the run did: a notification
// that cannot be delivered is logged and gives exit status 4, as a report that could not be
// mailed does.

// notifyWanted says whether NOTIFY_ON asks for this run.
func (r *agentRun) notifyWanted() bool {
	cfg := r.cfg
	if cfg.NotifyURL == "" && cfg.NotifyCmd == "" || r.o.Mode != ModeCron && r.o.Mode != ModeConsole {
		return false
	}
	switch cfg.NotifyOn {
	case sysconfig.NotifyAlways:
		return true
	case sysconfig.NotifyFailure:
		return r.failed
	}
	return r.failed || len(r.installed) > 0 || len(r.rolledBack) > 0 || r.dropped != nil ||
		len(r.finalized) > 0 || len(r.recovered) > 0
}

// notification builds the document.
func (r *agentRun) notification() *notify.Document {
	cfg := r.cfg
	n := &notify.Document{Schema: notify.Schema, Time: r.o.Now().UTC().Truncate(time.Second),
		Host:         notify.Host{Name: cfg.Hostname, System: cfg.SystemName, Role: string(cfg.HostRole), Applied: []string{}},
		Installation: notify.Installation{Product: cfg.Product},
		Mode:         string(r.o.Mode), Outcome: "success", Summary: r.summary(), Problems: notify.NonNil(r.problems),
		Hotfixes: notify.Hotfixes{Installed: hoststate.VersionStrings(r.installed), RolledBack: hoststate.VersionStrings(r.rolledBack),
			Failed: []string{}, Pending: []string{}, Held: notify.NonNil(heldRecords(r.held)), Withdrawn: notify.NonNil(heldRecords(r.withdrawnApplied)),
			Finalized: hoststate.VersionStrings(r.finalized), Recovered: notify.NonNil(r.recovered)},
		Report: r.body()}
	if r.failed {
		n.Outcome = "failure"
	}
	if applied, err := r.host.Applied(); err == nil {
		n.Host.Applied = hoststate.VersionStrings(applied)
	}
	if inst, err := r.host.Ledger().Read(hotfix.InstallationLedger); err == nil {
		if v, ok := hotfix.Newest(inst); ok {
			n.Installation.Version = v.String()
		}
	}
	for _, v := range []hotfix.Version{r.applyFailed, r.healthFailed, r.dropped} {
		if v != nil {
			n.Hotfixes.Failed = append(n.Hotfixes.Failed, v.String())
		}
	}
	for _, p := range r.pending {
		n.Hotfixes.Pending = append(n.Hotfixes.Pending, p.Hotfix.String())
	}
	return n
}

// notify sends the notification when NOTIFY_ON asks for it, and turns a delivery that
// failed into the run's exit status: 4 for a run that worked, else the run's own status
// with the failure on stderr. status is what the run returns without it.
func (r *agentRun) notify(ctx context.Context, status error, logLine func(string, bool)) error {
	if !r.notifyWanted() {
		return status
	}
	doc, err := r.notification().Encode()
	if err != nil {
		return errors.Join(status, err) // cannot happen: plain strings and times
	}
	lim := r.o.NotifyLimits
	if lim == (notify.Limits{}) {
		lim = notify.DefaultLimits
	}
	ctx = context.WithoutCancel(ctx) // a SIGTERM after the install still gets it out; lim bounds it
	var errs []error
	started := time.Now()
	if r.cfg.NotifyURL != "" {
		errs = append(errs, notify.Post(ctx, r.cfg, doc, lim))
	}
	if r.cfg.NotifyCmd != "" {
		errs = append(errs, notify.RunCommand(ctx, r.cfg.NotifyCmd, r.o.Environ, doc, lim.Timeout)) // without the LOCK_TS token
	}
	nerr := errors.Join(errs...)
	r.hist.Record(history.Event{Event: history.Notify}, started, nerr)
	if nerr == nil {
		return status
	}
	nerr = fmt.Errorf("notification not delivered: %w", nerr)
	logLine(nerr.Error(), true)
	if status != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: %v\n", nerr)
		return status
	}
	return cli.ExitError{Code: cli.ExitNotMailed, Err: cli.WithHint(nerr, "check NOTIFY_URL, NOTIFY_HEADER and NOTIFY_CMD in "+r.cfg.File+"; the run itself is done")}
}
