package applier

import (
	"bytes"
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
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
)

// ApplyOptions change how Apply checks.
type ApplyOptions struct {
	// NoCheck skips the prerequisites (SPEC section 3): the forced re-installation of the
	// original system. The file list is still checked.
	NoCheck bool
	// Prepare stops the apply once its backups are durable, before the first entry is
	// placed: the journal is left in state apply, marked prepared, and the product is not
	// touched. The next Apply of the hotfix checks the prepared targets again (one lstat
	// each: still the entries that were backed up, still absent where the hotfix adds) and
	// places; when the product changed them meanwhile it drops the preparation and backs up
	// afresh. A rollback of a prepared hotfix restores nothing: it drops the backups. The
	// agent prepares the first hotfix of a run before PRE_HOOK closes the product.
	Prepare bool
	// Checked is the hotfix directory as ReadDir read it and CheckFilelist checked it,
	// earlier in the same process: Apply then rechecks it (Dir.Recheck, no file read)
	// instead of reading and hashing every file again.
	Checked *hotfix.Dir
	// Unpacked, when set, says that this run unpacked the hotfix directory from a tarball
	// (Unpack): an apply that fails before anything of it was applied removes what the
	// unpack made, so that a refused tarball leaves nothing behind.
	Unpacked *fileops.UnpackMade
}

// Apply puts the unpacked hotfix at dir into the product: it checks the prerequisites,
// backs up what it will replace, lays the change trees over their roots, runs the install
// scripts of this host's role and appends the ledgers, under LOCK_TS. A journal makes it
// resumable: an apply that was interrupted at any point is finished by the next Apply of the
// same hotfix, or undone by Rollback.
func (h *Host) Apply(ctx context.Context, dir string, opt ApplyOptions) (err error) {
	if opt.Unpacked != nil && opt.Unpacked.Dir {
		defer func() {
			if err != nil {
				h.dropRefused(dir, opt.Unpacked)
			}
		}()
	}
	d, err := h.applyDir(dir, opt.Checked)
	if err != nil {
		return err
	}
	started := time.Now()
	// A refusal (the prerequisites, the lock) changes nothing and is not in the history.
	if err := h.preflight(ctx, d, opt); err != nil {
		return err
	}
	l, err := h.lockTS()
	if err != nil {
		return err
	}
	defer l.Unlock()
	defer func() {
		// A prepare (plan and backups, ApplyOptions.Prepare) is part of the apply that
		// follows; only its failure, which ends that apply, is a line of its own.
		if !opt.Prepare || err != nil {
			h.record(EventApply, d.Version, started, "", err)
		}
	}()

	// The install log is made only once the journal is: a hotfix with a log of this host
	// and no journal has had its apply begun and undone or refused, one with neither was
	// never started (Unpacked), and a crash between the two must not blur that. What comes
	// before goes to the log when it is opened.
	var early bytes.Buffer
	out := io.MultiWriter(h.out(), &early)
	h.cleanDebris(out, d.Path)
	if err := h.checkInterrupted(d); err != nil {
		return err
	}
	j, err := h.startJournal(ctx, d, opt, out)
	if err != nil || j == nil { // j == nil: prepared before and still current
		return err
	}
	logf, err := h.openLog(d)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s apply of %s on %s (%s)\n", started.UTC().Format(time.RFC3339), d.Version, h.Cfg.Hostname, h.Cfg.HostRole)
	logf.Write(early.Bytes())
	out = io.MultiWriter(h.out(), logf)
	if opt.Prepare {
		if j.State != journal.StateBackup {
			return fmt.Errorf("hotfix %s cannot be prepared: its apply is in state %q (%s)", d.Version, j.State, journal.Path(d.Path, h.Cfg.Hostname))
		}
		return h.prepare(d, j, out)
	}
	return h.resume(ctx, d, j, out)
}

