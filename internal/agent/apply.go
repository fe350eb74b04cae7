package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/agent/report"
	"github.com/hotchain/hotchain/internal/history"
)

// The applies of a run that installs: each hotfix checked before the product closes, then
// applied in chain order inside the closed window (PRE_HOOK to POST_HOOK), and what a
// failed apply leaves removed from the rpm database.

// checkedHotfix is an unpacked hotfix read and checked before the product closes.
type checkedHotfix struct {
	v   hotfix.Version
	dir *hotfix.Dir
}

// prepare reads and checks (file list, SHA-256 of every file) each unpacked hotfix of vs,
// in chain order, and prepares the first one's apply (plan and backups), all while the
// product is open. It returns the hotfixes the window applies: those before the first that
// fails, which is then treated as a failed apply (the chain stops there), or before the
// first that the vendor withdrew (it is not applied, and leaves the rpm database with the
// ones after it).
func (r *agentRun) prepare(ctx context.Context, vs []hotfix.Version) []checkedHotfix {
	var out []checkedHotfix
	for i, v := range vs {
		if why, ok := r.withdrawn(v); ok {
			fmt.Fprintf(r.out, "==> not applying %s: withdrawn by the vendor: %s\n", v, why)
			r.Dropped = v
			return out
		}
		path := r.Host.HotfixDir(v)
		d, err := hotfix.ReadDir(path)
		if err == nil && d.HasFilelist {
			err = d.CheckFilelist()
		}
		if err == nil && !d.Version.Equal(v) {
			err = fmt.Errorf("%s holds hotfix %s, not %s", path, d.Version, v)
		}
		if err == nil && i == 0 {
			err = r.Host.Apply(ctx, path, applier.ApplyOptions{Prepare: true, Checked: d})
		}
		if err != nil {
			fmt.Fprintf(r.out, "==> %s: %v\n", v, err)
			r.ApplyErr, r.ApplyFailed = err, v
			return out
		}
		out = append(out, checkedHotfix{v, d})
	}
	return out
}

// closedWindow runs PRE_HOOK, work (unless PRE_HOOK failed) and POST_HOOK, and records how
// long the product was closed.
func (r *agentRun) closedWindow(ctx context.Context, before []hotfix.Version, work func()) {
	start := r.o.Now()
	r.WasClosed = true
	defer func() { r.Closed = r.o.Now().Sub(start) }()
	if err := r.hook(ctx, "PRE_HOOK", r.Cfg.PreHook, nil); err != nil {
		r.Fail("PRE_HOOK failed, nothing was applied: %v", err)
	} else {
		work()
	}
	// The ledger says what was applied; the rpm database is compared after POST_HOOK.
	if applied, err := r.Host.Applied(); err == nil {
		r.Installed = newSince(before, applied)
	}
	r.restartAfterInstall(ctx) // restart.go: before POST_HOOK opens the product again
	outcome := "success"
	if r.Failed || r.ApplyFailed != nil {
		outcome = "failure"
	}
	post := []string{"HOTCHAIN_OUTCOME=" + outcome, "HOTCHAIN_INSTALLED=" + report.JoinVersions(r.Installed)}
	if err := r.hook(ctx, "POST_HOOK", r.Cfg.PostHook, post); err != nil {
		r.Fail("POST_HOOK failed: %v", err)
	}
}

// applyChecked applies, in chain order, the hotfixes that the rpm database holds unpacked
// and never applied: what dnf just installed with the apply deferred, and what an earlier
// run or a sandboxed %post left. It runs under the agent's LOCK_TS (the token is in the
// host's environment), outside rpm's transaction, with the product's real environment. The
// first failure stops the chain: the hotfixes after it stay unpacked, and install removes
// them from the rpm database after POST_HOOK.
func (r *agentRun) applyChecked(ctx context.Context, hs []checkedHotfix) {
	for _, h := range hs {
		v := h.v
		fmt.Fprintf(r.out, "==> applying %s\n", v)
		err := r.Host.Apply(ctx, h.dir.Path, applier.ApplyOptions{Checked: h.dir})
		var he *script.HealthError
		switch {
		case errors.As(err, &he):
			// Apply rolled it back byte-exact. Its package and the ones after it leave
			// the rpm database with the rollback off, so that rpm, ledger and files agree.
			r.HealthFailed = v
			r.Fail("%v", err)
			if he.Output != "" {
				fmt.Fprintf(r.out, "==> the check printed:\n%s", he.Output)
			}
			return
		case err != nil:
			// verify reports it. The hotfixes after it leave the rpm database: the chain
			// stops at the one that failed, as a %pre that refuses them would stop it.
			r.ApplyErr = err
			r.ApplyFailed = v
			return
		}
	}
}

// removeUnapplied erases from the rpm database the hotfixes after v that are installed,
// unpacked and never applied, and v itself when withV (it was rolled back), with their
// %preun told not to roll back (there is nothing left to roll back).
func (r *agentRun) removeUnapplied(ctx context.Context, pm PackageManager, v hotfix.Version, withV bool) {
	vs, err := r.unpackedInstalled(ctx, pm)
	if err != nil {
		r.Fail("%v", err)
		return
	}
	var names []string
	if withV {
		names = append(names, hotfix.PackageName(r.Cfg.Product, v))
	}
	for _, u := range vs {
		if u.Compare(v) > 0 {
			names = append(names, hotfix.PackageName(r.Cfg.Product, u))
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(r.out, "==> removing %s from the rpm database (not applied): the chain stops at %s\n", strings.Join(names, " "), v)
	started := time.Now()
	err = pm.Remove(ctx, names...)
	r.hist.Record(history.Event{Event: history.Remove, Version: v.String(), Detail: strings.Join(names, " ")}, started, err)
	if err != nil {
		r.Fail("remove %s, which were not applied: %v", strings.Join(names, " "), err)
	}
}
