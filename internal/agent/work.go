package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent/hostpolicy"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// What an agent run does under its locks: ask the repository, download or install, check
// the result against the ledger, and on the alpha finalize what every secondary has.

// agentRun is one run under its locks, and what it found and did.
type agentRun struct {
	o       *Options
	cfg     *sysconfig.Config
	environ []string // o.environ plus the LOCK_TS token when the run holds it
	host    *applier.Host
	out     io.Writer     // the console, or the report's output section
	output  *LockedBuffer // cron runs: what dnf, hooks and scripts printed

	recovered []string // what recover finished or undid, one line each (recover.go)
	hist      *hoststate.HistorySink

	failed      bool     // the check, the download or the install failed
	problems    []string // what went wrong, one sentence each
	pending     []dnf.Package
	unpacked    []hotfix.Version // installed, unpacked and not applied, before the install
	applyErr    error            // why the apply of applyFailed failed
	applyFailed hotfix.Version
	// healthFailed is the hotfix that failed its health check and was rolled back.
	healthFailed hotfix.Version
	waiting      []hotfix.Version // pending, waiting for the alpha (secondary)
	target       hotfix.Version   // what the install asked for
	download     []string         // package names downloaded
	installed    []hotfix.Version // applied by this run
	wasClosed    bool             // PRE_HOOK ran: the product was closed
	closed       time.Duration    // how long: PRE_HOOK to the end of POST_HOOK
	unpackFailed bool             // the dnf install failed
	finalized    []hotfix.Version
	finWait      string      // on the alpha: which finalize waits for which hosts
	checkOnly    bool        // the run only checked (-check, CHECK_ONLY)
	hint         string      // the next step for the first failure that has one
	plans        []checkPlan // -check -v: what each pending hotfix's apply would do

	// held is what the rollout policy (decide.go), the waiting period or the install
	// window (hold.go) holds back;
	// outside says that the install window was closed, and when it opens.
	held    []heldBack
	outside string

	policy           *hostpolicy.Policy        // the vendor's rollout policy (internal/agent/hostpolicy)
	metaState        *hostpolicy.MetadataState // the newest metadata this host accepted
	overrides        []string                  // what -console installs against the policy
	withdrawnApplied []heldBack                // applied here, withdrawn by the vendor
	rolledBack       []hotfix.Version
	dropped          hotfix.Version          // withdrawn, unpacked and never applied: removed from rpm
	restart          *hoststate.RestartState // what must still restart (restart.go); nil: nothing
	drop             *dropResult             // what the run did with DROP_DIR (drop_take.go); nil: not looked at
}

// LockedBuffer collects the output of commands that write from several goroutines.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newAgentRun(o *Options, environ []string) *agentRun {
	r := &agentRun{o: o, cfg: o.Config, environ: environ, out: o.Stdout}
	if o.Mode == ModeCron {
		r.output = &LockedBuffer{}
		r.out = r.output
	}
	r.host = &applier.Host{Cfg: o.Config, Out: r.out, Environ: environ}
	return r
}

func (r *agentRun) fail(format string, args ...any) {
	r.failed = true
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
	// The first hint of an error among args (dnf's command line, say) tells the console
	// user what to do next.
	for _, a := range args {
		var h interface{ Hint() string }
		if err, ok := a.(error); ok && errors.As(err, &h) && r.hint == "" {
			r.hint = h.Hint()
		}
	}
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
	env := append(slices.Clip(r.environ), hotfix.DoPatchVar(r.cfg.Product)+"=0")
	return r.o.NewPM(r.cfg, PMIO{Env: env, Stdout: r.out, Stderr: errOut})
}