// applyDir reads the hotfix directory to apply (or rechecks checked, read earlier: see
// ApplyOptions.Checked) and checks it against its file list and its place: the journal and backups live in the hotfix directory, and rollback, status and
// verify find them by version, so the hotfix must sit where its version puts it.
func (h *Host) applyDir(dir string, checked *hotfix.Dir) (*hotfix.Dir, error) {
	d, err := h.readChecked(dir, checked)
	if err != nil {
		return nil, err
	}
	if _, err := d.Restart(); err != nil {
		return nil, err
	}
	want, err := h.hotfixDir(d.Version)
	if err != nil {
		return nil, err
	}
	if d.Path != want {
		return nil, hint.With(fmt.Errorf("hotfix %s is in %s, not in %s", d.Version, d.Path, h.HotfixDir(d.Version)),
			"unpack it into PATCHES_DIR under that name (hotchain apply TARBALL does), then apply it from there")
	}
	return d, nil
}

// preflight refuses before anything is written, the lock file and the install log
// included: the prerequisites, the scripts and, for a fresh apply, the plan and the space it
// needs. An interrupted apply is not checked here: its journal decides. startJournal makes
// the checks again under the lock, where they count.
func (h *Host) preflight(ctx context.Context, d *hotfix.Dir, opt ApplyOptions) error {
	j, err := journal.Read(journal.Path(d.Path, h.Cfg.Hostname))
	if err == nil && j.State != journal.StateDone {
		return nil
	}
	if !opt.NoCheck {
		if err := h.CheckPrereqs(ctx, d.Version); err != nil {
			return err
		}
	}
	// A hotfix applied before is undone before it is applied again: what the new apply
	// needs is checked first.
	if err := h.CheckScripts(d); err != nil {
		return err
	}
	if err != nil { // no journal: a fresh apply
		ops, dirs, err := plan.Make(h.Cfg, d)
		if err != nil {
			return err
		}
		if err := h.checkSpace(d, ops); err != nil {
			return err
		}
		// The journal must stay readable, or the hotfix could never be rolled back.
		jc := &journal.Journal{Version: d.Version.String(), Host: h.Cfg.Hostname, Role: string(h.Cfg.HostRole), State: journal.StateBackup, Ops: ops, Dirs: dirs}
		if err := journal.CheckSize(journal.Path(d.Path, h.Cfg.Hostname), jc); err != nil {
			return err
		}
	}
	return nil
}

// checkInterrupted refuses to apply d while another hotfix of its chain was interrupted: it
// must be finished or rolled back first. A hotfix of another chain (left from before a
// product patch) is reported by status but does not hold up this one.
func (h *Host) checkInterrupted(d *hotfix.Dir) error {
	for _, u := range state.Interrupted(h.Cfg) {
		if uv, err := hotfix.ParseHotfixVersion(u.Version); err == nil && !uv.Base().Equal(d.Version.Base()) {
			continue
		}
		if u.Version != d.Version.String() {
			return hint.With(fmt.Errorf("hotfix %s was interrupted (state %s, %s): finish it or roll it back before hotfix %s", u.Version, u.State, u.Journal, d.Version),
				fmt.Sprintf("hotchain apply %s to finish it, or hotchain rollback %s", filepath.Dir(h.Cfg.InRoot(u.Journal)), u.Version))
		}
	}
	return nil
}

