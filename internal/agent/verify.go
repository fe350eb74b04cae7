package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// After the install: the rpm database and the ledger compared (verify, chainProblems),
// the alpha's finalize, and the settings' hook commands.

// verify compares the ledger with the rpm database after an install: dnf exits 0 when a
// %post fails, and a failed %pre does not stop the packages that need it.
func (r *agentRun) verify(ctx context.Context, pm PackageManager, before, wanted []hotfix.Version, dnfOK bool) {
	applied, err := r.Host.Applied()
	if err != nil {
		r.Fail("%v", err)
		return
	}
	r.Installed = newSince(before, applied)
	installed, err := pm.Installed(ctx, r.Cfg.Product)
	if err != nil {
		r.Fail("read the rpm database: %v", err)
		return
	}
	if !dnfOK {
		wanted = nil // dnf said what failed; the missing packages are the same story
	}
	if r.ApplyFailed != nil {
		// The chain stopped at the hotfix that failed: the ones after it were removed.
		wanted = slices.DeleteFunc(slices.Clone(wanted), func(v hotfix.Version) bool { return v.Compare(r.ApplyFailed) > 0 })
	}
	if r.HealthFailed != nil {
		// It was rolled back and removed, with the ones after it.
		wanted = slices.DeleteFunc(slices.Clone(wanted), func(v hotfix.Version) bool { return v.Compare(r.HealthFailed) >= 0 })
	}
	for _, p := range chainProblems(r.Cfg, installed, applied, wanted, r.ApplyFailed, r.ApplyErr) {
		r.Fail("%s", p)
	}
}

// chainProblems lists what the rpm database and the ledger disagree on: hotfixes installed
// but not applied, hotfixes applied before the one they build on, and wanted hotfixes that
// are not installed.
func chainProblems(cfg *sysconfig.Config, installed []dnf.Package, applied, wanted []hotfix.Version, failed hotfix.Version, applyErr error) []string {
	var probs []string
	for _, p := range installed {
		if !slices.ContainsFunc(applied, p.Hotfix.Equal) {
			dir := filepath.Join(cfg.PatchesDir, hotfix.DirName(cfg.Product, p.Hotfix))
			log := filepath.Join(dir, hotfix.DirName(cfg.Product, p.Hotfix)+"-install-"+cfg.Hostname+".log")
			why := "its apply did not run"
			switch {
			case failed != nil && p.Hotfix.Equal(failed):
				why = "its apply failed: " + applyErr.Error()
			case failed != nil && p.Hotfix.Compare(failed) > 0:
				why = fmt.Sprintf("it waits for %s", failed)
			}
			probs = append(probs, fmt.Sprintf("hotfix %s is installed (%s-%s) but not applied: %s; see %s, then run hotchain apply %s", p.Hotfix, p.Name, p.Version, why, log, dir))
		}
	}
	for i, v := range applied {
		if prev, ok := v.Previous(); ok && !slices.ContainsFunc(applied[:i], prev.Equal) {
			probs = append(probs, fmt.Sprintf("hotfix %s is applied out of order: %s is not applied before it (%s)", v, prev, hotfix.HostFile(cfg.Hostname)))
		}
		if slices.ContainsFunc(applied[:i], v.Equal) {
			probs = append(probs, fmt.Sprintf("hotfix %s is applied twice (%s)", v, hotfix.HostFile(cfg.Hostname)))
		}
	}
	for _, v := range wanted {
		if !slices.ContainsFunc(installed, func(p dnf.Package) bool { return p.Hotfix.Equal(v) }) {
			probs = append(probs, fmt.Sprintf("hotfix %s was not installed although the package manager reported success", v))
		}
	}
	return probs
}

// finalize runs, on the alpha, the -final scripts of every hotfix that all of
// SECONDARY_HOSTS have applied; a later run catches up with late secondaries.
func (r *agentRun) finalize(ctx context.Context) {
	if r.Cfg.HostRole != sysconfig.RoleAlpha || ctx.Err() != nil {
		return
	}
	ready, blocked, lacking, err := r.Host.FinalizeReady()
	if err != nil {
		r.Fail("%v", err)
		return
	}
	if blocked != nil {
		r.FinWait = fmt.Sprintf("the final tasks of %s wait for %s", blocked, strings.Join(lacking, ", "))
	}
	for _, v := range ready {
		done, err := r.Host.Finalize(context.WithoutCancel(ctx), v, r.out)
		r.Finalized = append(r.Finalized, done...)
		if err != nil {
			r.Fail("finalize %s: %v", v, err)
			return
		}
	}
}

// hook runs PRE_HOOK or POST_HOOK (runSettingCommand).
func (r *agentRun) hook(ctx context.Context, key, line string, extra []string) error {
	return hoststate.RunSettingCommand(ctx, r.Cfg, r.environ, r.out, key, line, extra)
}

// newSince is what applied holds that before did not: the hotfixes a run applied.
func newSince(before, applied []hotfix.Version) []hotfix.Version {
	var out []hotfix.Version
	for _, v := range applied {
		if !slices.ContainsFunc(before, v.Equal) {
			out = append(out, v)
		}
	}
	return out
}
