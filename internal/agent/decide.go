package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/hostpolicy"
	"github.com/hotchain/hotchain/internal/agent/report"
	"github.com/hotchain/hotchain/internal/rollout"
	"github.com/hotchain/hotchain/sysconfig"
)

// The agent's rollout decisions: which pending hotfixes the vendor's policy holds back
// (withdrawn, halted, not in this host's share), which applied ones it withdrew, and the
// rollback of those with AUTO_ROLLBACK=withdrawn. A chain stops at the first hotfix held
// back: the ones after it build on it.

// readPolicy fetches and checks the policy before the repository is asked; a policy that
// is refused fails the run, which then installs nothing.
func (r *agentRun) readPolicy(ctx context.Context) bool {
	if r.o.bundle != nil {
		// An import: the signed bundle is the vendor's word; no repository to ask.
		r.Policy = &hostpolicy.Policy{Note: "no rollout policy: the hotfixes come from bundle " + r.o.bundle.path}
		return true
	}
	hp, st, err := hostpolicy.Load(ctx, r.Cfg, r.o.Now())
	if err != nil {
		r.Fail("%v", err)
		return false
	}
	r.Policy, r.metaState = hp, st
	if hp.Policy == nil && r.o.Mode == ModeCheck && r.o.Verbose && hp.Note != "" {
		fmt.Fprintln(r.o.Stdout, hp.Note)
	}
	return true
}

// decide holds back pending hotfixes by the policy and finds applied ones it withdrew.
// -console overrides a share and a halt, never a withdrawal; CANARY=yes hosts ignore the
// share. A secondary follows the alpha (it installs only what the installation's
// version.txt holds) and ignores share and halt, so that the installation does not fall
// apart; a withdrawal holds it back too.
func (r *agentRun) decide(applied []hotfix.Version) {
	p := r.Policy
	if p == nil || p.Policy == nil {
		return
	}
	for _, v := range applied {
		if e := p.Entry(v); e != nil && e.Withdrawn != "" {
			r.WithdrawnApplied = append(r.WithdrawnApplied, report.Held{Version: v, Reason: e.Withdrawn})
		}
	}
	console := r.o.Mode == ModeConsole
	secondary := r.Cfg.HostRole == sysconfig.RoleSecondary
	id := hostpolicy.MachineID(r.Cfg)
	var stop hotfix.Version
	if r.rollsBack() {
		// The chain goes back to before the withdrawn hotfix: nothing after it installs.
		stop = r.WithdrawnApplied[0].Version
	}
	for _, pk := range r.Pending {
		v := pk.Hotfix
		if stop != nil {
			r.Held = append(r.Held, report.Held{Version: v, Reason: fmt.Sprintf("follows %s, which is held back", stop), Policy: true})
			continue
		}
		e := p.Entry(v)
		reason := ""
		switch {
		case e == nil:
		case e.Withdrawn != "":
			reason = "withdrawn by the vendor: " + e.Withdrawn
		case e.Halted && console:
			r.Overrides = append(r.Overrides, fmt.Sprintf("%s is halted by the vendor; -console installs it anyway", v))
		case secondary:
		case e.Halted:
			reason = "halted by the vendor"
		case e.Share >= 100 || r.Cfg.Canary:
		case console:
			if !rollout.InShare(v, id, e.Share) {
				r.Overrides = append(r.Overrides, fmt.Sprintf("%s is rolled out to %d%% of hosts, not yet this one; -console installs it anyway", v, e.Share))
			}
		case !rollout.InShare(v, id, e.Share):
			reason = fmt.Sprintf("phased rollout: the vendor lets %d%% of hosts install it so far, not yet this one", e.Share)
		}
		if reason != "" {
			r.Held = append(r.Held, report.Held{Version: v, Reason: reason, Policy: true})
			stop = v
		}
	}
}

// withdrawn reports the reason when the policy withdrew v.
func (r *agentRun) withdrawn(v hotfix.Version) (string, bool) {
	if r.Policy == nil || r.Policy.Policy == nil {
		return "", false
	}
	if e := r.Policy.Entry(v); e != nil && e.Withdrawn != "" {
		return e.Withdrawn, true
	}
	return "", false
}

// rollsBack reports whether this run rolls back withdrawn hotfixes.
func (r *agentRun) rollsBack() bool {
	return len(r.WithdrawnApplied) > 0 && r.Cfg.AutoRollback == sysconfig.AutoRollbackWithdrawn &&
		(r.o.Mode == ModeCron || r.o.Mode == ModeConsole) && !r.CheckOnly
}

// rollbackWithdrawn rolls back the oldest withdrawn hotfix that is applied and every one
// applied after it, newest first, then removes their packages from the rpm database with
// the rollback off (the package manager's environment has <PRODUCT>_DO_PATCH=0): the
// applies are undone already.
func (r *agentRun) rollbackWithdrawn(ctx context.Context, pm PackageManager) bool {
	first := r.WithdrawnApplied[0].Version
	applied, err := r.Host.Applied()
	if err != nil {
		r.Fail("%v", err)
		return false
	}
	var undo []hotfix.Version
	for _, v := range applied {
		if v.Compare(first) >= 0 {
			undo = append(undo, v)
		}
	}
	slices.SortFunc(undo, func(a, b hotfix.Version) int { return b.Compare(a) })
	fmt.Fprintf(r.out, "==> AUTO_ROLLBACK=withdrawn: rolling back %s (%s withdrawn by the vendor: %s)\n", report.JoinVersions(undo), first, r.WithdrawnApplied[0].Reason)
	for _, v := range undo {
		if err := r.Host.Rollback(ctx, v, r.out); err != nil {
			r.Fail("roll back %s (withdrawn by the vendor, AUTO_ROLLBACK=withdrawn): %v", v, err)
			return false
		}
		r.RolledBack = append(r.RolledBack, v)
	}
	installed, err := pm.Installed(ctx, r.Cfg.Product)
	if err != nil {
		r.Fail("read the rpm database: %v", err)
		return false
	}
	var names []string
	for _, p := range installed {
		if p.Hotfix.Compare(first) >= 0 {
			names = append(names, p.Name)
		}
	}
	if len(names) > 0 {
		fmt.Fprintf(r.out, "==> removing %s from the rpm database (rolled back)\n", strings.Join(names, " "))
		if err := pm.Remove(ctx, names...); err != nil {
			r.Fail("remove %s, which were rolled back: %v", strings.Join(names, " "), err)
			return false
		}
	}
	r.WithdrawnApplied = nil
	return true
}
