package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/fileops"
)

// What an agent run does with DROP_DIR, under its locks (LOCK_CRON, LOCK_TS): each complete
// pair, in chain order, is verified and installed as `hotchain apply TARBALL` installs it,
// with the agent's hooks, health gate and report, then moved to done/; a pair that cannot
// be installed goes to refused/ with a .reason file. A pair that is not complete, or that
// fails for a reason that is not its own (the disk is full, PRE_HOOK failed), stays.

// dropResult is what a run did with the drop folder, for its report.
type dropResult struct {
	dir     string   // DROP_DIR as the settings name it
	taken   []string // "NAME: 6.14.2.3 applied", moved to done/
	refused []string // "NAME: why", moved to refused/
	waiting []string // "NAME: waits for NAME.sig": left alone, not a problem (yet)
	left    []string // "NAME: why": complete, left for the next run
	ready   []string // -check: complete pairs an install run would take now
	pending int      // -check: how many of ready would install something
	stale   bool     // a file waits for its partner for more than dropStale
	// next is how long until a file that is still settling may be complete (the daemon
	// looks again then); 0: nothing is settling.
	next time.Duration
}

// busy reports whether the run has something to say about the folder.
func (d *dropResult) busy() bool {
	return d != nil && (len(d.taken) > 0 || len(d.refused) > 0 || len(d.left) > 0 || d.stale)
}

// pendingCount is how many complete pairs an install run would install from (-check).
func (d *dropResult) pendingCount() int {
	if d == nil {
		return 0
	}
	return d.pending
}

// takeDrop processes DROP_DIR: the cron run and -console after the repository, -daemon when
// a pair is complete.
func (r *agentRun) takeDrop(ctx context.Context) {
	cfg := r.cfg
	if cfg.DropDir == "" {
		return
	}
	d := &dropResult{dir: cfg.DropDir}
	r.drop = d
	if r.applyFailed != nil || r.healthFailed != nil || r.unpackFailed {
		d.left = append(d.left, "(all): not looked at: the install from the repository failed, and the chain stops there")
		return
	}
	dir := cfg.InRoot(cfg.DropDir)
	df, err := openDropDir(dir)
	if err != nil {
		r.fail("drop folder: %v", withHint(err, "create DROP_DIR (mkdir "+cfg.DropDir+") or set DROP_DIR= in "+cfg.File))
		return
	}
	defer df.close()
	pairs, err := r.settledPairs(ctx, dir)
	if err != nil {
		r.fail("drop folder: %v", err)
		return
	}
	windowChecked, keyRead := false, false
	for i, p := range pairs {
		if ctx.Err() != nil {
			break
		}
		if p.why != "" {
			d.waiting = append(d.waiting, p.archive+": "+p.why)
			d.stale = d.stale || p.stale
			continue
		}
		if p.bad != "" {
			r.refuseDrop(df, p.dropPair, p.bad, "")
			continue
		}
		if before := pairs[:i]; p.version != nil && slices.ContainsFunc(before, func(q settledPair) bool {
			// Not complete yet, or a bundle, which is imported after this run.
			return (q.why != "" || q.kind == dropBundle) && q.version != nil && q.version.Base().Equal(p.version.Base()) && q.version.Compare(p.version) < 0
		}) {
			d.waiting = append(d.waiting, p.archive+": waits for the hotfixes before it in the folder to be complete")
			continue
		}
		if !windowChecked {
			windowChecked = true
			var vs []hotfix.Version
			if p.version != nil {
				vs = append(vs, p.version)
			}
			r.windowOpen(vs)
		}
		if r.outside != "" && r.o.mode != modeConsole {
			d.waiting = append(d.waiting, p.archive+": "+r.outside)
			continue
		}
		if p.kind == dropBundle {
			// Imported after this run released its locks (drop_bundle.go); the import
			// checks the chain and the alpha itself.
			if r.o.dropBundles != nil {
				*r.o.dropBundles = append(*r.o.dropBundles, p.archive)
			}
			continue
		}
		if _, waiting, err := r.host.SplitPending([]hotfix.Version{p.version}); err == nil && len(waiting) > 0 {
			d.waiting = append(d.waiting, p.archive+": waits for the alpha host to apply "+p.version.String()+" first")
			continue
		}
		if !keyRead {
			// Without the key no pair is the pair's fault: none is taken or refused.
			keyRead = true
			if _, err := readTarballKey(cfg.InRoot(cfg.TarballKey)); err != nil {
				r.fail("drop folder %s not taken: %v", cfg.DropDir, err)
				return
			}
		}
		if !r.takeTarball(ctx, df, p.dropPair) {
			break // the chain stopped: an apply failed
		}
	}
}

