package applier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/sysconfig"
)

// ErrNotApplied is returned by Rollback for a hotfix that this host never applied: the
// RPM's %preun meets it when the package was installed with <PRODUCT>_DO_PATCH=0.
var ErrNotApplied = errors.New("not applied on this host")

// Rollback undoes hotfix v on this host, or the newest one when v is nil. Only the newest
// can be undone (chain order); a hotfix whose apply was interrupted counts as the newest.
// The product tree ends as it was before the apply: replaced and removed entries come back
// with their content, mode, owner and modification time, added entries and created
// directories go, and the version leaves the ledgers.
func (h *Host) Rollback(ctx context.Context, v hotfix.Version, out io.Writer) error {
	if out == nil {
		out = h.out()
	}
	l, err := h.lockTS()
	if err != nil {
		return err
	}
	defer l.Unlock()
	h.cleanDebris(out)

	applied, err := h.Applied()
	if err != nil {
		return err
	}
	newest, hasNewest := hotfix.Newest(applied)
	var partial hotfix.Version
	if in := h.interrupted(ctx); len(in) > 0 {
		partial = in[len(in)-1]
	}
	if partial != nil && state.Contains(applied, partial) && !partial.Equal(newest) {
		return hint.With(fmt.Errorf("hotfix %s was interrupted while it was applied again, but %s, applied after it, is still in place", partial, newest),
			fmt.Sprintf("finish it first (hotchain apply -nocheck %s), then roll back %s", h.HotfixDir(partial), newest))
	}
	switch {
	case v == nil && partial != nil:
		v = partial
	case v == nil && hasNewest:
		v = newest
	case v == nil:
		return fmt.Errorf("no hotfix is applied on this host: nothing to roll back")
	case partial != nil && v.Equal(partial):
	case partial != nil:
		return hint.With(fmt.Errorf("hotfix %s was interrupted while it was applied and must be rolled back before %s", partial, v),
			fmt.Sprintf("run hotchain rollback %s first", partial))
	case hasNewest && v.Equal(newest):
	case state.Contains(applied, v):
		return hint.With(fmt.Errorf("hotfix %s is not the newest applied hotfix (%s is)", v, newest),
			fmt.Sprintf("roll back in chain order: hotchain rollback %s first", newest))
	default:
		return fmt.Errorf("hotfix %s: %w", v, ErrNotApplied)
	}
	dir, err := h.hotfixDir(v)
	if err != nil {
		return err
	}
	j, err := journal.Read(journal.Path(dir, h.Cfg.Hostname))
	if errors.Is(err, os.ErrNotExist) {
		return hint.With(fmt.Errorf("hotfix %s has no apply journal in %s, so its backups cannot be restored", v, dir),
			"it was applied without hotchain, or its directory was removed; restore its files by hand from Backup-"+h.Cfg.Hostname+"/ if present, then remove it from the ledger")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "==> %s: rolling back on %s\n", v, h.Cfg.Hostname)
	started := time.Now()
	err = h.undo(dir, j, out)
	h.record(EventRollback, v, started, "", err)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "==> %s: rolled back\n", v)
	return nil
}

// interrupted lists, in version order, the hotfixes of the installed product's chain whose
// apply or rollback on this host was interrupted (a journal that is not done). One of another
// chain, left from before a product patch, is not undone over the patched product.
func (h *Host) interrupted(ctx context.Context) []hotfix.Version {
	unfinished := state.Interrupted(h.Cfg)
	if len(unfinished) == 0 {
		return nil // and no PRODUCT_VERSION_CMD run for nothing
	}
	// When the product version cannot be read (at boot, a PRODUCT_VERSION_CMD that needs
	// the product up), every journal counts.
	pv, pvErr := h.ProductVersion(ctx)
	var vs []hotfix.Version
	for _, u := range unfinished {
		if v, err := hotfix.ParseHotfixVersion(u.Version); err == nil && (pvErr != nil || v.Base().Equal(pv)) {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Compare(vs[j]) < 0 })
	return vs
}

