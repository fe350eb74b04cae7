package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/repo/dnf"
)

// Recovery without an admin (applier.Host.Recover): what a crash or a power loss interrupted is
// finished or undone by every agent run that takes LOCK_TS, before it checks or installs, and
// by `hotchain recover`, which the base RPM's boot unit and init script run. Both go through
// agentRun.recover, so the rpm database ends agreeing with the ledger the same way.

// stepHook is the agent's applier.Host.StepHook: nil, but in the test binary's crash test,
// which kills the agent at a chosen durable step (agent_crash_test.go).
var stepHook func(step string)

// recover finishes or undoes the interrupted applies and rollbacks of this host, under the
// LOCK_TS the caller holds. Each one gets a line in syslog and in r.recovered, which the
// report and the console show. A hotfix that ends rolled back leaves the rpm database (with
// the rollback off), and so do the hotfixes after it that are installed and unpacked, as when
// a run's own apply fails its check; one that ends unpacked stays installed, and the agent run
// applies it. A failure stops the run before it checks: Apply refuses other hotfixes while one
// is interrupted.
func (r *agentRun) recover(ctx context.Context, logLine func(string, bool)) {
	done, err := r.host.Recover(context.WithoutCancel(ctx), r.out)
	var pm packageManager
	for _, d := range done {
		line := d.String()
		r.recovered = append(r.recovered, line)
		logLine("recovered: "+line, d.HealthFailed)
		if d.Outcome != applier.RolledBack {
			continue
		}
		if pm == nil {
			var perr error
			if pm, perr = r.openPM(); perr != nil {
				r.fail("%v", perr)
				return
			}
		}
		installed, ierr := pm.Installed(ctx, r.cfg.Product)
		if ierr != nil {
			r.fail("read the rpm database: %v", ierr)
			return
		}
		inRPM := slices.ContainsFunc(installed, func(p dnf.Package) bool { return p.Hotfix.Equal(d.Version) })
		r.removeUnapplied(context.WithoutCancel(ctx), pm, d.Version, inRPM)
	}
	var he *script.HealthError
	switch {
	case errors.As(err, &he):
		r.healthFailed = he.Version
		r.fail("recovery: %v", err)
		if he.Output != "" {
			fmt.Fprintf(r.out, "==> the check printed:\n%s", he.Output)
		}
	case err != nil:
		r.fail("recovery: %v", err)
	}
}

func runRecover(ctx context.Context, e *env, args []string) error {
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
	ts, err := lock.Acquire(cfg.InRoot(cfg.LockTS), e.getenv(lock.EnvVar))
	if err != nil {
		return lockFailure("a hotfix install or product patch is running", err)
	}
	defer ts.Unlock()
	o := agentOptions{cfg: cfg, mode: modeConsole, verbose: *verbose, stdout: e.stdout, stderr: e.stderr, environ: e.environ}
	o.fillDefaults()
	r := newAgentRun(&o, append(slices.Clip(e.environ), lock.EnvVar+"="+ts.Token()))
	r.host.HeldLock = ts
	r.recover(ctx, func(line string, failed bool) {
		if err := o.syslog(cfg.Product+"-hotfix", line, failed); err != nil && o.verbose {
			e.warnf("%v", err)
		}
	})
	for _, line := range r.recovered {
		fmt.Fprintf(e.stdout, "recovered: %s\n", line)
	}
	if r.failed {
		return exitError{r.failStatus(), withHint(errors.New(strings.Join(r.problems, "\n")), r.hint)}
	}
	if len(r.recovered) == 0 {
		fmt.Fprintln(e.stdout, "nothing to recover")
	}
	return nil
}
