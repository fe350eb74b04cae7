// Package agent is the host's agent run: what `hotchain agent` (nightly, -check,
// -download, -console, -daemon), `hotchain import` and `hotchain recover` do once their
// command line is parsed. A run passes its gates (DAYS_OF_WEEK, nightly runs enabled,
// LOCK_SUBSYS, the random wait), takes LOCK_CRON and LOCK_TS, recovers what a crash
// interrupted, reads the vendor's rollout policy, installs the pending chain through dnf or
// yum with the apply deferred, applies each hotfix (applier.Host), checks the result against
// the ledger, takes the drop folder (DROP_DIR), and reports: mail, syslog, NOTIFY_URL and
// NOTIFY_CMD, the records of internal/hoststate. Run, RunOnce, Import, Recover and Daemon
// are its entry points, each with an Options.
//
// It runs on every host: it must not import the vendor side (repo, packaging; only
// repo/dnf and packaging/unpack), which cmd/hotchain's TestImportLayers checks. It parses
// no flags and maps no error to an exit status: its errors carry internal/cli's kinds, and
// cmd/hotchain's exit.go turns them into the process's status.
package agent

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/agent/notify"
	"github.com/hotchain/hotchain/internal/agent/report"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/mailer"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// The agent run (SPEC sections 6 and 6a): the gates of a nightly run (DAYS_OF_WEEK,
// LOCK_SUBSYS, the random wait) and the locks, in the order that keeps a run and a
// `service stop` from ever overlapping. What the run does under the locks is in
// work.go, its end in report.go (what it says: internal/agent/report).

// Mode is what the command line asked the agent for (report.Mode, whose constants these are).
type Mode = report.Mode

const (
	ModeCron     = report.ModeCron     // the bare nightly run: gates, wait, CHECK_ONLY/DOWNLOAD_ONLY, report
	ModeCheck    = report.ModeCheck    // -check: list what is pending
	ModeDownload = report.ModeDownload // -download: fetch what is pending into dnf's cache
	ModeConsole  = report.ModeConsole  // -console: install now, output on the console
)

// PackageManager is what the agent needs of dnf, yum and rpm.
type PackageManager interface {
	Available(ctx context.Context, product string) ([]dnf.Package, error)
	Download(ctx context.Context, names ...string) error
	Install(ctx context.Context, names ...string) error
	Remove(ctx context.Context, names ...string) error
	Installed(ctx context.Context, product string) ([]dnf.Package, error)
}

var _ PackageManager = (*dnf.PackageManager)(nil)

// PMIO is the environment and output that the package manager's commands get.
type PMIO struct {
	Env            []string
	Stdout, Stderr io.Writer
}

// NewPackageManager makes the real client for a host. The test binary replaces it so that
// the agent processes its tests start run with a fake (cmd/hotchain agent_fake_test.go).
var NewPackageManager = func(cfg *sysconfig.Config, p PMIO) (PackageManager, error) {
	pm, err := dnf.Detect(cfg.Root, cfg.PackageManager)
	if err != nil {
		return nil, cli.WithHint(err, "set PACKAGE_MANAGER in "+cfg.File)
	}
	pm.Params, pm.Env, pm.Stdout, pm.Stderr = cfg.YumParameter, p.Env, p.Stdout, p.Stderr
	return pm, nil
}

// Options is one agent run: the settings, the mode, and everything of the outside world
// that tests replace.
type Options struct {
	Config  *sysconfig.Config
	Mode    Mode
	Verbose bool // report syslog errors on stderr
	Plans   bool // -check -v: plan each pending hotfix (planPending)
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string

	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	RandN  func(n int64) int64 // uniform in [0, n)
	NewPM  func(cfg *sysconfig.Config, p PMIO) (PackageManager, error)
	Sender mailer.Sender // nil: mailer.Choose(SMTP_SERVER)
	By     string        // who started the run, for the history: daemon; "" is cron or the console user
	Syslog func(tag, line string, failed bool) error
	BootID func() (string, error) // the running boot's id (hoststate.ReadBootID)

	// Report prints an error as the command line does and gives its exit status
	// (cmd/hotchain's Report): -daemon's runs end in it, as the command's run would.
	Report func(w io.Writer, err error) int

	NotifyLimits notify.Limits // zero: notify.DefaultLimits

	// DropOnly: the run takes DROP_DIR only, not the repository (-daemon, when a pair
	// in it is complete); it skips DAYS_OF_WEEK and the random wait, as an admin's drop is
	// meant now, and keeps LOCK_SUBSYS and INSTALL_WINDOW.
	DropOnly bool
	// NoSettleWait: a file of DROP_DIR that has not settled is left for later, not waited
	// for (the daemon comes back when it has).
	NoSettleWait bool
	// DropBundles, when set, receives the complete bundle pairs of DROP_DIR that the run
	// would take: Run imports them after the run (drop_bundle.go).
	DropBundles *[]string
	// BundleFile, for an import of a dropped bundle, is the bundle as the drop folder
	// opened it (never through a symlink); nil: Import opens its path.
	BundleFile *os.File
	// bundle, when set, makes the run an import (import.go): a console run whose package
	// manager sees only the bundle's local repository, with no rollout policy and no
	// waiting period (the admin chose the bundle).
	bundle *importedBundle
}

func (o *Options) FillDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = cli.SleepCtx
	}
	if o.RandN == nil {
		o.RandN = rand.Int64N
	}
	if o.NewPM == nil {
		o.NewPM = NewPackageManager
	}
	if o.Syslog == nil {
		o.Syslog = mailer.Syslog
	}
	if o.BootID == nil {
		o.BootID = hoststate.ReadBootID
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
}

