package plan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/sysconfig"
)

// RemovalMismatchError is a FileRemovals entry that is not what the product holds: a file
// whose content drifted, a symlink that points elsewhere, a directory that would not be
// empty, or another kind of entry. The apply refuses before its first write.
type RemovalMismatchError struct {
	Problems []string // one per entry: its path, what it is now and what FileRemovals expects
}

func (e *RemovalMismatchError) Error() string {
	return "FileRemovals does not match the product, nothing was removed:\n  " + strings.Join(hotfix.ShortList(e.Problems, 10), "\n  ")
}

// Hint says what to do about a mismatch.
func (e *RemovalMismatchError) Hint() string {
	return "restore each entry as the previous hotfix left it (hotchain verify lists drift; the backups of earlier hotfixes are in their Backup-<host>/), or ask the vendor for a hotfix that expects what is there; nothing was changed"
}

// removals plans d's removals, after the entries the hotfix places (placed: target ->
// where it comes from; links: targets the hotfix makes symlinks). Each removal lands below
// its change tree's target root as an entry does, and no directory on its way below that
// root may be a symlink (NoSymlinkBelow): an alias could name an entry the hotfix places. The entry must be what FileRemovals says: a regular
// file with that SHA-256, a symlink whose target has it, a directory that is empty once the
// removals below it are done. An entry that is absent already is planned as such. A removal
// in a change tree that CHANGE_TREES does not map is left out, as the entries of such a tree
// are (UnmappedRemovals lists them). The times of the directories the removals change go
// into dirs.
func removals(cfg *sysconfig.Config, d *hotfix.Dir, roots map[string]TreeRoot, placed map[string]string, links map[string]bool, dirs map[string]time.Time, earlier map[string]PlacedBy) ([]journal.Op, error) {
	var ops []journal.Op
	var problems []string
	removed := map[string]string{} // target -> the line that removes it
	// The directories the hotfix places entries in, whichever tree they come from: a
	// removed directory would not be empty.
	var holds map[string]string
	if slices.ContainsFunc(d.Removals, func(r hotfix.Removal) bool { return r.Kind == hotfix.RemoveDir }) {
		holds = map[string]string{}
		for target, where := range placed {
			for p := path.Dir(target); p != "/" && p != "."; p = path.Dir(p) {
				if _, seen := holds[p]; seen {
					break
				}
				holds[p] = where
			}
		}
	}
	for _, r := range d.Removals {
		tree, ok := ChangeTree(cfg, r.Tree())
		if !ok {
			continue
		}
		tr := roots[tree.Dir]
		where := "FileRemovals: " + hotfix.ShownName(r.Path)
		if tr.Real == "" {
			return nil, fmt.Errorf("%s: target root %s does not exist (CHANGE_TREES): create it or fix the setting", where, tr.Base)
		}
		o := journal.Op{Tree: tree.Dir, Rel: r.Rel(), Target: path.Join(tree.Root, r.Rel()), Kind: r.Kind, SHA256: r.SHA256, Remove: true}
		if other, dup := removed[o.Target]; dup {
			return nil, fmt.Errorf("%s and %s both remove %s: a target may come from one change tree only", hotfix.ShownName(other), where, hotfix.ShownName(o.Target))
		}
		removed[o.Target] = "FileRemovals: " + hotfix.ShownName(r.Path)
		if other, dup := placed[o.Target]; dup {
			return nil, fmt.Errorf("%s: the hotfix places %s on %s, which it also removes", where, hotfix.ShownName(other), hotfix.ShownName(o.Target))
		}
		if other, ok := holds[o.Target]; ok && o.Kind == journal.KindDir {
			return nil, fmt.Errorf("%s: the hotfix places %s in %s, which it also removes", where, hotfix.ShownName(other), hotfix.ShownName(o.Target))
		}
		for p := path.Dir(o.Target); p != "/" && p != "."; p = path.Dir(p) {
			if links[p] {
				return nil, fmt.Errorf("%s: it lies below %s, which the same hotfix makes a symlink", where, hotfix.ShownName(p))
			}
		}
		full := filepath.Join(tr.Base, filepath.FromSlash(o.Rel))
		if err := CheckInside(tr.Base, tr.Real, full, false); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		parent := filepath.Dir(full)
		if err := NoSymlinkBelow(tr.Base, parent); err != nil {
			return nil, hint.With(fmt.Errorf("%s: %w", where, err),
				"FileRemovals names an entry by the directories it is in, not through a symlink (an alias could name what the hotfix places, or another entry than the one backed up): ask the vendor for the real path")
		}
		var now, sum, by string
		if e, ok := earlier[o.Target]; ok {
			// A dry run of a chain: an earlier hotfix of the run places it or removes it.
			if e.Gone {
				ops = append(ops, o)
				continue
			}
			o.Existed, o.Link, sum, by = e.Kind, e.Link, e.SHA256, " (placed by "+e.Version+" earlier in this run)"
			if e.Kind == journal.KindLink {
				sum = hotfix.LinkSHA256(e.Link)
			}
		} else {
			fi, err := os.Lstat(full)
			switch {
			case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
				ops = append(ops, o) // absent already: the goal holds
				continue
			case err != nil:
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			// A file system mounted on it (or a file bound there) cannot be removed: rmdir
			// and unlink fail with EBUSY, halfway through the apply.
			if pfi, err := os.Stat(parent); err == nil && devOf(pfi) != devOf(fi) {
				return nil, hint.With(fmt.Errorf("%s: %s is a mount point (another file system is mounted on it), which a hotfix cannot remove", where, full),
					"unmount it (and take it out of /etc/fstab) first, or ask the vendor for a hotfix that leaves it; nothing was changed")
			}
			// The kind is apart: the mode as the journal keeps a placed entry's, with the
			// bits a rollback gives back.
			o.Existed, o.Mode = KindOfInfo(fi), fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
			now = "a " + hotfix.KindOf(fi.Mode())
			switch o.Existed {
			case journal.KindFile:
				if sum, err = hotfix.FileSHA256(full); err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
			case journal.KindLink:
				if o.Link, err = os.Readlink(full); err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				sum = hotfix.LinkSHA256(o.Link)
			}
		}
		switch o.Existed {
		case journal.KindFile:
			now = "a file with SHA-256 " + sum + by
		case journal.KindLink:
			now = fmt.Sprintf("a symlink to %s (SHA-256 of the target %s)%s", hotfix.ShownName(o.Link), sum, by)
		case journal.KindDir:
			now = "a directory" + by
		}
		if o.Existed != o.Kind || sum != o.SHA256 {
			want := "a directory"
			switch o.Kind {
			case journal.KindFile:
				want = "a file with SHA-256 " + o.SHA256
			case journal.KindLink:
				want = "a symlink whose target has SHA-256 " + o.SHA256
			}
			problems = append(problems, fmt.Sprintf("%s is %s; FileRemovals expects %s", hotfix.ShownName(o.Target), now, want))
			continue
		}
		// Removing an entry changes its directory's time; rollback puts it back. A removed
		// directory's own time is recorded too, so that a prepared apply sees an entry
		// added to it since (recheckPrepared).
		for _, p := range []string{parent, full} {
			if by != "" || (p == full && o.Kind != journal.KindDir) {
				continue // by: a dry run's, no times are put back
			}
			if real, err := filepath.EvalSymlinks(p); err == nil {
				if _, seen := dirs[real]; !seen {
					if st, err := os.Stat(real); err == nil {
						dirs[real] = st.ModTime()
					}
				}
			}
		}
		ops = append(ops, o)
	}
	// A directory is removed only when the removals leave it empty.
	gone := map[string]bool{}
	for _, o := range ops {
		if o.Existed != "" {
			gone[o.Target] = true
		}
	}
	for _, o := range ops {
		if o.Kind != journal.KindDir || o.Existed != journal.KindDir {
			continue
		}
		names, err := fileops.ReadNames(filepath.Join(roots[o.Tree].Base, filepath.FromSlash(o.Rel)))
		if err != nil && (earlier == nil || !errors.Is(err, fs.ErrNotExist)) {
			return nil, fmt.Errorf("FileRemovals: %s: %w", hotfix.ShownName(o.Tree+"/"+o.Rel), err)
		}
		names = OverChildren(names, o.Target, earlier)
		var left []string
		for _, n := range names {
			if !gone[path.Join(o.Target, n)] {
				left = append(left, hotfix.ShownName(n))
			}
		}
		if len(left) > 0 {
			slices.Sort(left)
			problems = append(problems, fmt.Sprintf("%s is a directory that still holds %s once the removals are done; FileRemovals expects it to be empty then",
				hotfix.ShownName(o.Target), strings.Join(hotfix.ShortList(left, 5), ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, &RemovalMismatchError{Problems: problems}
	}
	// Files and symlinks first, then directories, deepest first: undo, which goes through
	// the ops backwards, makes the directories again before it puts their entries back.
	slices.SortStableFunc(ops, func(a, b journal.Op) int {
		if (a.Kind == journal.KindDir) != (b.Kind == journal.KindDir) {
			if a.Kind == journal.KindDir {
				return 1
			}
			return -1
		}
		if a.Kind == journal.KindDir {
			if da, db := strings.Count(a.Target, "/"), strings.Count(b.Target, "/"); da != db {
				return db - da
			}
		}
		return strings.Compare(a.Target, b.Target)
	})
	return ops, nil
}

// NoSymlinkBelow refuses a directory dir, below the target root base, whose way from base
// goes through a symlink: a removal is named by the real directories it is in. The applier
// removes through the same way, each directory opened without following a symlink
// (applier.openParent). A directory on the way that does not exist ends the check: the
// entry is absent.
func NoSymlinkBelow(base, dir string) error {
	rel, err := filepath.Rel(base, dir)
	if err != nil || !filepath.IsLocal(rel) {
		if rel == "." {
			return nil
		}
		return fmt.Errorf("path leaves its target root %s", base)
	}
	cur := base
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			return nil
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(cur)
			return fmt.Errorf("the way to it goes through the symlink %s (-> %s)", cur, target)
		}
	}
	return nil
}

// devOf is the device of the file system that holds fi's entry.
func devOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev)
	}
	return 0
}

