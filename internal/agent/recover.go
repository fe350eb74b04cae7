package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/repo/dnf"
)

// StepHook is the agent's applier.Host.StepHook: nil, but in the test binary's crash test,
// which kills the agent at a chosen durable step (agent_crash_test.go).
var StepHook func(step string)

// recover finishes or undoes the interrupted applies and rollbacks of this host, under the
// LOCK_TS the caller holds. Each one gets a line in syslog and in r.recovered, which the
// report and the console show. A hotfix that ends rolled back leaves the rpm database (with
// the rollback off), and so do the hotfixes after it that are installed and unpacked, as when
// a run's own apply fails its check; one that ends unpacked stays installed, and the agent run
// applies it. A failure stops the run before it checks: Apply refuses other hotfixes while one
// is interrupted.
func (r *agentRun) recover(ctx context.Context, logLine func(string, bool)) {
	done, err := r.Host.Recover(context.WithoutCancel(ctx), r.out)
	var pm PackageManager
	for _, d := range done {
		line := d.String()
		r.Recovered = append(r.Recovered, line)
		logLine("recovered: "+line, d.HealthFailed)
		if d.Outcome != applier.RolledBack {
			continue
		}
		if pm == nil {
			var perr error
			if pm, perr = r.openPM(); perr != nil {
				r.Fail("%v", perr)
				return
			}
		}
		installed, ierr := pm.Installed(ctx, r.Cfg.Product)
		if ierr != nil {
			r.Fail("read the rpm database: %v", ierr)
			return
		}
		inRPM := slices.ContainsFunc(installed, func(p dnf.Package) bool { return p.Hotfix.Equal(d.Version) })
		r.removeUnapplied(context.WithoutCancel(ctx), pm, d.Version, inRPM)
	}
	var he *script.HealthError
	switch {
	case errors.As(err, &he):
		r.HealthFailed = he.Version
		r.Fail("recovery: %v", err)
		if he.Output != "" {
			fmt.Fprintf(r.out, "==> the check printed:\n%s", he.Output)
		}
	case err != nil:
		r.Fail("recovery: %v", err)
	}
}

// Recover is `hotchain recover` under the LOCK_TS ts that the caller took: the
// recovery of an agent run (agentRun.recover), its lines on o.Stdout.
func Recover(ctx context.Context, o Options, ts *lock.Lock) error {
	o.FillDefaults()
	r := newAgentRun(&o, append(slices.Clip(o.Environ), lock.EnvVar+"="+ts.Token()))
	r.Host.HeldLock = ts
	r.recover(ctx, func(line string, failed bool) {
		if err := o.Syslog(o.Config.Product+"-hotfix", line, failed); err != nil && o.Verbose {
			fmt.Fprintf(o.Stderr, "hotchain: warning: %v\n", err)
		}
	})
	for _, line := range r.Recovered {
		fmt.Fprintf(o.Stdout, "recovered: %s\n", line)
	}
	if r.Failed {
		return cli.ExitError{Code: r.FailStatus(), Err: cli.WithHint(errors.New(strings.Join(r.Problems, "\n")), r.Hint)}
	}
	if len(r.Recovered) == 0 {
		fmt.Fprintln(o.Stdout, "nothing to recover")
	}
	return nil
}
