package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// The service switch (what /etc/init.d/PRODUCT-hotfix runs): LOCK_SUBSYS exists while
// nightly runs are enabled. `stop` takes LOCK_TS, which every install holds, before it
// removes the file, so it never returns while an install runs, and a nightly run that slept
// through the stop finds the file gone once it holds LOCK_TS.

func runService(ctx context.Context, e *cli.Env, args []string) error {
	// The init script passes the verb first (`hotchain service stop -config FILE`); the flag
	// package stops at the first word that is not a flag, so take it off before parsing.
	verb := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	fs := newFlags(e, "service", "start|stop|status", `Enables (start) or disables (stop) the nightly hotfix runs, or says which (status). stop
waits for a running install to finish, up to SERVICE_WAIT_TIME seconds when
SERVICE_WAITS=yes, and fails (exit status 1) when it is still running then, leaving nightly
runs enabled.

service status follows the LSB init-script convention, as the init script that calls it
must: exit status 0 when nightly runs are enabled, 3 when they are disabled.`)
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if verb == "" && fs.NArg() == 1 {
		verb = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return cli.UsageError{Err: fmt.Errorf("service takes one of start, stop, status; got %q", fs.Args())}
	}
	switch verb {
	case "start", "stop", "status":
	case "":
		return cli.WithHint(cli.UsageError{Err: errors.New("service needs start, stop or status")}, "hotchain service status")
	default:
		return cli.WithHint(cli.UsageError{Err: fmt.Errorf("unknown service action %q", verb)}, "hotchain service start|stop|status")
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	hist, started := hoststate.NewHistory(cfg, e.Environ, e.Stderr, ""), time.Now()
	switch verb {
	case "start":
		err := startNightly(e.Stdout, cfg)
		hist.Record(history.Event{Event: history.ServiceStart}, started, err)
		return err
	case "stop":
		ts, err := stopNightly(ctx, e, cfg)
		hist.Record(history.Event{Event: history.ServiceStop}, started, err)
		if err != nil {
			return err
		}
		return ts.Unlock()
	}
	if hoststate.NightlyEnabled(cfg) {
		fmt.Fprintf(e.Stdout, "Nightly update of %s hotfixes is enabled.\n", cfg.Product)
		return nil
	}
	fmt.Fprintf(e.Stdout, "Nightly update of %s hotfixes is disabled.\n", cfg.Product)
	return cli.SilentExit(cli.LsbDisabled)
}

// initLine prints an init script's status line: the text, then [  OK  ] or [FAILED] at
// column 60.
func initLine(w io.Writer, text string, ok bool) {
	status := "[  OK  ]"
	if !ok {
		status = "[FAILED]"
	}
	fmt.Fprintf(w, "%-59s%s\n", text, status)
}

// startNightly creates LOCK_SUBSYS, and the directories above it as the lock package does.
func startNightly(w io.Writer, cfg *sysconfig.Config) error {
	text := "Enabling nightly " + cfg.Product + " hotfix update:"
	p := cfg.InRoot(cfg.LockSubsys)
	err := lock.MakeParents(p)
	if err == nil {
		var f *os.File
		if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			err = f.Close()
		}
	}
	initLine(w, text, err == nil)
	if err != nil {
		return fmt.Errorf("enable nightly runs: %w", err)
	}
	return nil
}

// stopNightly takes LOCK_TS (waiting as SERVICE_WAITS and SERVICE_WAIT_TIME say) and, holding
// it, removes LOCK_SUBSYS. It returns the lock still held: `service stop` releases it at once,
// `hold` keeps it while its command runs.
func stopNightly(ctx context.Context, e *cli.Env, cfg *sysconfig.Config) (*lock.Lock, error) {
	text := "Disabling nightly " + cfg.Product + " hotfix update:"
	ts, err := takeInstallLock(ctx, e, cfg)
	if err == nil {
		err = os.Remove(cfg.InRoot(cfg.LockSubsys))
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		if err != nil {
			ts.Unlock()
			err = fmt.Errorf("disable nightly runs: %w", err)
		}
	}
	initLine(e.Stdout, text, err == nil)
	if err != nil {
		return nil, err
	}
	return ts, nil
}

// takeInstallLock takes LOCK_TS for stop and hold. Under a `hotchain hold` (the lock's token
// in lock.EnvVar) it works under the holder's lock: a product patch that still runs the old
// `service stop` itself must not wait for the hold around it.
func takeInstallLock(ctx context.Context, e *cli.Env, cfg *sysconfig.Config) (*lock.Lock, error) {
	path := cfg.InRoot(cfg.LockTS)
	ts, err := lock.Acquire(path, e.Getenv(lock.EnvVar))
	if err == nil || !lock.IsHeld(err) {
		return ts, err
	}
	if !cfg.ServiceWaits {
		return nil, cli.WithHint(fmt.Errorf("a hotfix install is running (%v) and SERVICE_WAITS=no: nightly runs stay enabled", err),
			"run this again when the install has finished (hotchain status shows it), or set SERVICE_WAITS=yes in "+cfg.File)
	}
	secs := int(cfg.ServiceWaitTime.Seconds())
	fmt.Fprintf(e.Stderr, "hotchain: a hotfix install is running (%v); waiting up to %d seconds (SERVICE_WAIT_TIME) for it to finish\n", err, secs)
	ts = lock.New(path)
	if err := ts.LockTimeout(ctx, cfg.ServiceWaitTime); err != nil {
		if lock.IsHeld(err) {
			return nil, cli.WithHint(fmt.Errorf("the hotfix install is still running after %d seconds (SERVICE_WAIT_TIME): %v; nightly runs stay enabled", secs, err),
				"wait for it to finish (hotchain status shows it) and run this again, or raise SERVICE_WAIT_TIME in "+cfg.File)
		}
		return nil, err
	}
	return ts, nil
}
