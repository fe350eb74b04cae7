package applier

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
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
// already (a resumed apply) is fine; a directory that is not empty stops the apply, which a
// rollback then undoes.
func (h *Host) removeEntries(d *hotfix.Dir, j *journal.Journal, roots map[string]plan.TreeRoot, w io.Writer) error {
	for _, r := range plan.UnmappedRemovals(h.Cfg, d) {
		fmt.Fprintf(w, "    skip    %s (FileRemovals: change tree %s is not mapped by CHANGE_TREES on this host)\n", hotfix.ShownName(r.Path), r.Tree())
	}
	for _, o := range j.Ops {
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
		verb := "remove "
		if o.Kind == journal.KindDir {
			verb = "rmdir  "
			if err := unix.Rmdir(full); err != nil && err != unix.ENOENT {
				if err == unix.ENOTEMPTY || err == unix.EEXIST {
					names, _ := fileops.ReadNames(full)
					return fmt.Errorf("remove directory %s: it is not empty (%s): something was added since the plan looked", full, strings.Join(names, ", "))
				}
				return fmt.Errorf("remove directory %s: %w", full, err)
			}
		} else if err := unix.Unlink(full); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove %s: %w", full, err)
		}
		fmt.Fprintf(w, "    %s %s\n", verb, hotfix.ShownName(o.Target))
		h.step("remove " + o.Target)
	}
	return nil
}

// restoreDir makes the directory a removal took away again, if it is not there; its mode,
// owner and time come from its backup bak afterwards (setMeta in undo), once the entries in
// it are back.
func restoreDir(bak, target string) error {
	bfi, err := os.Lstat(bak)
	if err != nil {
		return fmt.Errorf("backup of %s: %w", target, err)
	}
	if !bfi.IsDir() {
		return fmt.Errorf("backup of %s: %s is not a directory", target, bak)
	}
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("restore directory %s: %w", target, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("restore directory %s: %w", target, err)
	case !fi.IsDir():
		return withHint(fmt.Errorf("restore directory %s: a %s is there now", target, plan.KindText(plan.KindOfInfo(fi))),
			"move it away, then roll back again")
	}
	return nil
}

// undoRemoval puts back what removal o took away (nothing when it was absent already): a
// directory is made again (restoreDir), a file or symlink restored from its backup in bdir.
// Nothing is restored through a symlink that now leads out of the root.
func (h *Host) undoRemoval(o journal.Op, tr plan.TreeRoot, bdir string, out io.Writer) error {
	if o.Existed == "" {
		return nil
	}
	full := h.Cfg.InRoot(o.Target)
	if err := plan.CheckInside(tr.Base, tr.Real, full, false); err != nil {
		return fmt.Errorf("roll back %s/%s: %w", o.Tree, o.Rel, err)
	}
	bak := filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel))
	if o.Existed == journal.KindDir {
		if err := restoreDir(bak, full); err != nil {
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