// ChangeTree is the mapping of the change tree named dir, if CHANGE_TREES has one.
func ChangeTree(cfg *sysconfig.Config, dir string) (sysconfig.ChangeTree, bool) {
	for _, t := range cfg.ChangeTrees {
		if t.Dir == dir {
			return t, true
		}
	}
	return sysconfig.ChangeTree{}, false
}

// UnmappedRemovals are d's removals in change trees that CHANGE_TREES does not map: this
// host has no such tree, and the apply leaves them out, as it leaves out such a tree's
// entries.
func UnmappedRemovals(cfg *sysconfig.Config, d *hotfix.Dir) []hotfix.Removal {
	var out []hotfix.Removal
	for _, r := range d.Removals {
		if _, ok := ChangeTree(cfg, r.Tree()); !ok {
			out = append(out, r)
		}
	}
	return out
}

// OverChildren is names, the entries of directory dir in the product, as the earlier hotfixes
// of a run leave them (Over): with what they place in it, without what they remove.
func OverChildren(names []string, dir string, earlier map[string]PlacedBy) []string {
	if len(earlier) == 0 {
		return names
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	for target, e := range earlier {
		if path.Dir(target) == dir {
			set[path.Base(target)] = !e.Gone
		}
	}
	var out []string
	for n, there := range set {
		if there {
			out = append(out, n)
		}
	}
	return out
}
