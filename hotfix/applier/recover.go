package applier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/hint"
)

// Recovery without an admin: an apply or rollback that a crash, a kill or a power loss
// interrupted is finished or undone, as far as its journal allows, by Recover. The agent
// calls it at the start of every run that takes LOCK_TS, `hotchain recover` calls it, and the
// base RPM runs that at boot. The rule:
//
//   - a journal in state rollback: the rollback is finished (undo can be repeated), and the
//     hotfix ends not applied (RolledBack); one begun from state backup is taken as below;
//   - a journal in state backup: the product tree was not touched yet (the backups may be
//     partial), so the apply is undone: journal and backups go, and the install log is moved
//     aside (to <log>.undone-<time>), so that the hotfix is "unpacked, not applied" again
//     (Unpacked) and the next agent run applies it from the start, with a fresh plan;
//   - a journal in state apply, scripts, check or ledger: the product tree may be anywhere
//     between before and after, and the rpm database says the hotfix is installed, so the
//     apply is finished (resumed from its state, the rest of its scripts included); the health
//     check of state check decides, and a hotfix that fails it is rolled back byte-exact.
//
// Recover installs nothing new and applies no hotfix that was not begun: at boot it only
// finishes what was interrupted, and the agent run applies the hotfixes that lie unpacked.

// Recovered is an interrupted apply or rollback that Recover finished or undid.
type Recovered struct {
	Version hotfix.Version
	// State is the state the journal was in: where the apply or rollback stopped.
	State string
	// RollbackFrom is, for an interrupted rollback, the state the apply was in when it began.
	RollbackFrom string
	// Outcome is where the hotfix ends.
	Outcome Outcome
	// HealthFailed: the finished apply failed its health check and was rolled back.
	HealthFailed bool
}

// Outcome is where a recovered hotfix ends on this host.
type Outcome int

const (
	// Applied: the interrupted apply was finished.
	Applied Outcome = iota
	// Unpacked: the apply had not touched the product and was undone; the hotfix is unpacked
	// and not applied (Unpacked lists it), and the next agent run applies it.
	Unpacked
	// RolledBack: the hotfix is not applied (a rollback was finished, or the finished apply
	// failed its health check); its package, still in the rpm database, should leave it.
	RolledBack
)

// String is the report's line, after "recovered: ".
func (r Recovered) String() string {
	switch {
	case r.Outcome == Unpacked:
		return fmt.Sprintf("undid the interrupted apply of %s (it stopped in state %s, before the product was touched): it is unpacked, not applied", r.Version, journal.StateBackup)
	case r.HealthFailed:
		return fmt.Sprintf("rolled back %s: its interrupted apply (it stopped in state %s) was finished and failed its health check", r.Version, r.State)
	case r.Outcome == RolledBack && r.RollbackFrom != "":
		return fmt.Sprintf("finished the interrupted rollback of %s (it began in state %s)", r.Version, r.RollbackFrom)
	case r.Outcome == RolledBack:
		return fmt.Sprintf("finished the interrupted rollback of %s", r.Version)
	}
	return fmt.Sprintf("finished the interrupted apply of %s (it stopped in state %s)", r.Version, r.State)
}

