package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/mailer"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// The agent run (SPEC sections 6 and 6a): the gates of a nightly run (DAYS_OF_WEEK,
// LOCK_SUBSYS, the random wait) and the locks, in the order that keeps a run and a
// `service stop` from ever overlapping. What the run does under the locks is in
// agent_work.go, its report in report.go.

// agentMode is what the command line asked the agent for.
type agentMode string

const (
	modeCron     agentMode = "cron"     // the bare nightly run: gates, wait, CHECK_ONLY/DOWNLOAD_ONLY, report
	modeCheck    agentMode = "check"    // -check: list what is pending
	modeDownload agentMode = "download" // -download: fetch what is pending into dnf's cache
	modeConsole  agentMode = "console"  // -console: install now, output on the console
)

// packageManager is what the agent needs of dnf, yum and rpm.
type packageManager interface {
	Available(ctx context.Context, product string) ([]dnf.Package, error)
	Download(ctx context.Context, names ...string) error
	Install(ctx context.Context, names ...string) error
	Remove(ctx context.Context, names ...string) error
	Installed(ctx context.Context, product string) ([]dnf.Package, error)
}

var _ packageManager = (*dnf.PackageManager)(nil)

// pmIO is the environment and output that the package manager's commands get.
type pmIO struct {
	env            []string
	stdout, stderr io.Writer
}

// newPackageManager makes the real client for a host. The test binary replaces it so that
// the agent processes its tests start run with a fake (see agent_fake_test.go).
var newPackageManager = func(cfg *sysconfig.Config, p pmIO) (packageManager, error) {
	pm, err := dnf.Detect(cfg.Root, cfg.PackageManager)
	if err != nil {
		return nil, withHint(err, "set PACKAGE_MANAGER in "+cfg.File)
	}
	pm.Params, pm.Env, pm.Stdout, pm.Stderr = cfg.YumParameter, p.env, p.stdout, p.stderr
	return pm, nil
}

// agentOptions is one agent run: the settings, the mode, and everything of the outside world
// that tests replace.
type agentOptions struct {
	cfg     *sysconfig.Config
	mode    agentMode
	verbose bool // report syslog errors on stderr
	plans   bool // -check -v: plan each pending hotfix (checkPlans)
	stdout  io.Writer
	stderr  io.Writer
	environ []string

	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	randN  func(n int64) int64 // uniform in [0, n)
	newPM  func(cfg *sysconfig.Config, p pmIO) (packageManager, error)
	sender mailer.Sender // nil: mailer.Choose(SMTP_SERVER)
	by     string        // who started the run, for the history: daemon; "" is cron or the console user
	syslog func(tag, line string, failed bool) error
	bootID func() (string, error) // the running boot's id (readBootID)

	notifyLimits notifyLimits // zero: defaultNotifyLimits (notify.go)

	// dropOnly: the run takes DROP_DIR only, not the repository (-daemon, when a pair
	// in it is complete); it skips DAYS_OF_WEEK and the random wait, as an admin's drop is
	// meant now, and keeps LOCK_SUBSYS and INSTALL_WINDOW.
	dropOnly bool
	// noSettleWait: a file of DROP_DIR that has not settled is left for later, not waited
	// for (the daemon comes back when it has).
	noSettleWait bool
	// dropBundles, when set, receives the complete bundle pairs of DROP_DIR that the run
	// would take: runAgentWithDrop imports them after the run (drop_bundle.go).
	dropBundles *[]string
	// bundle, when set, makes the run an import (import.go): a console run whose package
	// manager sees only the bundle's local repository, with no rollout policy and no
	// waiting period (the admin chose the bundle).
	bundle *importedBundle
}

