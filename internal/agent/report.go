package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/mailer"
)

// The end of an agent run: it tells people (console output, or the nightly report mailed
// to MAILTO or printed for crond), syslog, and leaves its records. What it says and the
// records are internal/agent/report's (the run's report.Outcome); the delivery and the
// exit status are here.

// finish reports the run and returns its exit status as an error.
func (r *agentRun) finish(ctx context.Context, logLine func(string, bool)) (status error) {
	defer func() { status = r.notify(ctx, status, logLine) }() // notify.go
	r.readRestartState()                                       // restart.go
	logLine(r.LogLine(), r.Failed)
	r.WriteRecords(r.o.Stderr)
	if r.o.Mode == ModeCron {
		return r.deliver(ctx)
	}
	r.WriteConsole(r.o.Stdout)
	if r.Failed {
		return cli.ExitError{Code: r.FailStatus(), Err: cli.WithHint(errors.New(strings.Join(r.Problems, "\n")), r.Hint)}
	}
	if len(r.WithdrawnApplied) > 0 {
		return cli.SilentExit(cli.ExitWithdrawn)
	}
	if r.o.Mode == ModeCheck && r.Restart != nil {
		return cli.SilentExit(cli.ExitRestart)
	}
	// Hotfixes that the rollout policy holds back are not pending in the sense of 100:
	// nothing this host would install now (those waiting for the alpha still count).
	if r.o.Mode == ModeCheck && len(r.Pending)-r.PolicyHeld()+len(r.Unpacked)+r.Drop.PendingCount() > 0 {
		return cli.SilentExit(cli.ExitPending)
	}
	return nil
}

// deliver sends a nightly run's report to MAILTO, or prints it for crond to mail.
func (r *agentRun) deliver(ctx context.Context) error {
	cfg := r.Cfg
	var status error
	if r.Failed {
		status = cli.SilentExit(r.FailStatus()) // the report tells the story
	} else if len(r.WithdrawnApplied) > 0 {
		status = cli.SilentExit(cli.ExitWithdrawn)
	}
	if !r.Reportable() {
		return status
	}
	subject := r.Subject()
	body := r.Body()
	to := strings.FieldsFunc(cfg.MailTo, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' })
	if len(to) == 0 {
		fmt.Fprintf(r.o.Stdout, "%s\n\n%s", subject, body)
		return status
	}
	msg := mailer.Message{From: cfg.MailFrom, To: to, Subject: subject, Body: body}
	if err := r.o.mailSender().Send(context.WithoutCancel(ctx), msg); err != nil {
		// crond mails what the run prints: the report still reaches someone.
		fmt.Fprintf(r.o.Stdout, "%s\n\n%s", subject, body)
		err = fmt.Errorf("mail the report to %s: %w", cfg.MailTo, err)
		if r.Failed {
			fmt.Fprintf(r.o.Stderr, "hotchain: %v\n", err)
			return status
		}
		return cli.ExitError{Code: cli.ExitNotMailed, Err: cli.WithHint(err, "check MAILTO, MAILFROM and SMTP_SERVER in "+cfg.File+"; the report was printed instead")}
	}
	return status
}
