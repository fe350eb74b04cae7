package report

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/mailer"
	"github.com/hotchain/hotchain/repo/dnf"
)

// LogLine is the run's line for syslog: what it did, or why it failed, and how long the
// product was closed.
func (r *Outcome) LogLine() string {
	line := r.Summary()
	if line == "" {
		line = "nothing to do"
	}
	if r.Failed {
		line = "FAILED: " + strings.Join(r.Problems, "; ")
	}
	if r.WasClosed {
		line += "; " + r.closedText()
	}
	return line
}

// Subject is the nightly report's mail subject: what the run did, or its first problem.
func (r *Outcome) Subject() string {
	subj := r.Summary()
	if r.Failed {
		subj = r.Problems[0]
		if n := len(r.Installed); n > 0 {
			subj = hoststate.CountOf(n, "hotfix", "hotfixes") + " installed; " + subj
		}
	}
	return mailer.Subject(r.Cfg.Product, r.Cfg.SystemName, subj, r.Failed)
}

// WriteConsole is what a run that is not a nightly one prints at its end, by its mode.
func (r *Outcome) WriteConsole(w io.Writer) {
	switch r.Mode {
	case ModeCheck:
		if !r.Failed {
			r.writeCheck(w)
			r.writeDrop(w)
		}
	case ModeDownload:
		if !r.Failed && len(r.Download) == 0 {
			r.writeNone(w)
		}
		if len(r.Download) > 0 {
			fmt.Fprintf(w, "Downloaded into the package manager's cache, not installed: %s\n", strings.Join(r.Download, " "))
		}
		r.writeDrop(w)
	case ModeConsole:
		if !r.Failed && len(r.Pending) == 0 && len(r.Installed) == 0 {
			r.writeNone(w)
		}
		r.writeOutcome(w)
	}
}

// FailStatus is the exit status of a failed run: cli.ExitHealth when a hotfix failed its health
// check, else cli.ExitFailure.
func (r *Outcome) FailStatus() int {
	if r.HealthFailed != nil {
		return cli.ExitHealth
	}
	return cli.ExitFailure
}

// Summary says what the run did, for the mail subject and syslog: "3 hotfixes installed".
func (r *Outcome) Summary() string {
	var parts []string
	if w := r.withdrawnLine(); w != "" {
		parts = append(parts, w)
	}
	if w := r.Restart.What(); w != "" {
		parts = append(parts, w)
	}
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, hoststate.CountOf(n, "hotfix", "hotfixes")+" "+what)
		}
	}
	if r.CheckOnly {
		add(len(r.Pending)+r.Drop.PendingCount(), "available")
		add(len(r.Unpacked), "unpacked, not applied")
	}
	add(len(r.Recovered), "recovered")
	add(len(r.Download), "downloaded")
	add(len(r.Installed), "installed")
	add(len(r.Finalized), "finalized")
	add(len(r.RolledBack), "rolled back (withdrawn by the vendor)")
	if r.Dropped != nil {
		parts = append(parts, "withdrawn "+r.Dropped.String()+" not applied")
	}
	if n := len(r.Waiting); n > 0 && !r.CheckOnly {
		parts = append(parts, fmt.Sprintf("%d waiting for the alpha", n))
	}
	add(len(r.Held), "held back")
	if d := r.Drop; d != nil {
		if n := len(d.Refused); n > 0 {
			parts = append(parts, hoststate.CountOf(n, "dropped file", "dropped files")+" refused")
		}
		if d.Stale {
			parts = append(parts, "drop folder: a file waits for its partner for more than a day")
		}
	}
	if r.Outside != "" && !r.CheckOnly && r.Mode == ModeCron {
		parts = append(parts, "nothing installed (outside INSTALL_WINDOW)")
	}
	return strings.Join(parts, ", ")
}

// closedText says how long the product was closed: "closed for 12.3 s (PRE_HOOK to
// POST_HOOK)".
func (r *Outcome) closedText() string {
	return fmt.Sprintf("closed for %.1f s (PRE_HOOK to POST_HOOK)", r.Closed.Seconds())
}

