package agent

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent/hostpolicy"
	"github.com/hotchain/hotchain/internal/agent/report"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/repo/dnf"
)

// What an agent run does under its locks: ask the repository, download or install, check
// the result against the ledger, and on the alpha finalize what every secondary has.

// agentRun is one run under its locks: what it works with, and what it found and did
// (report.Outcome, which the end of the run reports).
type agentRun struct {
	report.Outcome
	o       *Options
	environ []string  // o.environ plus the LOCK_TS token when the run holds it
	out     io.Writer // the console, or the report's output section
	hist    *hoststate.HistorySink

	target    hotfix.Version            // what the install asked for
	metaState *hostpolicy.MetadataState // the newest metadata this host accepted
}

func newAgentRun(o *Options, environ []string) *agentRun {
	r := &agentRun{o: o, environ: environ, out: o.Stdout}
	r.Cfg, r.Mode, r.Now = o.Config, o.Mode, o.Now
	if o.Mode == ModeCron {
		r.Output = &report.LockedBuffer{}
		r.out = r.Output
	}
	r.Host = &applier.Host{Cfg: o.Config, Out: r.out, Environ: environ}
	return r
}

// openPM is the run's dnf or yum, its output in the report (cron) or on the
// console. The hotfix RPMs install with the apply deferred: the agent applies each one
// itself after dnf returns (install), outside rpm's transaction and its scriptlet sandbox;
// what it removes it removes without the rollback of %preun.
func (r *agentRun) openPM() (PackageManager, error) {
	errOut := r.out
	if r.o.Mode != ModeCron {
		errOut = r.o.Stderr
	}
	env := append(slices.Clip(r.environ), hotfix.DoPatchVar(r.Cfg.Product)+"=0")
	return r.o.NewPM(r.Cfg, PMIO{Env: env, Stdout: r.out, Stderr: errOut})
}

// work runs the mode's steps; failures end up in r.problems.
func (r *agentRun) work(ctx context.Context) {
	pm, err := r.openPM()
	if err != nil {
		r.Fail("%v", err)
		return
	}
	mode := r.o.Mode
	if mode == ModeCron && r.Cfg.CheckOnly {
		mode = ModeCheck
	} else if mode == ModeCron && r.Cfg.DownloadOnly {
		mode = ModeDownload
	}
	r.CheckOnly = mode == ModeCheck
	if !r.check(ctx, pm) {
		return
	}
	r.holdBack()
	if mode == ModeCheck {
		r.checkWindow()
	}
	switch mode {
	case ModeCheck:
		if r.o.Plans {
			r.planPending(ctx)
		}
	case ModeDownload:
		if len(r.Pending) > 0 {
			newest := r.Pending[len(r.Pending)-1].Name
			if err := pm.Download(ctx, newest); err != nil {
				r.Fail("download %s: %v", newest, err)
				return
			}
			for _, p := range r.Pending {
				r.Download = append(r.Download, p.Name)
			}
		}
	default:
		r.install(ctx, pm)
		r.finalize(ctx)
	}
}