// sender is the mail transport: the one given, else the one the settings choose.
func (o *Options) mailSender() mailer.Sender {
	if o.Sender != nil {
		return o.Sender
	}
	return mailer.Choose(o.Config.SMTPServer, exec.LookPath)
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

// RunOnce is one agent run in o.mode. The order is SPEC 6a's: a cron run checks the
// day and LOCK_SUBSYS, waits, takes LOCK_CRON, checks LOCK_SUBSYS again, takes LOCK_TS and
// checks it a third time under that lock (which `service stop` takes too), and only then
// asks the repository. -check and -download take LOCK_CRON only: they change nothing.
func RunOnce(ctx context.Context, o Options) (err error) {
	o.FillDefaults()
	cfg := o.Config
	cron := o.Mode == ModeCron
	hist, started, run := o.history(), time.Now(), (*agentRun)(nil)
	hist.Record(history.Event{Event: history.RunStart, Mode: string(o.Mode)}, time.Time{}, nil)
	defer func() { e, ferr := runOutcome(run, err); e.Mode = string(o.Mode); hist.Record(e, started, ferr) }()
	logLine := func(line string, failed bool) {
		if err := o.Syslog(cfg.Product+"-hotfix", line, failed); err != nil && o.Verbose {
			fmt.Fprintf(o.Stderr, "hotchain: warning: %v\n", err)
		}
	}
	disabled := "nothing to do: nightly runs are disabled (" + cfg.LockSubsys + " is missing; hotchain service start enables them)"
	// A drop is meant now: the daemon's drop runs skip the day and the random wait.
	if cron && !o.DropOnly {
		day := o.Now().Weekday()
		if !strings.ContainsRune(cfg.DaysOfWeek, rune('0'+int(day))) {
			logLine(fmt.Sprintf("nothing to do: %s (%d) is not in DAYS_OF_WEEK=%s", day, day, cfg.DaysOfWeek), false)
			return nil
		}
		if !hoststate.NightlyEnabled(cfg) {
			logLine(disabled, false)
			return nil
		}
		if d := randomWait(cfg.RandomWait, o.RandN); d > 0 {
			if err := o.Sleep(ctx, d); err != nil {
				logLine("stopped during the random wait", false)
				return fmt.Errorf("stopped during the random wait of %s: %w", d, err)
			}
		}
	}
	cronLock := lock.New(cfg.InRoot(cfg.LockCron))
	if err := cronLock.TryLock(); err != nil {
		logLine("not run: "+err.Error(), lock.IsHeld(err))
		return LockFailure("another agent run is active", err)
	}
	defer cronLock.Unlock()
	if cron && !hoststate.NightlyEnabled(cfg) {
		logLine(disabled, false)
		return nil
	}
	environ := o.Environ
	var ts *lock.Lock
	if o.Mode == ModeCron || o.Mode == ModeConsole {
		var err error
		ts, err = lock.Acquire(cfg.InRoot(cfg.LockTS), cli.LookupEnv(o.Environ, lock.EnvVar))
		if err != nil {
			logLine("not run: "+err.Error(), lock.IsHeld(err))
			return LockFailure("a hotfix install or product patch is running", err)
		}
		defer ts.Unlock()
		if cron && !hoststate.NightlyEnabled(cfg) {
			logLine(disabled, false)
			return nil
		}
		// dnf runs the RPMs' %post `hotchain apply`, which must work under this lock.
		environ = append(slices.Clip(o.Environ), lock.EnvVar+"="+ts.Token())
	}
	r := newAgentRun(&o, environ)
	run, r.hist = r, hist
	r.Host.History = hist.HotfixEvent
	// The applies the agent makes itself give the lock's file to their install scripts.
	r.Host.HeldLock = ts
	r.Host.StepHook = StepHook
	if o.Mode == ModeCron || o.Mode == ModeConsole {
		// Under LOCK_TS, before anything is checked: finish or undo what a crash interrupted.
		r.recover(ctx, logLine)
	}
	if !r.Failed {
		switch {
		case o.DropOnly:
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
	return r.Cfg.DropDir != "" && !cli.FileExists(r.Cfg.InRoot(r.Cfg.RepoFile))
}

// installs reports whether the run installs (-console, a nightly run without CHECK_ONLY and
// DOWNLOAD_ONLY): only such a run takes DROP_DIR.
func (r *agentRun) installs() bool {
	return r.o.Mode == ModeConsole || r.o.Mode == ModeCron && !r.Cfg.CheckOnly && !r.Cfg.DownloadOnly
}

// history is where the run's events go: "by" is cron for a nightly run, the daemon's when
// it runs one, and the console user otherwise. Its times are the clock's, not o.now's (the
// tests' fixed day), so that durations are true.
func (o *Options) history() *hoststate.HistorySink {
	by := o.By
	if by == "" && o.Mode == ModeCron {
		by = "cron"
	}
	return hoststate.NewHistory(o.Config, o.Environ, o.Stderr, by)
}

// LockFailure says why a lock could not be taken: "another run" only when another run holds
// it (exit 3); any other failure (a directory at the lock path, a lock directory that
// cannot be made) is an error of its own (exit 1) and says what it is.
func LockFailure(held string, err error) error {
	if lock.IsHeld(err) {
		return fmt.Errorf("%s: %w", held, err)
	}
	return fmt.Errorf("cannot take the lock: %w", err)
}
