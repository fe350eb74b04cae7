package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/mailer"
	"github.com/hotchain/hotchain/repo/dnf"
)

// The end of an agent run: what it tells people (console output, or the nightly report
// mailed to MAILTO or printed for crond), syslog, and the state file that `hotchain status`
// reads.

// finish reports the run and returns its exit status as an error.
func (r *agentRun) finish(ctx context.Context, logLine func(string, bool)) (status error) {
	defer func() { status = r.notify(ctx, status, logLine) }() // notify.go
	r.readRestartState()                                       // restart.go
	line := r.summary()
	if line == "" {
		line = "nothing to do"
	}
	if r.failed {
		line = "FAILED: " + strings.Join(r.problems, "; ")
	}
	if r.wasClosed {
		line += "; " + r.closedText()
	}
	logLine(line, r.failed)
	last := r.lastRun()
	if err := hoststate.WriteLastRun(r.cfg, last); err != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: warning: %v\n", err)
	}
	r.writeHostRecord(last) // installation.go
	r.writeMetrics(last)    // metrics.go
	if r.o.Mode == ModeCron {
		return r.deliver(ctx)
	}
	w := r.o.Stdout
	switch r.o.Mode {
	case ModeCheck:
		if !r.failed {
			r.writeCheck(w)
			r.writeDrop(w)
		}
	case ModeDownload:
		if !r.failed && len(r.download) == 0 {
			r.writeNone(w)
		}
		if len(r.download) > 0 {
			fmt.Fprintf(w, "Downloaded into the package manager's cache, not installed: %s\n", strings.Join(r.download, " "))
		}
		r.writeDrop(w)
	case ModeConsole:
		if !r.failed && len(r.pending) == 0 && len(r.installed) == 0 {
			r.writeNone(w)
		}
		r.writeOutcome(w)
	}
	if r.failed {
		return cli.ExitError{Code: r.failStatus(), Err: cli.WithHint(errors.New(strings.Join(r.problems, "\n")), r.hint)}
	}
	if len(r.withdrawnApplied) > 0 {
		return cli.SilentExit(cli.ExitWithdrawn)
	}
	if r.o.Mode == ModeCheck && r.restart != nil {
		return cli.SilentExit(cli.ExitRestart)
	}
	// Hotfixes that the rollout policy holds back are not pending in the sense of 100:
	// nothing this host would install now (those waiting for the alpha still count).
	if r.o.Mode == ModeCheck && len(r.pending)-r.policyHeld()+len(r.unpacked)+r.drop.pendingCount() > 0 {
		return cli.SilentExit(cli.ExitPending)
	}
	return nil
}

// failStatus is the exit status of a failed run: cli.ExitHealth when a hotfix failed its health
// check, else cli.ExitFailure.
func (r *agentRun) failStatus() int {
	if r.healthFailed != nil {
		return cli.ExitHealth
	}
	return cli.ExitFailure
}

// summary says what the run did, for the mail subject and syslog: "3 hotfixes installed".
func (r *agentRun) summary() string {
	var parts []string
	if w := r.withdrawnLine(); w != "" {
		parts = append(parts, w)
	}
	if w := r.restart.What(); w != "" {
		parts = append(parts, w)
	}
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, hoststate.CountOf(n, "hotfix", "hotfixes")+" "+what)
		}
	}
	if r.checkOnly {
		add(len(r.pending)+r.drop.pendingCount(), "available")
		add(len(r.unpacked), "unpacked, not applied")
	}
	add(len(r.recovered), "recovered")
	add(len(r.download), "downloaded")
	add(len(r.installed), "installed")
	add(len(r.finalized), "finalized")
	add(len(r.rolledBack), "rolled back (withdrawn by the vendor)")
	if r.dropped != nil {
		parts = append(parts, "withdrawn "+r.dropped.String()+" not applied")
	}
	if n := len(r.waiting); n > 0 && !r.checkOnly {
		parts = append(parts, fmt.Sprintf("%d waiting for the alpha", n))
	}
	add(len(r.held), "held back")
	if d := r.drop; d != nil {
		if n := len(d.refused); n > 0 {
			parts = append(parts, hoststate.CountOf(n, "dropped file", "dropped files")+" refused")
		}
		if d.stale {
			parts = append(parts, "drop folder: a file waits for its partner for more than a day")
		}
	}
	if r.outside != "" && !r.checkOnly && r.o.Mode == ModeCron {
		parts = append(parts, "nothing installed (outside INSTALL_WINDOW)")
	}
	return strings.Join(parts, ", ")
}