// reportable: a nightly run is quiet unless it did something or something went wrong.
func (r *Outcome) Reportable() bool {
	return r.Failed || len(r.Recovered) > 0 || len(r.Installed) > 0 || len(r.Download) > 0 || len(r.Finalized) > 0 ||
		len(r.Waiting) > 0 || len(r.WithdrawnApplied) > 0 || len(r.RolledBack) > 0 || r.Dropped != nil || r.CheckOnly && len(r.Pending)+len(r.Unpacked)+r.Drop.PendingCount() > 0 ||
		r.Outside != "" && !r.CheckOnly || r.heldForever() || r.Restart != nil || r.Drop.Busy()
}

// heldForever: a hotfix is held back with no date on which it becomes due (no publish
// time is known): it waits until someone acts, so the nightly run reports it. What the
// vendor's rollout policy holds back waits for the vendor, and is not reported every night.
func (r *Outcome) heldForever() bool {
	return slices.ContainsFunc(r.Held, func(h Held) bool { return h.Due.IsZero() && !h.Policy })
}

// Body is the nightly report's text: a heading, what failed, what was done, and what dnf,
// the hooks and the install scripts printed, separated by blank lines.
func (r *Outcome) Body() string {
	cfg := r.Cfg
	sections := []string{fmt.Sprintf("%s hotfix run on %s (%s), %s\n", cfg.Product, cfg.Hostname, cfg.HostRole, r.Now().Format("2006-01-02 15:04:05 -0700"))}
	if len(r.Problems) > 0 {
		var b strings.Builder
		b.WriteString("FAILED:\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
		sections = append(sections, b.String())
	}
	var b strings.Builder
	r.writeOutcome(&b)
	sections = append(sections, b.String())
	if r.CheckOnly && len(r.Pending) > 0 {
		b.Reset()
		r.writeCheck(&b)
		sections = append(sections, b.String())
	}
	if r.Output != nil {
		if out := r.Output.String(); out != "" {
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
func (r *Outcome) writeOutcome(w io.Writer) {
	for _, line := range r.Recovered {
		fmt.Fprintf(w, "Recovered: %s\n", line)
	}
	if len(r.Installed) > 0 {
		fmt.Fprintf(w, "Installed: %s\n", JoinVersions(r.Installed))
	}
	if r.WasClosed {
		fmt.Fprintf(w, "The product was %s.\n", r.closedText())
	}
	if len(r.Download) > 0 && r.Mode == ModeCron {
		fmt.Fprintf(w, "Downloaded, not installed: %s\n", strings.Join(r.Download, " "))
	}
	if len(r.Waiting) > 0 && !r.CheckOnly {
		fmt.Fprintf(w, "Waiting for the alpha host (%s holds up to %s): %s\n", hotfix.InstallationLedger, r.allowedUpTo(), JoinVersions(r.Waiting))
	}
	if len(r.Finalized) > 0 {
		fmt.Fprintf(w, "Finalized: %s\n", JoinVersions(r.Finalized))
	}
	if r.FinWait != "" {
		fmt.Fprintf(w, "Not finalized yet: %s\n", r.FinWait)
	}
	if !r.CheckOnly {
		if r.Outside != "" && r.Mode == ModeCron {
			fmt.Fprintf(w, "Nothing installed: %s\n", r.Outside)
		}
		writeHeld(w, r.Held)
		r.writePolicyNotes(w)
	}
	r.writeDrop(w)
}

// writeDrop lists what the run did with DROP_DIR and what waits there.
func (r *Outcome) writeDrop(w io.Writer) {
	d := r.Drop
	if d == nil {
		return
	}
	for _, l := range []struct {
		head  string
		lines []string
	}{
		{"Taken (moved to " + filepath.Join(d.Dir, drop.Done) + "/)", d.Taken},
		{"Refused (moved to " + filepath.Join(d.Dir, drop.Refused) + "/, with a .reason file)", d.Refused},
		{"Left for the next run", d.Left},
		{"Complete, taken by the next install run", d.Ready},
		{"Waiting", d.Waiting},
	} {
		if len(l.lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "Drop folder %s: %s:\n", d.Dir, l.head)
		for _, line := range l.lines {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

// allowedUpTo names the newest version a secondary may install, for the waiting line.
func (r *Outcome) allowedUpTo() string {
	if v, ok := r.installationVersion(); ok {
		return v
	}
	return "nothing yet"
}

// installationVersion is the newest hotfix of the installation's ledger (the alpha's
// version.txt); false when it cannot be read or names none.
func (r *Outcome) installationVersion() (string, bool) {
	inst, err := r.Host.Ledger().Read(hotfix.InstallationLedger)
	if err != nil {
		return "", false
	}
	v, ok := hotfix.Newest(inst)
	if !ok {
		return "", false
	}
	return v.String(), true
}

// writeCheck prints the pending hotfixes the way the original cron script did.
func (r *Outcome) writeCheck(w io.Writer) {
	defer r.writePlans(w)
	if len(r.Unpacked) > 0 {
		fmt.Fprintf(w, "Unpacked, not applied: %s (the next run applies them; hotchain agent -console does now)\n", JoinVersions(r.Unpacked))
	}
	if len(r.Pending) == 0 {
		if len(r.Unpacked) == 0 {
			r.writeNone(w)
		}
		writeHeld(w, r.Held)
		r.writePolicyNotes(w)
		return
	}
	writeCheckTable(w, r.Cfg.Product, r.Cfg.SystemName, r.Pending)
	if len(r.Waiting) > 0 {
		fmt.Fprintf(w, "Waiting for the alpha host: %s\n", JoinVersions(r.Waiting))
	}
	writeHeld(w, r.Held)
	r.writePolicyNotes(w)
}

func (r *Outcome) writeNone(w io.Writer) {
	fmt.Fprintf(w, "No new %s hotfixes available for host: %s.\n", r.Cfg.Product, r.Cfg.SystemName)
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

// writeHeld lists the held-back hotfixes, one line each, with when they become due (in the
// zone of the window that opens then, or of the run's clock).
func writeHeld(w io.Writer, held []Held) {
	for _, h := range held {
		due := "; no date known"
		switch {
		case h.Policy:
			due = ""
		case !h.Due.IsZero():
			due = "; due " + hoststate.FormatTime(h.Due, h.Due.Location())
		}
		fmt.Fprintf(w, "Held back: %s (%s%s)\n", h.Version, h.Reason, due)
	}
}

// writePolicyNotes lists what -console installed against the policy, the withdrawn
// hotfixes this host has, and what the run rolled back or removed for a withdrawal.
func (r *Outcome) writePolicyNotes(w io.Writer) {
	for _, o := range r.Overrides {
		fmt.Fprintf(w, "Overridden: %s\n", o)
	}
	for _, h := range r.WithdrawnApplied {
		fmt.Fprintf(w, "WITHDRAWN: %s is applied on this host, but the vendor withdrew it: %s (AUTO_ROLLBACK=withdrawn rolls it back; hotchain rollback does now)\n", h.Version, h.Reason)
	}
	if r.Dropped != nil {
		fmt.Fprintf(w, "Not applied (withdrawn by the vendor), removed from the rpm database with the hotfixes after it: %s\n", r.Dropped)
	}
	if len(r.RolledBack) > 0 {
		fmt.Fprintf(w, "Rolled back (withdrawn by the vendor): %s\n", JoinVersions(r.RolledBack))
	}
}

// withdrawnLine is the summary's word on withdrawn hotfixes this host still has.
func (r *Outcome) withdrawnLine() string {
	if len(r.WithdrawnApplied) == 0 {
		return ""
	}
	var vs []string
	for _, h := range r.WithdrawnApplied {
		vs = append(vs, h.Version.String())
	}
	return fmt.Sprintf("WITHDRAWN hotfix %s applied (%s)", strings.Join(vs, " "), r.WithdrawnApplied[0].Reason)
}

// writePlans prints what planPending found, after the -check listing.
func (r *Outcome) writePlans(w io.Writer) {
	for _, c := range r.Plans {
		fmt.Fprintln(w)
		if c.Plan != nil {
			c.Plan.WriteText(w)
			continue
		}
		name := ""
		if c.Pkg != "" {
			name = " (" + c.Pkg + ")"
		}
		fmt.Fprintf(w, "hotfix %s%s: %s\n", c.Version, name, c.None)
	}
}