// listDrop is what -check, -download and CHECK_ONLY/DOWNLOAD_ONLY runs show of DROP_DIR:
// the complete pairs an install run would take (a tarball of a hotfix not applied yet, a
// bundle) and what waits. It reads only: no lock, no settle wait, nothing moved.
func (r *agentRun) listDrop() {
	cfg := r.cfg
	if cfg.DropDir == "" {
		return
	}
	d := &dropResult{dir: cfg.DropDir}
	r.drop = d
	dir := cfg.InRoot(cfg.DropDir)
	pairs, err := scanDrop(dir, cfg.Product)
	if err != nil {
		r.fail("drop folder: %v", withHint(err, "create DROP_DIR (mkdir "+cfg.DropDir+") or set DROP_DIR= in "+cfg.File))
		return
	}
	applied, err := r.host.Applied()
	if err != nil {
		r.fail("%v", err)
		return
	}
	now := time.Now()
	for _, p := range pairs {
		why, stale, _ := pairState(dir, p, now)
		switch {
		case why != "":
			d.waiting = append(d.waiting, p.archive+": "+why)
			d.stale = d.stale || stale
		case p.bad != "":
			d.ready = append(d.ready, p.archive+": to be refused: "+p.bad)
		case p.kind == dropTarball && slices.ContainsFunc(applied, p.version.Equal):
			d.ready = append(d.ready, p.archive+": "+p.version.String()+" is applied already")
		default:
			d.ready = append(d.ready, p.archive)
			d.pending++
		}
	}
}

// settledPair is a pair of the scan and, when it cannot be taken now, why.
type settledPair struct {
	*dropPair
	why   string // "" when complete
	stale bool
	wait  time.Duration
}

// settledPairs scans dir and checks each pair for completeness. When pairs are complete
// but for their settle time, it waits for them once (at most dropSettle), so that a cron
// run started right after a copy still takes it.
func (r *agentRun) settledPairs(ctx context.Context, dir string) ([]settledPair, error) {
	for try := 0; ; try++ {
		pairs, err := scanDrop(dir, r.cfg.Product)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		var out []settledPair
		var wait time.Duration
		for _, p := range pairs {
			sp := settledPair{dropPair: p}
			sp.why, sp.stale, sp.wait = pairState(dir, p, now)
			wait = max(wait, sp.wait)
			out = append(out, sp)
		}
		r.drop.next = wait
		if wait == 0 || try > 0 || r.o.noSettleWait {
			return out, nil
		}
		if err := r.o.sleep(ctx, min(wait, dropSettle)+100*time.Millisecond); err != nil {
			return out, nil
		}
	}
}

// pairState says why the pair p cannot be taken now ("" when it can), whether that has
// lasted more than dropStale, and how long until its files may have settled.
func pairState(dir string, p *dropPair, now time.Time) (why string, stale bool, wait time.Duration) {
	present := slices.DeleteFunc([]*dropFile{p.archiveFile, p.sigFile}, func(f *dropFile) bool { return f == nil })
	for _, f := range present {
		if !f.info.Mode().IsRegular() {
			if p.bad == "" {
				p.bad = fmt.Sprintf("%s is a %s, not a regular file: copy the file itself into the drop folder", f.name, hotfix.KindOf(f.info.Mode()))
			}
			return "", false, 0
		}
	}
	// A name that can never be taken is refused once its files are complete, pair or not.
	if p.bad == "" {
		switch {
		case p.archiveFile == nil:
			return "waits for its archive " + p.archive + " (copy the archive first, then its .sig)", now.Sub(changedAt(p.sigFile)) > dropStale, 0
		case p.sigFile == nil:
			return "waits for its signature " + p.archive + ".sig", now.Sub(changedAt(p.archiveFile)) > dropStale, 0
		}
	}
	for _, f := range present {
		if ok, why, w := settled(dir, f, now, dropSettle); !ok {
			return f.name + " is not complete yet (" + why + ")", false, w
		}
	}
	return "", false, 0
}

// changedAt is when the file last changed (its ctime): when it arrived in the folder, for a
// copy that kept the source's mtime.
func changedAt(f *dropFile) time.Time {
	if st, ok := f.info.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix())
	}
	return f.info.ModTime()
}