// closedText says how long the product was closed: "closed for 12.3 s (PRE_HOOK to
// POST_HOOK)".
func (r *agentRun) closedText() string {
	return fmt.Sprintf("closed for %.1f s (PRE_HOOK to POST_HOOK)", r.closed.Seconds())
}

// reportable: a nightly run is quiet unless it did something or something went wrong.
func (r *agentRun) reportable() bool {
	return r.failed || len(r.recovered) > 0 || len(r.installed) > 0 || len(r.download) > 0 || len(r.finalized) > 0 ||
		len(r.waiting) > 0 || len(r.withdrawnApplied) > 0 || len(r.rolledBack) > 0 || r.dropped != nil || r.checkOnly && len(r.pending)+len(r.unpacked)+r.drop.pendingCount() > 0 ||
		r.outside != "" && !r.checkOnly || r.heldForever() || r.restart != nil || r.drop.busy()
}

// heldForever: a hotfix is held back with no date on which it becomes due (no publish
// time is known): it waits until someone acts, so the nightly run reports it. What the
// vendor's rollout policy holds back waits for the vendor, and is not reported every night.
func (r *agentRun) heldForever() bool {
	return slices.ContainsFunc(r.held, func(h heldBack) bool { return h.Due.IsZero() && !h.Policy })
}

// deliver sends a nightly run's report to MAILTO, or prints it for crond to mail.
func (r *agentRun) deliver(ctx context.Context) error {
	cfg := r.cfg
	var status error
	if r.failed {
		status = cli.SilentExit(r.failStatus()) // the report tells the story
	} else if len(r.withdrawnApplied) > 0 {
		status = cli.SilentExit(cli.ExitWithdrawn)
	}
	if !r.reportable() {
		return status
	}
	subj := r.summary()
	if r.failed {
		subj = r.problems[0]
		if n := len(r.installed); n > 0 {
			subj = hoststate.CountOf(n, "hotfix", "hotfixes") + " installed; " + subj
		}
	}
	subject := mailer.Subject(cfg.Product, cfg.SystemName, subj, r.failed)
	body := r.body()
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
		if r.failed {
			fmt.Fprintf(r.o.Stderr, "hotchain: %v\n", err)
			return status
		}
		return cli.ExitError{Code: cli.ExitNotMailed, Err: cli.WithHint(err, "check MAILTO, MAILFROM and SMTP_SERVER in "+cfg.File+"; the report was printed instead")}
	}
	return status
}