// undo restores the product tree from the backups of journal j (of the hotfix in dir), takes
// the version out of the ledgers and removes the journal and backups. It can be repeated:
// a rollback that is killed is finished by the next one.
func (h *Host) undo(dir string, j *journal.Journal, out io.Writer) error {
	jp := journal.Path(dir, h.Cfg.Hostname)
	// Before journal.StateApply the product tree was not touched and the backups are not needed.
	// Removed first, before the journal is written: a backup that filled the disk must
	// make room for the rollback, not stop it.
	if j.State == journal.StateBackup || (j.State == journal.StateRollback && j.RollbackFrom == journal.StateBackup) {
		if err := os.RemoveAll(journal.BackupDir(dir, h.Cfg.Hostname)); err != nil {
			return err
		}
		if err := fileops.RemoveIfExists(journal.InexistentPath(dir, h.Cfg.Hostname)); err != nil {
			return err
		}
	}
	if j.State != journal.StateRollback {
		j.RollbackFrom = j.State
		j.State = journal.StateRollback
		if err := journal.Write(jp, j); err != nil {
			return err
		}
		h.step("state rollback")
	}
	// Before journal.StateApply the product tree was not touched, and the backups may be partial;
	// nor was it in a prepared journal.StateApply, and the backups may be older than the product
	// (it stayed open): nothing is restored or removed.
	touched := j.RollbackFrom != journal.StateBackup && !(j.RollbackFrom == journal.StateApply && j.Prepared)
	bdir := journal.BackupDir(dir, h.Cfg.Hostname)
	var roots map[string]plan.TreeRoot
	if touched {
		var err error
		if roots, err = plan.TreeRoots(h.Cfg); err != nil {
			return err
		}
	}
	if touched {
		// The backups are read from where the journal says, and only from inside the
		// hotfix directory.
		checked := map[string]bool{}
		for _, o := range j.Ops {
			if o.Existed == "" || (o.Existed == journal.KindDir && !o.Remove) {
				continue
			}
			bak := filepath.Dir(o.In(bdir))
			if o.Existed == journal.KindDir { // a removed directory: kept as a directory itself
				bak = o.In(bdir)
			}
			if checked[bak] {
				continue
			}
			if !filepath.IsLocal(o.Tree) || strings.Contains(o.Tree, "/") || !filepath.IsLocal(filepath.FromSlash(o.Rel)) {
				return fmt.Errorf("journal %s is damaged: entry %q of %q is not a path inside its tree", jp, o.Rel, o.Tree)
			}
			if err := journal.CheckBackupPath(dir, bak); err != nil {
				return err
			}
			checked[bak] = true
		}
	}
	for i := len(j.Ops) - 1; i >= 0 && touched; i-- {
		o := j.Ops[i]
		full := h.Cfg.InRoot(o.Target)
		if o.Remove {
			if err := h.undoRemoval(o, roots[o.Tree], bdir, out); err != nil {
				return err
			}
			continue
		}
		if o.Existed == journal.KindDir {
			continue
		}
		// Nothing is removed or restored through a symlink that now leads out of the root.
		tr := roots[o.Tree]
		if err := plan.CheckInside(tr.Base, tr.Real, full, false); err != nil {
			return fmt.Errorf("roll back %s/%s: %w", o.Tree, o.Rel, err)
		}
		if err := fileops.RemoveIfExists(fileops.NewTemp(full)); err != nil {
			return err
		}
		switch {
		case o.Existed == "" && o.Kind == journal.KindDir:
			fi, err := os.Lstat(full)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err == nil && !fi.IsDir() {
				fmt.Fprintf(out, "    keep    %s (the hotfix created a directory there; now it is something else)\n", hotfix.ShownName(o.Target))
				continue
			}
			if err := os.Remove(full); err != nil {
				if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
					fmt.Fprintf(out, "    keep    %s (it holds files the hotfix did not add)\n", hotfix.ShownName(o.Target))
					continue
				}
				return fmt.Errorf("remove directory %s: %w", full, err)
			}
			fmt.Fprintf(out, "    rmdir   %s\n", hotfix.ShownName(o.Target))
		case o.Existed == "":
			if err := fileops.RemoveIfExists(full); err != nil {
				return fmt.Errorf("remove %s: %w", full, err)
			}
			fmt.Fprintf(out, "    remove  %s\n", hotfix.ShownName(o.Target))
		default:
			if err := fileops.Restore(o.In(bdir), full); err != nil {
				return err
			}
			fmt.Fprintf(out, "    restore %s\n", hotfix.ShownName(o.Target))
		}
		h.step("undo " + o.Target)
	}
	if touched {
		// The directories removals took away get their mode, owner and time once their
		// entries are back (deepest first, as the ops list them).
		for _, o := range j.Ops {
			if o.Remove && o.Existed == journal.KindDir {
				bak := o.In(bdir)
				fi, err := os.Lstat(bak)
				if err != nil {
					return fmt.Errorf("backup of %s: %w", o.Target, err)
				}
				if err := fileops.SetMeta(h.Cfg.InRoot(o.Target), fi); err != nil {
					return err
				}
			}
		}
		for _, dt := range j.Dirs {
			if err := fileops.SetMtime(h.Cfg.InRoot(dt.Path), dt.ModTime); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if err := h.syncTrees(dir); err != nil {
			return err
		}
	}
	v, err := hotfix.ParseHotfixVersion(j.Version)
	if err != nil {
		return fmt.Errorf("journal %s: %w", jp, err)
	}
	led := h.ledger()
	if err := led.Remove(h.hostLedger(), v); err != nil {
		return err
	}
	h.step("host ledger removed")
	if h.Cfg.HostRole != sysconfig.RoleSecondary {
		for _, name := range []string{hotfix.InstallationLedger, hotfix.FinalizedLedger} {
			if err := led.Remove(name, v); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(jp); err != nil {
		return err
	}
	h.step("journal removed")
	if err := os.RemoveAll(bdir); err != nil {
		return err
	}
	return fileops.RemoveIfExists(journal.InexistentPath(dir, h.Cfg.Hostname))
}
