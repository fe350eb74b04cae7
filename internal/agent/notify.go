package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotchain/hotchain/internal/agent/notify"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
)

// Notifications (NOTIFY_URL, NOTIFY_CMD): the end of a run that installs (a nightly run or
// agent -console) sends one JSON document, the notification, to a webhook and to a command.
// The document is the run's report (report.Outcome.Notification); delivery
// (internal/agent/notify) is bounded (notify.Limits) and never changes what the run did: a
// notification that cannot be delivered is logged and gives exit status 4, as a report that
// could not be mailed does.

// notify sends the notification when NOTIFY_ON asks for it, and turns a delivery that
// failed into the run's exit status: 4 for a run that worked, else the run's own status
// with the failure on stderr. status is what the run returns without it.
func (r *agentRun) notify(ctx context.Context, status error, logLine func(string, bool)) error {
	if !r.NotifyWanted() {
		return status
	}
	doc, err := r.Notification().Encode()
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
	if r.Cfg.NotifyURL != "" {
		errs = append(errs, notify.Post(ctx, r.Cfg, doc, lim))
	}
	if r.Cfg.NotifyCmd != "" {
		errs = append(errs, notify.RunCommand(ctx, r.Cfg.NotifyCmd, r.o.Environ, doc, lim.Timeout)) // without the LOCK_TS token
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
	return cli.ExitError{Code: cli.ExitNotMailed, Err: cli.WithHint(nerr, "check NOTIFY_URL, NOTIFY_HEADER and NOTIFY_CMD in "+r.Cfg.File+"; the run itself is done")}
}