// startJournal, under the lock, decides where the apply of d starts: an interrupted apply
// resumes from its journal; an interrupted rollback is finished first; a hotfix applied
// before (and perhaps taken out of the ledger by hand) is undone, which puts back the files
// as they were before it, and applied afresh. A fresh apply is checked, planned and gets a
// new journal in journal.StateBackup.
func (h *Host) startJournal(ctx context.Context, d *hotfix.Dir, opt ApplyOptions, out io.Writer) (*journal.Journal, error) {
	jp := journal.Path(d.Path, h.Cfg.Hostname)
	j, err := journal.Read(jp)
	switch {
	case errors.Is(err, os.ErrNotExist):
		j = nil
	case err != nil:
		return nil, err
	case j.State == journal.StateApply && j.Prepared:
		if err := h.recheckPrepared(d.Path, j); err != nil {
			// Nothing was placed: drop the backups (undo restores nothing of a prepared
			// apply) and start afresh from the product as it is now.
			fmt.Fprintf(out, "==> %s: %v: backing up afresh\n", d.Version, err)
			if err := h.undo(d.Path, j, io.Discard); err != nil {
				return nil, err
			}
			j = nil
			break
		}
		if opt.Prepare {
			fmt.Fprintf(out, "==> %s: prepared before, still current\n", d.Version)
			return nil, nil
		}
		fmt.Fprintf(out, "==> %s: prepared before, still current: placing\n", d.Version)
		return j, nil
	case j.State == journal.StateRollback:
		fmt.Fprintf(out, "==> %s: finishing an interrupted rollback first\n", d.Version)
		if err := h.undo(d.Path, j, out); err != nil {
			return nil, err
		}
		j = nil
	case j.State != journal.StateDone:
		fmt.Fprintf(out, "==> %s: resuming an interrupted apply (it stopped in state %q)\n", d.Version, j.State)
		return j, nil
	}
	if !opt.NoCheck {
		if err := h.CheckPrereqs(ctx, d.Version); err != nil {
			return nil, err
		}
	}
	if err := h.CheckScripts(d); err != nil {
		return nil, err
	}
	if j != nil { // applied before
		applied, err := h.Applied()
		if err != nil {
			return nil, err
		}
		if newest, ok := hotfix.Newest(applied); ok && state.Contains(applied, d.Version) && !newest.Equal(d.Version) {
			return nil, hint.With(fmt.Errorf("hotfix %s can be applied again only while it is the newest applied hotfix (%s is)", d.Version, newest),
				fmt.Sprintf("roll back down to it first: hotchain rollback %s, and so on", newest))
		}
		fmt.Fprintf(out, "==> %s: applying again: undoing the earlier apply first\n", d.Version)
		if err := h.undo(d.Path, j, out); err != nil {
			return nil, err
		}
	}
	ops, dirs, err := plan.Make(h.Cfg, d)
	if err != nil {
		return nil, err
	}
	if err := h.checkSpace(d, ops); err != nil {
		return nil, err
	}
	// Left over from a rollback that was killed after it dropped the journal.
	if err := os.RemoveAll(journal.BackupDir(d.Path, h.Cfg.Hostname)); err != nil {
		return nil, err
	}
	j = &journal.Journal{
		Version: d.Version.String(), Host: h.Cfg.Hostname, Role: string(h.Cfg.HostRole),
		State: journal.StateBackup, Started: time.Now().UTC(), Ops: ops, Dirs: dirs,
		Check: h.HasHealthChecks(d), Prepared: opt.Prepare,
	}
	if err := journal.Write(jp, j); err != nil {
		return nil, err
	}
	h.step("journal written")
	return j, nil
}

// readChecked reads and checks the hotfix directory at dir, or, when checked is that
// directory as read and checked earlier, rechecks it cheaply.
func (h *Host) readChecked(dir string, checked *hotfix.Dir) (*hotfix.Dir, error) {
	if checked != nil {
		if abs, err := filepath.Abs(dir); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil && real == checked.Path {
				return checked, checked.Recheck()
			}
		}
	}
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if d.HasFilelist {
		if err := d.CheckFilelist(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (h *Host) openLog(d *hotfix.Dir) (*os.File, error) {
	name := fmt.Sprintf("%s-install-%s.log", hotfix.DirName(h.Cfg.Product, d.Version), h.Cfg.Hostname)
	// Not through a symlink put in its place: it could lead anywhere, out of -root too.
	f, err := os.OpenFile(filepath.Join(d.Path, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open install log: %w", err)
	}
	return f, nil
}