// Recover finishes or undoes, under LOCK_TS and in chain order, every apply or rollback of
// this host that was interrupted (see the rule above). A journal of another chain (left from
// before a product patch) is left alone: finishing it over the patched product would be wrong,
// and status lists it. Recover stops at the first one it cannot recover and returns what it
// did before and the error; a hotfix that failed its health check is in the list (HealthFailed)
// and the error is its *script.HealthError. Without an interrupted journal it reads the journals and
// starts no process.
func (h *Host) Recover(ctx context.Context, out io.Writer) ([]Recovered, error) {
	if out == nil {
		out = h.out()
	}
	l, err := h.lockTS()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	vs := h.interrupted(ctx)
	if len(vs) == 0 {
		return nil, nil
	}
	var done []Recovered
	for _, v := range vs {
		started := time.Now()
		r, err := h.recoverOne(ctx, v, out)
		detail := "the interrupted apply or rollback could not be recovered"
		if r != nil {
			detail = r.String()
		}
		h.record(EventRecover, v, started, detail, err)
		if r != nil {
			done = append(done, *r)
		}
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// recoverOne finishes or undoes the interrupted apply or rollback of hotfix v.
func (h *Host) recoverOne(ctx context.Context, v hotfix.Version, out io.Writer) (*Recovered, error) {
	dir, err := h.hotfixDir(v)
	if err != nil {
		return nil, err
	}
	jp := journal.Path(dir, h.Cfg.Hostname)
	j, err := journal.Read(jp)
	if err != nil {
		return nil, hint.With(fmt.Errorf("recover hotfix %s: %w", v, err),
			fmt.Sprintf("look at %s; hotchain rollback %s undoes the apply when the journal can be read", plan.HostView(h.Cfg, jp), v))
	}
	r := &Recovered{Version: v, State: j.State, RollbackFrom: j.RollbackFrom}
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("recover hotfix %s: %w", v, err)
	}
	header := fmt.Sprintf("=== %s recovery of %s on %s (%s): the journal is in state %s\n", time.Now().UTC().Format(time.RFC3339), v, h.Cfg.Hostname, h.Cfg.HostRole, j.State)
	if j.State == journal.StateBackup || j.State == journal.StateRollback && j.RollbackFrom == journal.StateBackup {
		if err := h.undoUntouched(d, j, header, out); err != nil {
			return nil, err
		}
		r.Outcome = Unpacked
		return r, nil
	}
	logf, err := h.openLog(d)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	w := io.MultiWriter(out, logf)
	fmt.Fprint(logf, header)
	if j.State == journal.StateRollback {
		fmt.Fprintf(w, "==> %s: finishing an interrupted rollback\n", v)
		if err := h.undo(dir, j, w); err != nil {
			return nil, fmt.Errorf("finish the interrupted rollback of %s: %w", v, err)
		}
		r.Outcome = RolledBack
		return r, nil
	}
	// As Apply: the file list, the place, what killed runs left.
	if d, err = h.applyDir(dir, nil); err != nil {
		return nil, err
	}
	h.cleanDebris(w, d.Path)
	fmt.Fprintf(w, "==> %s: resuming an interrupted apply (it stopped in state %q)\n", v, j.State)
	err = h.resume(ctx, d, j, w)
	if script.IsHealth(err) {
		r.Outcome, r.HealthFailed = RolledBack, true
		return r, err
	}
	if err != nil {
		return nil, hint.With(fmt.Errorf("finish the interrupted apply of %s (it stopped in state %s): %w", v, j.State, err),
			fmt.Sprintf("see %s; the next hotchain recover or agent run tries again, hotchain rollback %s undoes it", plan.HostView(h.Cfg, logf.Name()), v))
	}
	return r, nil
}

// undoUntouched undoes an apply that stopped before it touched the product (state backup, or a
// rollback begun from there) and leaves the hotfix unpacked and not applied. Unpacked counts a
// hotfix with an install log as begun, so the log is first moved aside, to
// <log>.undone-<time>, and the undo is logged there: killed at any point, the next recovery
// finds either the journal (and undoes again) or neither journal nor log (nothing to do).
func (h *Host) undoUntouched(d *hotfix.Dir, j *journal.Journal, header string, out io.Writer) error {
	name := filepath.Join(d.Path, fmt.Sprintf("%s-install-%s.log", hotfix.DirName(h.Cfg.Product, d.Version), h.Cfg.Hostname))
	aside := fmt.Sprintf("%s.undone-%s", name, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(name, aside); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("move the install log of %s aside: %w", d.Version, err)
	}
	// Not through a symlink put in its place, as openLog.
	logf, err := os.OpenFile(aside, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("open install log: %w", err)
	}
	defer logf.Close()
	w := io.MultiWriter(out, logf)
	fmt.Fprint(logf, header)
	fmt.Fprintf(w, "==> %s: undoing an apply interrupted before it touched the product\n", d.Version)
	if err := h.undo(d.Path, j, w); err != nil {
		return fmt.Errorf("undo the interrupted apply of %s: %w", d.Version, err)
	}
	return nil
}
