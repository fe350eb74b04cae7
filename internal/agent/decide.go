package agent

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/hostpolicy"
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
		r.policy = &hostpolicy.Policy{Note: "no rollout policy: the hotfixes come from bundle " + r.o.bundle.path}
		return true
	}
	hp, st, err := hostpolicy.Load(ctx, r.cfg, r.o.Now())
	if err != nil {
		r.fail("%v", err)
		return false
	}
	r.policy, r.metaState = hp, st
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
	p := r.policy
	if p == nil || p.Policy == nil {
		return
	}
	for _, v := range applied {
		if e := p.Entry(v); e != nil && e.Withdrawn != "" {
			r.withdrawnApplied = append(r.withdrawnApplied, heldBack{Version: v, Reason: e.Withdrawn})
		}
	}
	console := r.o.Mode == ModeConsole
	secondary := r.cfg.HostRole == sysconfig.RoleSecondary
	id := hostpolicy.MachineID(r.cfg)
	var stop hotfix.Version
	if r.rollsBack() {
		// The chain goes back to before the withdrawn hotfix: nothing after it installs.
		stop = r.withdrawnApplied[0].Version
	}
	for _, pk := range r.pending {
		v := pk.Hotfix
		if stop != nil {
			r.held = append(r.held, heldBack{Version: v, Reason: fmt.Sprintf("follows %s, which is held back", stop), Policy: true})
			continue
		}
		e := p.Entry(v)
		reason := ""
		switch {
		case e == nil:
		case e.Withdrawn != "":
			reason = "withdrawn by the vendor: " + e.Withdrawn
		case e.Halted && console:
			r.overrides = append(r.overrides, fmt.Sprintf("%s is halted by the vendor; -console installs it anyway", v))
		case secondary:
		case e.Halted:
			reason = "halted by the vendor"
		case e.Share >= 100 || r.cfg.Canary:
		case console:
			if !rollout.InShare(v, id, e.Share) {
				r.overrides = append(r.overrides, fmt.Sprintf("%s is rolled out to %d%% of hosts, not yet this one; -console installs it anyway", v, e.Share))
			}
		case !rollout.InShare(v, id, e.Share):
			reason = fmt.Sprintf("phased rollout: the vendor lets %d%% of hosts install it so far, not yet this one", e.Share)
		}
		if reason != "" {
			r.held = append(r.held, heldBack{Version: v, Reason: reason, Policy: true})
			stop = v
		}
	}
}

// policyHeld is how many pending hotfixes the rollout policy holds back.
func (r *agentRun) policyHeld() int {
	n := 0
	for _, h := range r.held {
		if h.Policy {
			n++
		}
	}
	return n
}

// withdrawn reports the reason when the policy withdrew v.
func (r *agentRun) withdrawn(v hotfix.Version) (string, bool) {
	if r.policy == nil || r.policy.Policy == nil {
		return "", false
	}
	if e := r.policy.Entry(v); e != nil && e.Withdrawn != "" {
		return e.Withdrawn, true
	}
	return "", false
}

// rollsBack reports whether this run rolls back withdrawn hotfixes.
func (r *agentRun) rollsBack() bool {
	return len(r.withdrawnApplied) > 0 && r.cfg.AutoRollback == sysconfig.AutoRollbackWithdrawn &&
		(r.o.Mode == ModeCron || r.o.Mode == ModeConsole) && !r.checkOnly
}

// rollbackWithdrawn rolls back the oldest withdrawn hotfix that is applied and every one
// applied after it, newest first, then removes their packages from the rpm database with
// the rollback off (the package manager's environment has <PRODUCT>_DO_PATCH=0): the
// applies are undone already.
func (r *agentRun) rollbackWithdrawn(ctx context.Context, pm PackageManager) bool {
	first := r.withdrawnApplied[0].Version
	applied, err := r.host.Applied()
	if err != nil {
		r.fail("%v", err)
		return false
	}
	var undo []hotfix.Version
	for _, v := range applied {
		if v.Compare(first) >= 0 {
			undo = append(undo, v)
		}
	}
	slices.SortFunc(undo, func(a, b hotfix.Version) int { return b.Compare(a) })
	fmt.Fprintf(r.out, "==> AUTO_ROLLBACK=withdrawn: rolling back %s (%s withdrawn by the vendor: %s)\n", joinVersions(undo), first, r.withdrawnApplied[0].Reason)
	for _, v := range undo {
		if err := r.host.Rollback(ctx, v, r.out); err != nil {
			r.fail("roll back %s (withdrawn by the vendor, AUTO_ROLLBACK=withdrawn): %v", v, err)
			return false
		}
		r.rolledBack = append(r.rolledBack, v)
	}
	installed, err := pm.Installed(ctx, r.cfg.Product)
	if err != nil {
		r.fail("read the rpm database: %v", err)
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
			r.fail("remove %s, which were rolled back: %v", strings.Join(names, " "), err)
			return false
		}
	}
	r.withdrawnApplied = nil
	return true
}

// writePolicyNotes lists what -console installed against the policy, the withdrawn
// hotfixes this host has, and what the run rolled back or removed for a withdrawal.
func (r *agentRun) writePolicyNotes(w io.Writer) {
	for _, o := range r.overrides {
		fmt.Fprintf(w, "Overridden: %s\n", o)
	}
	for _, h := range r.withdrawnApplied {
		fmt.Fprintf(w, "WITHDRAWN: %s is applied on this host, but the vendor withdrew it: %s (AUTO_ROLLBACK=withdrawn rolls it back; hotchain rollback does now)\n", h.Version, h.Reason)
	}
	if r.dropped != nil {
		fmt.Fprintf(w, "Not applied (withdrawn by the vendor), removed from the rpm database with the hotfixes after it: %s\n", r.dropped)
	}
	if len(r.rolledBack) > 0 {
		fmt.Fprintf(w, "Rolled back (withdrawn by the vendor): %s\n", joinVersions(r.rolledBack))
	}
}

// withdrawnLine is the summary's word on withdrawn hotfixes this host still has.
func (r *agentRun) withdrawnLine() string {
	if len(r.withdrawnApplied) == 0 {
		return ""
	}
	var vs []string
	for _, h := range r.withdrawnApplied {
		vs = append(vs, h.Version.String())
	}
	return fmt.Sprintf("WITHDRAWN hotfix %s applied (%s)", strings.Join(vs, " "), r.withdrawnApplied[0].Reason)
}
