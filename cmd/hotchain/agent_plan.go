package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/dryrun"
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

// checkPlan is one pending hotfix as -check -v shows it: a plan, or why there is none.
type checkPlan struct {
	version hotfix.Version
	pkg     string
	plan    *dryrun.Plan
	none    string // why there is no plan
}

// planPending plans the unpacked hotfixes and lists the others.
func (r *agentRun) planPending(ctx context.Context) {
	var dirs []string
	for _, v := range r.unpacked {
		dirs = append(dirs, r.host.HotfixDir(v))
	}
	plans, err := dryrun.Chain(ctx, r.host, dirs)
	for i, v := range r.unpacked {
		c := checkPlan{version: v}
		switch {
		case i < len(plans):
			c.plan = plans[i]
		case err != nil:
			c.none = fmt.Sprintf("cannot be planned: %v", err)
			err = nil
		default:
			c.none = "not planned: a hotfix before it could not be"
		}
		r.plans = append(r.plans, c)
	}
	for _, p := range r.pending {
		if slices.ContainsFunc(r.unpacked, p.Hotfix.Equal) {
			continue
		}
		c := checkPlan{version: p.Hotfix, pkg: p.Name,
			none: "not unpacked on this host yet, so its files are not known here: hotchain apply -dry-run of the vendor's signed tarball lists them now, this listing once dnf has unpacked it"}
		if slices.ContainsFunc(r.waiting, p.Hotfix.Equal) {
			c.none = "waits for the alpha host; " + c.none
		}
		r.plans = append(r.plans, c)
	}
}

// writePlans prints what planPending found, after the -check listing.
func (r *agentRun) writePlans(w io.Writer) {
	for _, c := range r.plans {
		fmt.Fprintln(w)
		if c.plan != nil {
			c.plan.WriteText(w)
			continue
		}
		name := ""
		if c.pkg != "" {
			name = " (" + c.pkg + ")"
		}
		fmt.Fprintf(w, "hotfix %s%s: %s\n", c.version, name, c.none)
	}
}
