package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/agent/intake"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
)

// What an agent run does with DROP_DIR, under its locks (LOCK_CRON, LOCK_TS): each complete
// pair, in chain order, is verified and installed as `hotchain apply TARBALL` installs it,
// with the agent's hooks, health gate and report, then moved to done/; a pair that cannot
// be installed goes to refused/ with a .reason file. A pair that is not complete, or that
// fails for a reason that is not its own (the disk is full, PRE_HOOK failed), stays.

// takeDrop processes DROP_DIR: the cron run and -console after the repository, -daemon when
// a pair is complete.
func (r *agentRun) takeDrop(ctx context.Context) {
	cfg := r.Cfg
	if cfg.DropDir == "" {
		return
	}
	d := &drop.Result{Dir: cfg.DropDir}
	r.Drop = d
	if r.ApplyFailed != nil || r.HealthFailed != nil || r.UnpackFailed {
		d.Left = append(d.Left, "(all): not looked at: the install from the repository failed, and the chain stops there")
		return
	}
	dir := cfg.InRoot(cfg.DropDir)
	df, err := drop.OpenDir(dir)
	if err != nil {
		r.Fail("drop folder: %v", folderHint(err, cfg.DropDir, cfg.File))
		return
	}
	defer df.Close()
	pairs, err := d.SettledPairs(ctx, dir, cfg.Product, !r.o.NoSettleWait, r.o.Sleep)
	if err != nil {
		r.Fail("drop folder: %v", err)
		return
	}
	windowChecked, keyRead := false, false
	refused, more := 0, 0
	defer func() {
		if more > 0 {
			d.Left = append(d.Left, fmt.Sprintf("and %d more to be refused: at most %d are refused a run, the next run goes on", more, drop.MaxRefusals))
		}
		d.CapLists()
	}()
	for i, p := range pairs {
		if ctx.Err() != nil {
			break
		}
		if p.Why != "" {
			d.Waiting = append(d.Waiting, p.Shown()+": "+p.Why)
			d.Stale = d.Stale || p.Stale
			continue
		}
		if p.Bad != "" {
			if refused >= drop.MaxRefusals {
				more++
				continue
			}
			refused++
			r.refuseDrop(df, p.Pair, p.Bad, "")
			continue
		}
		if before := pairs[:i]; p.Version != nil && slices.ContainsFunc(before, func(q drop.SettledPair) bool {
			// Not complete yet, or a bundle, which is imported after this run.
			return (q.Why != "" || q.Kind == drop.Bundle) && q.Version != nil && q.Version.Base().Equal(p.Version.Base()) && q.Version.Compare(p.Version) < 0
		}) {
			d.Waiting = append(d.Waiting, p.Shown()+": waits for the hotfixes before it in the folder to be complete")
			continue
		}
		if !windowChecked {
			windowChecked = true
			var vs []hotfix.Version
			if p.Version != nil {
				vs = append(vs, p.Version)
			}
			r.windowOpen(vs)
		}
		if r.Outside != "" && r.o.Mode != ModeConsole {
			d.Waiting = append(d.Waiting, p.Shown()+": "+r.Outside)
			continue
		}
		if p.Kind == drop.Bundle {
			// Imported after this run released its locks (drop_bundle.go); the import
			// checks the chain and the alpha itself.
			if r.o.DropBundles != nil {
				*r.o.DropBundles = append(*r.o.DropBundles, p.Archive)
			}
			continue
		}
		if _, waiting, err := r.Host.SplitPending([]hotfix.Version{p.Version}); err == nil && len(waiting) > 0 {
			d.Waiting = append(d.Waiting, p.Shown()+": waits for the alpha host to apply "+p.Version.String()+" first")
			continue
		}
		if !keyRead {
			// Without the key no pair is the pair's fault: none is taken or refused.
			keyRead = true
			if _, err := intake.ReadTarballKey(cfg.InRoot(cfg.TarballKey)); err != nil {
				r.Fail("drop folder %s not taken: %v", cfg.DropDir, err)
				return
			}
		}
		if !r.takeTarball(ctx, df, p.Pair) {
			break // the chain stopped: an apply failed
		}
	}
}