// check asks the repository what is pending: offered, not installed, not applied.
func (r *agentRun) check(ctx context.Context, pm PackageManager) bool {
	if !r.readPolicy(ctx) {
		return false
	}
	offered, err := pm.Available(ctx, r.Cfg.Product)
	if err != nil {
		r.Fail("check the repository: %v", err)
		return false
	}
	applied, err := r.Host.Applied()
	if err != nil {
		r.Fail("%v", err)
		return false
	}
	// Only the chain of the product version installed here: a repository (or a mirror of
	// several) may offer other chains too, whose %pre would refuse them.
	pv, err := r.Host.ProductVersion(ctx)
	if err != nil {
		r.Fail("%v", err)
		return false
	}
	var versions []hotfix.Version
	var other []string
	for _, p := range offered {
		switch {
		case !p.Hotfix.Base().Equal(pv):
			other = append(other, p.Hotfix.String())
		case !slices.ContainsFunc(applied, p.Hotfix.Equal):
			r.Pending = append(r.Pending, p)
			versions = append(versions, p.Hotfix)
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(r.out, "==> not for this host: %s (the product here is %s %s)\n", strings.Join(other, " "), r.Cfg.Product, pv)
	}
	_, r.Waiting, err = r.Host.SplitPending(versions)
	if err != nil {
		r.Fail("%v", err)
		return false
	}
	r.decide(applied)
	if err := r.metaState.Remember(r.Cfg, r.Policy); err != nil {
		r.Fail("%v", err)
		return false
	}
	if r.Unpacked, err = r.unpackedInstalled(ctx, pm); err != nil {
		r.Fail("%v", err)
		return false
	}
	return true
}

// unpackedInstalled is the hotfixes of the product's chain that the rpm database holds and
// that lie unpacked, never applied (applier.Host.Unpacked): installed with the apply
// deferred by a run that did not get to apply them, or by a %post that could not.
func (r *agentRun) unpackedInstalled(ctx context.Context, pm PackageManager) ([]hotfix.Version, error) {
	vs, err := r.Host.Unpacked()
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	installed, err := pm.Installed(ctx, r.Cfg.Product)
	if err != nil {
		return nil, fmt.Errorf("read the rpm database: %w", err)
	}
	var out []hotfix.Version
	for _, v := range vs {
		if slices.ContainsFunc(installed, func(p dnf.Package) bool { return p.Hotfix.Equal(v) }) {
			out = append(out, v)
		}
	}
	return out, nil
}

// installable is the part of the pending chain this host may install now: up to the alpha's
// version on a secondary, up to the first hotfix held back (decide.go, hold.go).
func (r *agentRun) installable() []hotfix.Version {
	var now []hotfix.Version
	for _, p := range r.Pending[:len(r.Pending)-len(r.Waiting)] {
		if slices.ContainsFunc(r.Held, func(h report.Held) bool { return h.Version.Equal(p.Hotfix) }) {
			break
		}
		now = append(now, p.Hotfix)
	}
	return now
}

// install installs the newest installable hotfix, so that dnf brings the chain up to it in
// one transaction, and applies what it unpacked. The product is closed (PRE_HOOK to
// POST_HOOK) only while files are placed and scripts run: dnf (download, signature checks,
// unpacking: the apply is deferred), reading and hashing each hotfix directory, and the
// first hotfix's plan and backups come before PRE_HOOK; in the window each hotfix
// directory is rechecked by lstat and the prepared backups are checked against the product
// (applier.ApplyOptions). The later hotfixes' backups are taken in the window: each must see
// the product as the one before it left it. A failed dnf closes nothing. Once dnf runs the
// install is not interrupted: a SIGTERM ends the run after it (ctx only stops what comes
// before).
func (r *agentRun) install(ctx context.Context, pm PackageManager) {
	now := r.installable()
	if len(now) == 0 && len(r.Unpacked) == 0 && !r.rollsBack() {
		return
	}
	if !r.windowOpen(append(slices.Clone(r.Unpacked), now...)) {
		return
	}
	if ctx.Err() != nil {
		r.Fail("stopped before the install: %v", ctx.Err())
		return
	}
	ictx := context.WithoutCancel(ctx)
	before, err := r.Host.Applied()
	if err != nil {
		r.Fail("%v", err)
		return
	}
	if r.rollsBack() {
		// A withdrawn hotfix is rolled back with the product closed, and the chain comes
		// after it: this run keeps the product closed from the rollback on, dnf included.
		r.closedWindow(ictx, before, func() {
			if r.rollbackWithdrawn(ictx, pm) && r.unpack(ictx, pm, before, now) {
				r.applyChecked(ictx, r.prepare(ictx, r.unpackedNow(ictx, pm)))
			}
		})
	} else {
		if !r.unpack(ictx, pm, before, now) {
			return
		}
		if checked := r.prepare(ictx, r.unpackedNow(ictx, pm)); len(checked) > 0 {
			r.closedWindow(ictx, before, func() { r.applyChecked(ictx, checked) })
		}
	}
	// After POST_HOOK: what the chain stopped at leaves the rpm database, and the rest is
	// checked against the ledger.
	switch {
	case r.Dropped != nil:
		r.removeUnapplied(ictx, pm, r.Dropped, true)
	case r.ApplyFailed != nil:
		r.removeUnapplied(ictx, pm, r.ApplyFailed, false)
	case r.HealthFailed != nil:
		r.removeUnapplied(ictx, pm, r.HealthFailed, true)
	}
	r.verify(ictx, pm, before, now, !r.UnpackFailed)
}

// unpack installs the newest installable hotfix of now with the apply deferred: dnf
// downloads, checks and unpacks the chain up to it in one transaction. It reports whether
// dnf succeeded (or had nothing to do); when it failed, nothing was applied and the rpm
// database has been compared with the ledger.
func (r *agentRun) unpack(ctx context.Context, pm PackageManager, before, now []hotfix.Version) bool {
	if len(now) == 0 {
		return true
	}
	r.target = now[len(now)-1]
	name := hotfix.PackageName(r.Cfg.Product, r.target)
	fmt.Fprintf(r.out, "==> installing %s (%s), the apply deferred\n", name, report.JoinVersions(now))
	started := time.Now()
	err := pm.Install(ctx, name)
	r.hist.Record(history.Event{Event: history.Install, Version: r.target.String(), Detail: name}, started, err)
	if err != nil {
		r.UnpackFailed = true
		if r.WasClosed {
			r.Fail("install %s: %v (nothing was applied)", name, err)
			return false
		}
		r.Fail("install %s: %v (nothing was applied; the product was not closed)", name, err)
		r.verify(ctx, pm, before, now, false)
		return false
	}
	return true
}

// unpackedNow is the hotfixes the rpm database holds unpacked and never applied, after the
// install: what it unpacked and what earlier runs left.
func (r *agentRun) unpackedNow(ctx context.Context, pm PackageManager) []hotfix.Version {
	vs, err := r.unpackedInstalled(ctx, pm)
	if err != nil {
		r.Fail("%v", err)
		return nil
	}
	return vs
}