// takeTarball verifies, unpacks and applies the complete tarball pair p, and moves it to
// done/ or refused/, or leaves it for the next run. It reports false when the chain stopped
// (an apply failed or its health check rolled it back): no later pair is taken.
func (r *agentRun) takeTarball(ctx context.Context, df *dropDir, p *dropPair) bool {
	cfg := r.cfg
	fmt.Fprintf(r.out, "==> drop folder: taking %s\n", p.archive)
	// The signature is read once into a private copy: the folder's writers cannot swap it
	// for a pipe that would hold the run.
	sigCopy, cleanup, err := privateSigCopy(df, p.sigFile.name)
	if boundedio.IsTooLarge(err) {
		r.refuseDrop(df, p, err.Error(), "")
		return true
	} else if err != nil {
		r.leaveDrop(p, err)
		return true
	}
	defer cleanup()
	tarball := filepath.Join(df.path, p.archiveFile.name)
	hdir, made, err := fileops.Unpack(cfg.InRoot(cfg.PatchesDir), func() (string, error) {
		return unpackVerifiedSig(cfg, tarball, sigCopy, cfg.InRoot(cfg.PatchesDir))
	})
	if err != nil {
		if dropRetry(err) {
			r.leaveDrop(p, err)
		} else {
			r.refuseDrop(df, p, replacePath(err.Error(), sigCopy, filepath.Join(cfg.DropDir, p.sigFile.name)), hintOf(err))
		}
		return true
	}
	ictx := context.WithoutCancel(ctx)
	before, err := r.host.Applied()
	if err != nil {
		r.fail("%v", err)
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
	err = r.host.Apply(ictx, hdir, applier.ApplyOptions{Prepare: true, Checked: checked, Unpacked: made})
	var pre *applier.PrereqError
	switch {
	case err == nil:
	case errors.As(err, &pre) && slices.ContainsFunc(before, pre.Version.Equal):
		r.moveDrop(df, p, dropDone, "")
		r.drop.taken = append(r.drop.taken, fmt.Sprintf("%s: %s is applied already; nothing done", p.archive, pre.Version))
		return true
	case dropRetry(err):
		r.leaveDrop(p, err)
		return true
	default:
		r.refuseDrop(df, p, err.Error(), hintOf(err))
		return true
	}
	v := d.Version
	var applyErr error
	prior, priorClosed := r.installed, r.closed
	r.closedWindow(ictx, before, func() {
		applyErr = r.host.Apply(ictx, hdir, applier.ApplyOptions{Checked: checked})
	})
	r.installed, r.closed = append(slices.Clip(prior), r.installed...), r.closed+priorClosed
	applied, _ := r.host.Applied()
	var he *script.HealthError
	switch {
	case applyErr == nil && slices.ContainsFunc(applied, v.Equal):
		r.moveDrop(df, p, dropDone, "")
		r.drop.taken = append(r.drop.taken, fmt.Sprintf("%s: %s applied", p.archive, v))
		return true
	case applyErr == nil:
		// PRE_HOOK failed (closedWindow reported it): nothing was applied, the hotfix
		// stays prepared and the pair stays for the next run.
		r.drop.left = append(r.drop.left, p.archive+": not applied, PRE_HOOK failed; the next run takes it")
		return false
	case errors.As(applyErr, &he):
		r.healthFailed = v
		if he.Output != "" {
			fmt.Fprintf(r.out, "==> the check printed:\n%s", he.Output)
		}
		r.refuseDrop(df, p, applyErr.Error()+" (rolled back)", "fix what the check found, then copy the tarball and its .sig from refused/ back into the drop folder")
		return false
	default:
		r.applyErr, r.applyFailed = applyErr, v
		dir := filepath.Join(cfg.PatchesDir, filepath.Base(hdir))
		r.refuseDrop(df, p, "its apply failed: "+applyErr.Error(),
			fmt.Sprintf("see the install log in %s; then finish it with hotchain apply %s or undo it with hotchain rollback %s", dir, dir, v))
		return false
	}
}

// dropRetry reports whether err is the host's trouble, not the dropped file's: a full or
// read-only disk, an I/O error, no memory or descriptors, a stopped run. The pair stays.
func dropRetry(err error) bool {
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EIO, syscall.ENOMEM, syscall.EMFILE, syscall.ENFILE, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func hintOf(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// dropReasonText is what refused/NAME.reason says: what was wrong and what to do.
func dropReasonText(host, archive, reason, hint string) string {
	return fmt.Sprintf("%s was refused by hotchain agent on %s at %s:\n%s\nhint: %s\n",
		archive, host, time.Now().UTC().Format(time.RFC3339), reason, hint)
}

// replacePath names the dropped file instead of its private copy in a message.
func replacePath(msg, private, shown string) string { return strings.ReplaceAll(msg, private, shown) }

// leaveDrop leaves the pair in the folder for the next run and fails this one.
func (r *agentRun) leaveDrop(p *dropPair, err error) {
	r.drop.left = append(r.drop.left, p.archive+": "+err.Error()+" (left in the drop folder for the next run)")
	r.fail("drop folder: %s not taken: %v (the next run tries again)", p.archive, err)
}

// refuseDrop moves the pair to refused/ with the reason beside it, and fails the run.
func (r *agentRun) refuseDrop(df *dropDir, p *dropPair, reason, hint string) {
	if hint == "" {
		hint = "get the archive and its .sig again from the vendor and copy them into the drop folder, the archive first"
	}
	where := r.moveDrop(df, p, dropRefused, dropReasonText(r.cfg.Hostname, p.archive, reason, hint))
	line := p.archive + ": " + reason
	if where != "" {
		line += " (moved to " + where + ")"
	}
	r.drop.refused = append(r.drop.refused, line)
	fmt.Fprintf(r.out, "==> drop folder: refused %s: %s\n", p.archive, reason)
	r.fail("drop folder: refused %s: %s", p.archive, reason)
	if r.hint == "" {
		r.hint = hint
	}
}

// moveDrop moves the pair's files into sub (done or refused), and the reason beside them
// when there is one; it returns where they went, as the settings name DROP_DIR.
func (r *agentRun) moveDrop(df *dropDir, p *dropPair, sub, reason string) string {
	base, err := df.move(sub, p, reason)
	if err != nil {
		r.fail("drop folder: move %s to %s/: %v", p.archive, sub, err)
		return ""
	}
	return filepath.Join(r.cfg.DropDir, sub, base)
}
