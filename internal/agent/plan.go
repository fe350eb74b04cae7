package agent

import (
	"context"
	"fmt"
	"slices"

	"github.com/hotchain/hotchain/hotfix/dryrun"
	"github.com/hotchain/hotchain/internal/agent/report"
)

// agent -check -v: what the apply of each pending hotfix would do, planned by the applier's
// own dry run (applier.Host.DryRunChain), with nothing written and no process started beyond
// what -check runs.
//
// A hotfix's files are known on this host only once its RPM has unpacked its directory into
// PATCHES_DIR. So the hotfixes that lie unpacked and not applied (a run that stopped after
// dnf, a %post in rpm's sandbox) get the whole listing, in chain order, each planned on the
// files the ones before it place. A hotfix that is only offered by the repository gets its
// package and a line that says where its listing comes from: the vendor's signed tarball
// (apply -dry-run TARBALL) now, or this listing once the hotfix is unpacked. Reading the file
// list out of the RPM in dnf's cache (after agent -download) is left out on purpose: the
// cache's location and layout belong to dnf, and an RPM read there would be one whose
// signature dnf has not checked yet.

// planPending plans the unpacked hotfixes and lists the others.
func (r *agentRun) planPending(ctx context.Context) {
	var dirs []string
	for _, v := range r.Unpacked {
		dirs = append(dirs, r.Host.HotfixDir(v))
	}
	plans, err := dryrun.Chain(ctx, r.Host, dirs)
	for i, v := range r.Unpacked {
		c := report.CheckPlan{Version: v}
		switch {
		case i < len(plans):
			c.Plan = plans[i]
		case err != nil:
			c.None = fmt.Sprintf("cannot be planned: %v", err)
			err = nil
		default:
			c.None = "not planned: a hotfix before it could not be"
		}
		r.Plans = append(r.Plans, c)
	}
	for _, p := range r.Pending {
		if slices.ContainsFunc(r.Unpacked, p.Hotfix.Equal) {
			continue
		}
		c := report.CheckPlan{Version: p.Hotfix, Pkg: p.Name,
			None: "not unpacked on this host yet, so its files are not known here: hotchain apply -dry-run of the vendor's signed tarball lists them now, this listing once dnf has unpacked it"}
		if slices.ContainsFunc(r.Waiting, p.Hotfix.Equal) {
			c.None = "waits for the alpha host; " + c.None
		}
		r.Plans = append(r.Plans, c)
	}
}