// body is the nightly report's text: a heading, what failed, what was done, and what dnf,
// the hooks and the install scripts printed, separated by blank lines.
func (r *agentRun) body() string {
	cfg := r.cfg
	sections := []string{fmt.Sprintf("%s hotfix run on %s (%s), %s\n", cfg.Product, cfg.Hostname, cfg.HostRole, r.o.Now().Format("2006-01-02 15:04:05 -0700"))}
	if len(r.problems) > 0 {
		var b strings.Builder
		b.WriteString("FAILED:\n")
		for _, p := range r.problems {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
		sections = append(sections, b.String())
	}
	var b strings.Builder
	r.writeOutcome(&b)
	sections = append(sections, b.String())
	if r.checkOnly && len(r.pending) > 0 {
		b.Reset()
		r.writeCheck(&b)
		sections = append(sections, b.String())
	}
	if r.output != nil {
		if out := r.output.String(); out != "" {
			if !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			sections = append(sections, "Output:\n"+out)
		}
	}
	var kept []string
	for _, s := range sections {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, "\n")
}

// writeOutcome lists what the run did and what waits.
func (r *agentRun) writeOutcome(w io.Writer) {
	for _, line := range r.recovered {
		fmt.Fprintf(w, "Recovered: %s\n", line)
	}
	if len(r.installed) > 0 {
		fmt.Fprintf(w, "Installed: %s\n", joinVersions(r.installed))
	}
	if r.wasClosed {
		fmt.Fprintf(w, "The product was %s.\n", r.closedText())
	}
	if len(r.download) > 0 && r.o.Mode == ModeCron {
		fmt.Fprintf(w, "Downloaded, not installed: %s\n", strings.Join(r.download, " "))
	}
	if len(r.waiting) > 0 && !r.checkOnly {
		fmt.Fprintf(w, "Waiting for the alpha host (%s holds up to %s): %s\n", hotfix.InstallationLedger, r.allowedUpTo(), joinVersions(r.waiting))
	}
	if len(r.finalized) > 0 {
		fmt.Fprintf(w, "Finalized: %s\n", joinVersions(r.finalized))
	}
	if r.finWait != "" {
		fmt.Fprintf(w, "Not finalized yet: %s\n", r.finWait)
	}
	if !r.checkOnly {
		if r.outside != "" && r.o.Mode == ModeCron {
			fmt.Fprintf(w, "Nothing installed: %s\n", r.outside)
		}
		writeHeld(w, r.held)
		r.writePolicyNotes(w)
	}
	r.writeDrop(w)
}

// writeDrop lists what the run did with DROP_DIR and what waits there.
func (r *agentRun) writeDrop(w io.Writer) {
	d := r.drop
	if d == nil {
		return
	}
	for _, l := range []struct {
		head  string
		lines []string
	}{
		{"Taken (moved to " + filepath.Join(d.dir, drop.Done) + "/)", d.taken},
		{"Refused (moved to " + filepath.Join(d.dir, drop.Refused) + "/, with a .reason file)", d.refused},
		{"Left for the next run", d.left},
		{"Complete, taken by the next install run", d.ready},
		{"Waiting", d.waiting},
	} {
		if len(l.lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "Drop folder %s: %s:\n", d.dir, l.head)
		for _, line := range l.lines {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

// allowedUpTo names the newest version a secondary may install, for the waiting line.
func (r *agentRun) allowedUpTo() string {
	inst, err := r.host.Ledger().Read(hotfix.InstallationLedger)
	if v, ok := hotfix.Newest(inst); err == nil && ok {
		return v.String()
	}
	return "nothing yet"
}

// writeCheck prints the pending hotfixes the way the original cron script did.
func (r *agentRun) writeCheck(w io.Writer) {
	defer r.writePlans(w)
	if len(r.unpacked) > 0 {
		fmt.Fprintf(w, "Unpacked, not applied: %s (the next run applies them; hotchain agent -console does now)\n", joinVersions(r.unpacked))
	}
	if len(r.pending) == 0 {
		if len(r.unpacked) == 0 {
			r.writeNone(w)
		}
		writeHeld(w, r.held)
		r.writePolicyNotes(w)
		return
	}
	writeCheckTable(w, r.cfg.Product, r.cfg.SystemName, r.pending)
	if len(r.waiting) > 0 {
		fmt.Fprintf(w, "Waiting for the alpha host: %s\n", joinVersions(r.waiting))
	}
	writeHeld(w, r.held)
	r.writePolicyNotes(w)
}

func (r *agentRun) writeNone(w io.Writer) {
	fmt.Fprintf(w, "No new %s hotfixes available for host: %s.\n", r.cfg.Product, r.cfg.SystemName)
}

// writeCheckTable is the -check listing: a title, a rule, the column heads, a rule, a line
// per package, in the original's column widths.
func writeCheckTable(w io.Writer, product, host string, pkgs []dnf.Package) {
	rule := strings.Repeat("=", 78)
	fmt.Fprintf(w, "New %s hotfixes available for host: %s:\n%s\n", product, host, rule)
	fmt.Fprintf(w, "%-40s%-12s%-12s%s\n%s\n", "Package", "Arch", "Version", "Repository", rule)
	for _, p := range pkgs {
		fmt.Fprintf(w, "%-39s %-11s %-11s %s\n", p.Name, p.Arch, p.Version, p.Repo)
	}
}

func (r *agentRun) lastRun() *hoststate.LastRun {
	l := &hoststate.LastRun{Time: r.o.Now().UTC().Truncate(time.Second), Mode: string(r.o.Mode), Outcome: "success",
		Summary: r.summary(), Recovered: r.recovered, Installed: hoststate.VersionStrings(r.installed), Pending: []string{},
		Waiting: hoststate.VersionStrings(r.waiting), Finalized: hoststate.VersionStrings(r.finalized), Held: heldRecords(r.held),
		Withdrawn: heldRecords(r.withdrawnApplied), MetadataIssued: r.metadataIssued()}
	if len(r.rolledBack) > 0 {
		l.RolledBack = hoststate.VersionStrings(r.rolledBack)
	}
	for _, p := range r.pending {
		l.Pending = append(l.Pending, p.Hotfix.String())
	}
	if r.failed {
		l.Outcome, l.Error = "failure", strings.Join(r.problems, "\n")
	}
	return l
}