// work runs the mode's steps; failures end up in r.problems.
func (r *agentRun) work(ctx context.Context) {
	pm, err := r.openPM()
	if err != nil {
		r.fail("%v", err)
		return
	}
	mode := r.o.Mode
	if mode == ModeCron && r.cfg.CheckOnly {
		mode = ModeCheck
	} else if mode == ModeCron && r.cfg.DownloadOnly {
		mode = ModeDownload
	}
	r.checkOnly = mode == ModeCheck
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
		if len(r.pending) > 0 {
			newest := r.pending[len(r.pending)-1].Name
			if err := pm.Download(ctx, newest); err != nil {
				r.fail("download %s: %v", newest, err)
				return
			}
			for _, p := range r.pending {
				r.download = append(r.download, p.Name)
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
	offered, err := pm.Available(ctx, r.cfg.Product)
	if err != nil {
		r.fail("check the repository: %v", err)
		return false
	}
	applied, err := r.host.Applied()
	if err != nil {
		r.fail("%v", err)
		return false
	}
	// Only the chain of the product version installed here: a repository (or a mirror of
	// several) may offer other chains too, whose %pre would refuse them.
	pv, err := r.host.ProductVersion(ctx)
	if err != nil {
		r.fail("%v", err)
		return false
	}
	var versions []hotfix.Version
	var other []string
	for _, p := range offered {
		switch {
		case !p.Hotfix.Base().Equal(pv):
			other = append(other, p.Hotfix.String())
		case !slices.ContainsFunc(applied, p.Hotfix.Equal):
			r.pending = append(r.pending, p)
			versions = append(versions, p.Hotfix)
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(r.out, "==> not for this host: %s (the product here is %s %s)\n", strings.Join(other, " "), r.cfg.Product, pv)
	}
	_, r.waiting, err = r.host.SplitPending(versions)
	if err != nil {
		r.fail("%v", err)
		return false
	}
	r.decide(applied)
	if err := r.metaState.Remember(r.cfg, r.policy); err != nil {
		r.fail("%v", err)
		return false
	}
	if r.unpacked, err = r.unpackedInstalled(ctx, pm); err != nil {
		r.fail("%v", err)
		return false
	}
	return true
}

// unpackedInstalled is the hotfixes of the product's chain that the rpm database holds and
// that lie unpacked, never applied (applier.Host.Unpacked): installed with the apply
// deferred by a run that did not get to apply them, or by a %post that could not.
func (r *agentRun) unpackedInstalled(ctx context.Context, pm PackageManager) ([]hotfix.Version, error) {
	vs, err := r.host.Unpacked()
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	installed, err := pm.Installed(ctx, r.cfg.Product)
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
	for _, p := range r.pending[:len(r.pending)-len(r.waiting)] {
		if slices.ContainsFunc(r.held, func(h heldBack) bool { return h.Version.Equal(p.Hotfix) }) {
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
	if len(now) == 0 && len(r.unpacked) == 0 && !r.rollsBack() {
		return
	}
	if !r.windowOpen(append(slices.Clone(r.unpacked), now...)) {
		return
	}
	if ctx.Err() != nil {
		r.fail("stopped before the install: %v", ctx.Err())
		return
	}
	ictx := context.WithoutCancel(ctx)
	before, err := r.host.Applied()
	if err != nil {
		r.fail("%v", err)
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
	case r.dropped != nil:
		r.removeUnapplied(ictx, pm, r.dropped, true)
	case r.applyFailed != nil:
		r.removeUnapplied(ictx, pm, r.applyFailed, false)
	case r.healthFailed != nil:
		r.removeUnapplied(ictx, pm, r.healthFailed, true)
	}
	r.verify(ictx, pm, before, now, !r.unpackFailed)
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
	name := hotfix.PackageName(r.cfg.Product, r.target)
	fmt.Fprintf(r.out, "==> installing %s (%s), the apply deferred\n", name, joinVersions(now))
	started := time.Now()
	err := pm.Install(ctx, name)
	r.hist.Record(history.Event{Event: history.Install, Version: r.target.String(), Detail: name}, started, err)
	if err != nil {
		r.unpackFailed = true
		if r.wasClosed {
			r.fail("install %s: %v (nothing was applied)", name, err)
			return false
		}
		r.fail("install %s: %v (nothing was applied; the product was not closed)", name, err)
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
		r.fail("%v", err)
		return nil
	}
	return vs
}
