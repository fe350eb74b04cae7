package applier

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/hotfix/removal"
	"github.com/hotchain/hotchain/internal/fileops"
)

// The applier's side of FileRemovals (hotfix/removals.go has the format, plan the checks).
// A removal is an op of the journal with Remove set: Kind is what FileRemovals removes
// (file, link or dir), Existed what was there when the plan looked ("" when it was absent
// already: nothing is removed, and rollback creates nothing), Mode, SHA256 and Link describe
// it. The backup step keeps a removed entry in Backup-<host>/ as it keeps a replaced one (a
// directory as a directory with its mode, owner and modification time), the apply step
// removes it after the hotfix's entries are placed (files and symlinks, then directories,
// deepest first), and undo puts it back (directories, shallowest first, then files and
// symlinks; the directories' times last).

// removeEntries carries out the removals of j (after the hotfix's entries are placed): each
// file or symlink is unlinked, then each directory removed, deepest first. An entry gone
// already (a resumed apply) is fine. Right before it is removed, each entry is checked
// again against its backup (removal.Remove): one that changed since the backup was taken
// (new content, another kind, a directory that is no longer empty) is not removed, the
// journal says so (its op no longer removes anything), and a *plan.RemovalMismatchError
// is returned, on which resume rolls the apply back. The entry is removed relative to its
// directory, opened one directory at a time from the target root without following a
// symlink (removal.Remove), so that nothing swapped in since the check leads the removal
// elsewhere.
func (h *Host) removeEntries(d *hotfix.Dir, j *journal.Journal, roots map[string]plan.TreeRoot, w io.Writer) error {
	for _, r := range plan.UnmappedRemovals(h.Cfg, d) {
		fmt.Fprintf(w, "    skip    %s (FileRemovals: change tree %s is not mapped by CHANGE_TREES on this host)\n", hotfix.ShownName(r.Path), r.Tree())
	}
	bdir := journal.BackupDir(d.Path, h.Cfg.Hostname)
	for i, o := range j.Ops {
		if !o.Remove {
			continue
		}
		if o.Existed == "" {
			fmt.Fprintf(w, "    absent  %s (already absent: nothing to remove)\n", hotfix.ShownName(o.Target))
			continue
		}
		tr := roots[o.Tree]
		full := h.Cfg.InRoot(o.Target)
		// The tree may have changed since the plan (a resumed apply): check again.
		if err := plan.CheckInside(tr.Base, tr.Real, full, false); err != nil {
			return fmt.Errorf("FileRemovals: %s/%s: %w", o.Tree, o.Rel, err)
		}
		removed, problem, err := removal.Remove(tr.Real, o, o.In(bdir))
		if err != nil {
			return err
		}
		if problem != "" {
			// Not removed: a rollback must leave it as it is.
			j.Ops[i].Existed = ""
			if err := journal.Write(journal.Path(d.Path, h.Cfg.Hostname), j); err != nil {
				return err
			}
			return &plan.RemovalMismatchError{Problems: []string{problem}}
		}
		verb := "remove "
		if o.Kind == journal.KindDir {
			verb = "rmdir  "
		}
		if !removed {
			verb = "absent "
		}
		fmt.Fprintf(w, "    %s %s\n", verb, hotfix.ShownName(o.Target))
		h.step("remove " + o.Target)
	}
	return nil
}

// undoRemoval puts back what removal o took away (nothing when it was absent already): a
// directory is made again (removal.RestoreDir), a file or symlink restored from its backup in bdir.
// What is found at the path and is not what the removal left or what an interrupted
// rollback restored is set aside first (removal.SetAside) and named in out. Nothing is restored
// through a symlink that now leads out of the root.
func (h *Host) undoRemoval(o journal.Op, tr plan.TreeRoot, bdir string, out io.Writer) error {
	if o.Existed == "" {
		return nil
	}
	full := h.Cfg.InRoot(o.Target)
	if err := plan.CheckInside(tr.Base, tr.Real, full, false); err != nil {
		return fmt.Errorf("roll back %s/%s: %w", o.Tree, o.Rel, err)
	}
	bak := o.In(bdir)
	saved, err := removal.SetAside(o, tr, bak, full)
	if err != nil {
		return err
	}
	if saved != "" {
		fmt.Fprintf(out, "    saved   %s as %s (it was made there after the hotfix removed a %s; the %s is restored)\n",
			hotfix.ShownName(o.Target), hotfix.ShownName(filepath.Base(saved)), o.Existed, o.Existed)
	}
	if o.Existed == journal.KindDir {
		if err := removal.RestoreDir(bak, full); err != nil {
			return err
		}
		fmt.Fprintf(out, "    restore %s/\n", hotfix.ShownName(o.Target))
	} else {
		if err := fileops.Restore(bak, full); err != nil {
			return err
		}
		fmt.Fprintf(out, "    restore %s\n", hotfix.ShownName(o.Target))
	}
	h.step("undo " + o.Target)
	return nil
}
