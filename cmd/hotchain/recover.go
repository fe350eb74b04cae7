package main

import (
	"context"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/lock"
)

// Recovery without an admin (applier.Host.Recover): what a crash or a power loss interrupted is
// finished or undone by every agent run that takes LOCK_TS, before it checks or installs, and
// by `hotchain recover`, which the base RPM's boot unit and init script run. Both go through
// agentRun.recover, so the rpm database ends agreeing with the ledger the same way.

func runRecover(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "recover", "", `Finishes or undoes the hotfix applies and rollbacks of this host that a crash, a kill or a
power loss interrupted, as their journals allow: an interrupted rollback is finished; an
apply that stopped before it touched the product (state backup) is undone, and the hotfix
stays unpacked for the next agent run to apply; an apply that stopped later is finished,
its health check included (a hotfix that fails it is rolled back). A hotfix that ends rolled
back leaves the rpm database, with the hotfixes after it that were not applied. It installs
nothing and applies no hotfix that was not begun. Every agent run does the same first; the
base RPM runs it at boot (PRODUCT-hotfix-recover.service, or the init script's start).`)
	verbose := fs.Bool("verbose", false, "also say on standard error when syslog cannot be written")
	settings := loadSettings(e, fs)
	cfg, err := parseSettingsOnly(fs, args, settings)
	if err != nil {
		return err
	}
	ts, err := lock.Acquire(cfg.InRoot(cfg.LockTS), e.Getenv(lock.EnvVar))
	if err != nil {
		return agent.LockFailure("a hotfix install or product patch is running", err)
	}
	defer ts.Unlock()
	o := agent.Options{Config: cfg, Mode: agent.ModeConsole, Verbose: *verbose, Stdout: e.Stdout, Stderr: e.Stderr, Environ: e.Environ}
	return agent.Recover(ctx, o, ts)
}
