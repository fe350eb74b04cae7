package applier

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/sysconfig"
)

// Finalize runs the -final install scripts of hotfix v (or of every applied hotfix not yet
// finalized, in chain order, when v is nil) on the alpha host, and records each in
// finalized.txt so that it runs once. A finalize that is interrupted runs that hotfix's
// -final scripts again from the first.
func (h *Host) Finalize(ctx context.Context, v hotfix.Version, out io.Writer) (done []hotfix.Version, err error) {
	if out == nil {
		out = h.out()
	}
	if h.Cfg.HostRole != sysconfig.RoleAlpha {
		return nil, hint.With(fmt.Errorf("finalize runs on the alpha host, and this host is %s (HOST_ROLE)", h.Cfg.HostRole),
			"on a single host the -final scripts run at the end of each apply; on a secondary they never run")
	}
	l, err := h.lockTS()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	applied, err := h.Applied()
	if err != nil {
		return nil, err
	}
	finalized, err := h.ledger().Read(hotfix.FinalizedLedger)
	if err != nil {
		return nil, err
	}
	var todo []hotfix.Version
	switch {
	case v != nil && !state.Contains(applied, v):
		return nil, hint.With(fmt.Errorf("hotfix %s is not applied on this host", v), "apply it first: hotchain agent -console, or hotchain apply DIR")
	case v != nil && state.Contains(finalized, v):
		fmt.Fprintf(out, "==> %s: finalized already\n", v)
		return nil, nil
	case v != nil:
		todo = []hotfix.Version{v}
	default:
		for _, a := range applied {
			if !state.Contains(finalized, a) {
				todo = append(todo, a)
			}
		}
	}
	for _, tv := range todo {
		started := time.Now()
		err := h.finalizeOne(ctx, tv, out)
		h.record(EventFinalize, tv, started, "", err)
		if err != nil {
			return done, err
		}
		fmt.Fprintf(out, "==> %s: finalized\n", tv)
		done = append(done, tv)
	}
	return done, nil
}

// finalizeOne runs the -final scripts of hotfix tv and records it in finalized.txt.
func (h *Host) finalizeOne(ctx context.Context, tv hotfix.Version, out io.Writer) error {
	dir, err := h.hotfixDir(tv)
	if err != nil {
		return err
	}
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		return err
	}
	logf, err := h.openLog(d)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s finalize of %s on %s\n", time.Now().UTC().Format(time.RFC3339), tv, h.Cfg.Hostname)
	w := io.MultiWriter(out, logf)
	env, err := h.scripts().Env(d, h.tsToken)
	if err != nil {
		return err
	}
	for _, s := range script.For(h.Cfg.HostRole, script.PhaseFinalize, script.Install(d)) {
		if err := h.scripts().Run(ctx, d, s, env, w); err != nil {
			return err
		}
	}
	return h.ledger().Add(hotfix.FinalizedLedger, tv)
}