// listDrop is what -check, -download and CHECK_ONLY/DOWNLOAD_ONLY runs show of DROP_DIR:
// the complete pairs an install run would take (a tarball of a hotfix not applied yet, a
// bundle) and what waits. It reads only: no lock, no settle wait, nothing moved.
func (r *agentRun) listDrop() {
	cfg := r.Cfg
	if cfg.DropDir == "" {
		return
	}
	d := &drop.Result{Dir: cfg.DropDir}
	r.Drop = d
	dir := cfg.InRoot(cfg.DropDir)
	pairs, err := drop.Scan(dir, cfg.Product)
	if err != nil {
		r.Fail("drop folder: %v", folderHint(err, cfg.DropDir, cfg.File))
		return
	}
	applied, err := r.Host.Applied()
	if err != nil {
		r.Fail("%v", err)
		return
	}
	d.List(dir, pairs, applied, time.Now())
	d.CapLists()
}

// takeTarball verifies, unpacks and applies the complete tarball pair p, and moves it to
// done/ or refused/, or leaves it for the next run. It reports false when the chain stopped
// (an apply failed or its health check rolled it back): no later pair is taken.
func (r *agentRun) takeTarball(ctx context.Context, df *drop.Dir, p *drop.Pair) bool {
	cfg := r.Cfg
	fmt.Fprintf(r.out, "==> drop folder: taking %s\n", p.Shown())
	// The signature is read once into a private copy: the folder's writers cannot swap it
	// for a pipe that would hold the run.
	sigCopy, cleanup, err := drop.PrivateSigCopy(df, p.SigFile.Name)
	if boundedio.IsTooLarge(err) {
		r.refuseDrop(df, p, err.Error(), "")
		return true
	} else if err != nil {
		r.leaveDrop(p, err)
		return true
	}
	defer cleanup()
	// The archive too is opened once, as the scan saw it: never through a symlink a
	// writer of the folder put in its place since, nor a pipe or a device.
	in, err := df.OpenArchive(p.ArchiveFile)
	if err != nil {
		r.leaveDrop(p, err)
		return true
	}
	defer in.Close()
	tarball := filepath.Join(df.Path, p.ArchiveFile.Name)
	hdir, made, err := fileops.Unpack(cfg.InRoot(cfg.PatchesDir), func() (string, error) {
		return intake.UnpackTarballFile(cfg, in, tarball, sigCopy, cfg.InRoot(cfg.PatchesDir))
	})
	if err != nil {
		if drop.Retry(err) {
			r.leaveDrop(p, err)
		} else {
			r.refuseDrop(df, p, replacePath(err.Error(), sigCopy, filepath.Join(cfg.DropDir, p.SigFile.Name)), hint.Of(err))
		}
		return true
	}
	ictx := context.WithoutCancel(ctx)
	before, err := r.Host.Applied()
	if err != nil {
		r.Fail("%v", err)
		return false
	}
	// Product open: the prerequisites, the plan, the space and the backups.
	d, err := hotfix.ReadDir(hdir)
	if err == nil && d.HasFilelist {
		err = d.CheckFilelist()
	}
	var checked *hotfix.Dir
	if err == nil {
		checked = d
	}
	err = r.Host.Apply(ictx, hdir, applier.ApplyOptions{Prepare: true, Checked: checked, Unpacked: made})
	var pre *applier.PrereqError
	switch {
	case err == nil:
	case errors.As(err, &pre) && slices.ContainsFunc(before, pre.Version.Equal):
		r.moveDrop(df, p, drop.Done, "")
		r.Drop.Taken = append(r.Drop.Taken, fmt.Sprintf("%s: %s is applied already; nothing done", p.Shown(), pre.Version))
		return true
	case drop.Retry(err):
		r.leaveDrop(p, err)
		return true
	default:
		r.refuseDrop(df, p, err.Error(), hint.Of(err))
		return true
	}
	v := d.Version
	var applyErr error
	prior, priorClosed := r.Installed, r.Closed
	r.closedWindow(ictx, before, func() {
		applyErr = r.Host.Apply(ictx, hdir, applier.ApplyOptions{Checked: checked})
	})
	r.Installed, r.Closed = append(slices.Clip(prior), r.Installed...), r.Closed+priorClosed
	applied, _ := r.Host.Applied()
	var he *script.HealthError
	switch {
	case applyErr == nil && slices.ContainsFunc(applied, v.Equal):
		r.moveDrop(df, p, drop.Done, "")
		r.Drop.Taken = append(r.Drop.Taken, fmt.Sprintf("%s: %s applied", p.Shown(), v))
		return true
	case applyErr == nil:
		// PRE_HOOK failed (closedWindow reported it): nothing was applied, the hotfix
		// stays prepared and the pair stays for the next run.
		r.Drop.Left = append(r.Drop.Left, p.Shown()+": not applied, PRE_HOOK failed; the next run takes it")
		return false
	case errors.As(applyErr, &he):
		r.HealthFailed = v
		if he.Output != "" {
			fmt.Fprintf(r.out, "==> the check printed:\n%s", he.Output)
		}
		r.refuseDrop(df, p, applyErr.Error()+" (rolled back)", "fix what the check found, then copy the tarball and its .sig from refused/ back into the drop folder")
		return false
	default:
		r.ApplyErr, r.ApplyFailed = applyErr, v
		dir := filepath.Join(cfg.PatchesDir, filepath.Base(hdir))
		r.refuseDrop(df, p, "its apply failed: "+applyErr.Error(),
			fmt.Sprintf("see the install log in %s; then finish it with hotchain apply %s or undo it with hotchain rollback %s", dir, dir, v))
		return false
	}
}