func (o *agentOptions) fillDefaults() {
	if o.now == nil {
		o.now = time.Now
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	if o.randN == nil {
		o.randN = rand.Int64N
	}
	if o.newPM == nil {
		o.newPM = newPackageManager
	}
	if o.syslog == nil {
		o.syslog = mailer.Syslog
	}
	if o.bootID == nil {
		o.bootID = readBootID
	}
	if o.stdout == nil {
		o.stdout = io.Discard
	}
	if o.stderr == nil {
		o.stderr = io.Discard
	}
}

// sender is the mail transport: the one given, else the one the settings choose.
func (o *agentOptions) mailSender() mailer.Sender {
	if o.sender != nil {
		return o.sender
	}
	return mailer.Choose(o.cfg.SMTPServer, exec.LookPath)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// randomWait is a nightly run's wait before it starts: uniform over 1..maxMinutes minutes
// (whole seconds), no wait for 0. Spreading hosts over the whole window is the point, so it
// is not capped.
func randomWait(maxMinutes int, randN func(int64) int64) time.Duration {
	if maxMinutes <= 0 {
		return 0
	}
	span := int64(maxMinutes-1)*60 + 1 // seconds in [0, span)
	return time.Minute + time.Duration(randN(span))*time.Second
}

// nightlyEnabled reports whether LOCK_SUBSYS exists: `hotchain service start` creates it.
func nightlyEnabled(cfg *sysconfig.Config) bool {
	return fileExists(cfg.InRoot(cfg.LockSubsys))
}

// runAgentOnce is one agent run in o.mode. The order is SPEC 6a's: a cron run checks the
// day and LOCK_SUBSYS, waits, takes LOCK_CRON, checks LOCK_SUBSYS again, takes LOCK_TS and
// checks it a third time under that lock (which `service stop` takes too), and only then
// asks the repository. -check and -download take LOCK_CRON only: they change nothing.
func runAgentOnce(ctx context.Context, o agentOptions) (err error) {
	o.fillDefaults()
	cfg := o.cfg
	cron := o.mode == modeCron
	hist, started, run := o.history(), time.Now(), (*agentRun)(nil)
	hist.record(history.Event{Event: history.RunStart, Mode: string(o.mode)}, time.Time{}, nil)
	defer func() { e, ferr := runOutcome(run, err); e.Mode = string(o.mode); hist.record(e, started, ferr) }()
	logLine := func(line string, failed bool) {
		if err := o.syslog(cfg.Product+"-hotfix", line, failed); err != nil && o.verbose {
			fmt.Fprintf(o.stderr, "hotchain: warning: %v\n", err)
		}
	}
	disabled := "nothing to do: nightly runs are disabled (" + cfg.LockSubsys + " is missing; hotchain service start enables them)"
	// A drop is meant now: the daemon's drop runs skip the day and the random wait.
	if cron && !o.dropOnly {
		day := o.now().Weekday()
		if !strings.ContainsRune(cfg.DaysOfWeek, rune('0'+int(day))) {
			logLine(fmt.Sprintf("nothing to do: %s (%d) is not in DAYS_OF_WEEK=%s", day, day, cfg.DaysOfWeek), false)
			return nil
		}
		if !nightlyEnabled(cfg) {
			logLine(disabled, false)
			return nil
		}
		if d := randomWait(cfg.RandomWait, o.randN); d > 0 {
			if err := o.sleep(ctx, d); err != nil {
				logLine("stopped during the random wait", false)
				return fmt.Errorf("stopped during the random wait of %s: %w", d, err)
			}
		}
	}
	cronLock := lock.New(cfg.InRoot(cfg.LockCron))
	if err := cronLock.TryLock(); err != nil {
		logLine("not run: "+err.Error(), lock.IsHeld(err))
		return lockFailure("another agent run is active", err)
	}
	defer cronLock.Unlock()
	if cron && !nightlyEnabled(cfg) {
		logLine(disabled, false)
		return nil
	}
	environ := o.environ
	var ts *lock.Lock
	if o.mode == modeCron || o.mode == modeConsole {
		var err error
		ts, err = lock.Acquire(cfg.InRoot(cfg.LockTS), lookupEnv(o.environ, lock.EnvVar))
		if err != nil {
			logLine("not run: "+err.Error(), lock.IsHeld(err))
			return lockFailure("a hotfix install or product patch is running", err)
		}
		defer ts.Unlock()
		if cron && !nightlyEnabled(cfg) {
			logLine(disabled, false)
			return nil
		}
		// dnf runs the RPMs' %post `hotchain apply`, which must work under this lock.
		environ = append(slices.Clip(o.environ), lock.EnvVar+"="+ts.Token())
	}
	r := newAgentRun(&o, environ)
	run, r.hist = r, hist
	r.host.History = hist.hotfixEvent
	// The applies the agent makes itself give the lock's file to their install scripts.
	r.host.HeldLock = ts
	r.host.StepHook = stepHook
	if o.mode == modeCron || o.mode == modeConsole {
		// Under LOCK_TS, before anything is checked: finish or undo what a crash interrupted.
		r.recover(ctx, logLine)
	}
	if !r.failed {
		switch {
		case o.dropOnly:
		case r.repoless():
			fmt.Fprintf(r.out, "==> no repository: %s does not exist; only DROP_DIR %s is taken\n", cfg.RepoFile, cfg.DropDir)
		default:
			r.work(ctx)
		}
		if r.installs() {
			r.takeDrop(ctx) // drop_take.go
		} else {
			r.listDrop()
		}
	}
	return r.finish(ctx, logLine)
}

// repoless: a host fed only through DROP_DIR has no REPO_FILE; its runs skip the
// repository instead of failing on it every night.
func (r *agentRun) repoless() bool {
	return r.cfg.DropDir != "" && !fileExists(r.cfg.InRoot(r.cfg.RepoFile))
}

// installs reports whether the run installs (-console, a nightly run without CHECK_ONLY and
// DOWNLOAD_ONLY): only such a run takes DROP_DIR.
func (r *agentRun) installs() bool {
	return r.o.mode == modeConsole || r.o.mode == modeCron && !r.cfg.CheckOnly && !r.cfg.DownloadOnly
}

// history is where the run's events go: "by" is cron for a nightly run, the daemon's when
// it runs one, and the console user otherwise. Its times are the clock's, not o.now's (the
// tests' fixed day), so that durations are true.
func (o *agentOptions) history() *historySink {
	by := o.by
	if by == "" && o.mode == modeCron {
		by = "cron"
	}
	return newHistory(o.cfg, o.environ, o.stderr, by)
}

// lockFailure says why a lock could not be taken: "another run" only when another run holds
// it (exit 3); any other failure (a directory at the lock path, a lock directory that
// cannot be made) is an error of its own (exit 1) and says what it is.
func lockFailure(held string, err error) error {
	if lock.IsHeld(err) {
		return fmt.Errorf("%s: %w", held, err)
	}
	return fmt.Errorf("cannot take the lock: %w", err)
}