// replacePath names the dropped file instead of its private copy in a message.
func replacePath(msg, private, shown string) string { return strings.ReplaceAll(msg, private, shown) }

// leaveDrop leaves the pair in the folder for the next run and fails this one.
func (r *agentRun) leaveDrop(p *drop.Pair, err error) {
	r.Drop.Left = append(r.Drop.Left, p.Shown()+": "+err.Error()+" (left in the drop folder for the next run)")
	r.Fail("drop folder: %s not taken: %v (the next run tries again)", p.Shown(), err)
}

// refuseDrop moves the pair to refused/ with the reason beside it, and fails the run.
func (r *agentRun) refuseDrop(df *drop.Dir, p *drop.Pair, reason, hint string) {
	if hint == "" {
		hint = "get the archive and its .sig again from the vendor and copy them into the drop folder, the archive first"
	}
	line := p.Shown() + ": " + reason
	if where, ok := r.moveDrop(df, p, drop.Refused, drop.ReasonText(r.Cfg.Hostname, p.Shown(), reason, hint)); ok {
		r.Drop.Refused = append(r.Drop.Refused, line+" (moved to "+where+")")
	} else {
		// Not moved: it is still in the folder, and the report says so.
		r.Drop.Left = append(r.Drop.Left, line+" (refused, but it could not be moved to "+drop.Refused+"/: left in the drop folder)")
	}
	fmt.Fprintf(r.out, "==> drop folder: refused %s: %s\n", p.Shown(), reason)
	r.Fail("drop folder: refused %s: %s", p.Shown(), reason)
	if r.Hint == "" {
		r.Hint = hint
	}
}

// moveDrop moves the pair's files into sub (done or refused), and the reason beside them
// when there is one; it returns where they went, as the settings name DROP_DIR and shown
// for the report ("" when the move failed: the run fails, and ok is false).
func (r *agentRun) moveDrop(df *drop.Dir, p *drop.Pair, sub, reason string) (where string, ok bool) {
	base, err := df.Move(sub, p, reason)
	if err != nil {
		r.Fail("drop folder: move %s to %s/: %s", p.Shown(), sub, hotfix.ShownName(err.Error()))
		return "", false
	}
	return hotfix.ShownName(filepath.Join(r.Cfg.DropDir, sub, base)), true
}

// folderHint is the hint for a drop folder that cannot be read: its own (a symlink), else
// to make it or set DROP_DIR.
func folderHint(err error, dropDir, file string) error {
	if hint.Of(err) != "" {
		return err
	}
	return cli.WithHint(err, "create DROP_DIR (mkdir "+dropDir+") or set DROP_DIR= in "+file)
}
