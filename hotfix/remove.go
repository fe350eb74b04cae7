package hotfix

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/sysconfig"
)

// The applier's side of FileRemovals (removals.go has the format). A removal is an op of the
// journal with Remove set: Kind is what FileRemovals removes (file, link or dir), Existed
// what was there when the plan looked ("" when it was absent already: nothing is removed,
// and rollback creates nothing), Mode, SHA256 and Link describe it. The backup step keeps a
// removed entry in Backup-<host>/ as it keeps a replaced one (a directory as a directory with
// its mode, owner and modification time), the apply step removes it after the hotfix's
// entries are placed (files and symlinks, then directories, deepest first), and undo puts it
// back (directories, shallowest first, then files and symlinks; the directories' times last).

// readRemovals reads d's FileRemovals into d.Removals and refuses what no host could apply:
// a removal of an entry that the hotfix itself places (a file, a symlink, or a directory it
// places entries in), and one below a file or symlink that it removes.
func (d *Dir) readRemovals() error {
	e, ok := d.entry(RemovalsFile)
	if !ok {
		return nil
	}
	p := filepath.Join(d.Path, RemovalsFile)
	if !e.Mode.IsRegular() {
		return fmt.Errorf("%s is not a regular file: FileRemovals is a list of what the hotfix removes", p)
	}
	rs, err := ReadRemovals(d.Path)
	if err != nil {
		return err
	}
	removed := map[string]Removal{}
	for _, r := range rs {
		removed[r.Path] = r
	}
	for _, r := range rs {
		if e, ok := d.entry(r.Path); ok {
			return withHint(fmt.Errorf("%s: %s is removed, and the hotfix also holds it (a %s): a hotfix places an entry or removes it, not both",
				p, shownName(r.Path), entryKind(e)),
				"take it out of FileRemovals, or out of the change tree")
		}
		for q := path.Dir(r.Path); strings.Contains(q, "/"); q = path.Dir(q) {
			if up, ok := removed[q]; ok && up.Kind != RemoveDir {
				return fmt.Errorf("%s: %s lies below %s, which is removed as a %s: list only the %s", p, shownName(r.Path), shownName(q), up.Kind, up.Kind)
			}
		}
	}
	d.Removals = rs
	return nil
}

// entry is d's entry at rel.
func (d *Dir) entry(rel string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(d.Entries, rel, func(e Entry, rel string) int { return strings.Compare(e.Rel, rel) })
	if !ok {
		return Entry{}, false
	}
	return d.Entries[i], true
}

func entryKind(e Entry) string {
	switch {
	case e.IsDir():
		return "directory"
	case e.IsLink():
		return "symlink"
	}
	return "file"
}

// RemovalMismatchError is a FileRemovals entry that is not what the product holds: a file
// whose content drifted, a symlink that points elsewhere, a directory that would not be
// empty, or another kind of entry. The apply refuses before its first write.
type RemovalMismatchError struct {
	Problems []string // one per entry: its path, what it is now and what FileRemovals expects
}

func (e *RemovalMismatchError) Error() string {
	shown := e.Problems
	if len(shown) > 10 {
		shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(e.Problems)-10))
	}
	return "FileRemovals does not match the product, nothing was removed:\n  " + strings.Join(shown, "\n  ")
}

// Hint says what to do about a mismatch.
func (e *RemovalMismatchError) Hint() string {
	return "restore each entry as the previous hotfix left it (hotchain verify lists drift; the backups of earlier hotfixes are in their Backup-<host>/), or ask the vendor for a hotfix that expects what is there; nothing was changed"
}

// planRemovals plans d's removals, after the entries the hotfix places (placed: target ->
// where it comes from; links: targets the hotfix makes symlinks). Each removal lands below
// its change tree's target root as an entry does, and must not leave it through a symlink;
// its directory must not be a symlink. The entry must be what FileRemovals says: a regular
// file with that SHA-256, a symlink whose target has it, a directory that is empty once the
// removals below it are done. An entry that is absent already is planned as such. A removal
// in a change tree that CHANGE_TREES does not map is left out, as the entries of such a tree
// are (unmapped lists them). The times of the directories the removals change go into dirs.
func (h *Host) planRemovals(d *Dir, roots map[string]treeRoot, placed map[string]string, links map[string]bool, dirs map[string]time.Time, earlier map[string]placedBy) ([]op, error) {
	var ops []op
	var problems []string
	removed := map[string]string{} // target -> the line that removes it
	// The directories the hotfix places entries in, whichever tree they come from: a
	// removed directory would not be empty.
	var holds map[string]string
	for _, r := range d.Removals {
		if r.Kind == RemoveDir && holds == nil {
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
	}
	for _, r := range d.Removals {
		tree, ok := h.changeTree(r.Tree())
		if !ok {
			continue
		}
		tr := roots[tree.Dir]
		where := "FileRemovals: " + shownName(r.Path)
		if tr.real == "" {
			return nil, fmt.Errorf("%s: target root %s does not exist (CHANGE_TREES): create it or fix the setting", where, tr.base)
		}
		o := op{Tree: tree.Dir, Rel: r.Rel(), Target: path.Join(tree.Root, r.Rel()), Kind: r.Kind, SHA256: r.SHA256, Remove: true}
		if other, dup := removed[o.Target]; dup {
			return nil, fmt.Errorf("%s and %s both remove %s: a target may come from one change tree only", shownName(other), where, shownName(o.Target))
		}
		removed[o.Target] = "FileRemovals: " + shownName(r.Path)
		if other, dup := placed[o.Target]; dup {
			return nil, fmt.Errorf("%s: the hotfix places %s on %s, which it also removes", where, shownName(other), shownName(o.Target))
		}
		if other, ok := holds[o.Target]; ok && o.Kind == kindDir {
			return nil, fmt.Errorf("%s: the hotfix places %s in %s, which it also removes", where, shownName(other), shownName(o.Target))
		}
		for p := path.Dir(o.Target); p != "/" && p != "."; p = path.Dir(p) {
			if links[p] {
				return nil, fmt.Errorf("%s: it lies below %s, which the same hotfix makes a symlink", where, shownName(p))
			}
		}
		full := filepath.Join(tr.base, filepath.FromSlash(o.Rel))
		if err := checkInside(tr.base, tr.real, full, false); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		parent := filepath.Dir(full)
		if fi, err := os.Lstat(parent); err == nil && fi.Mode()&fs.ModeSymlink != 0 && parent != tr.base {
			target, _ := os.Readlink(parent)
			return nil, withHint(fmt.Errorf("%s: its directory %s is a symlink (-> %s)", where, parent, target),
				"FileRemovals names an entry by the directory it is in, not through a symlink: ask the vendor for the real path")
		}
		var now, sum, by string
		if e, ok := earlier[o.Target]; ok {
			// A dry run of a chain: an earlier hotfix of the run places it or removes it.
			if e.gone {
				ops = append(ops, o)
				continue
			}
			o.Existed, o.Link, sum, by = e.kind, e.link, e.sha256, " (placed by "+e.version+" earlier in this run)"
			if e.kind == kindLink {
				sum = LinkSHA256(e.link)
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
			// The kind is apart: the mode as the journal keeps a placed entry's, with the
			// bits a rollback gives back.
			o.Existed, o.Mode = kindOfInfo(fi), fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
			now = "a " + KindOf(fi.Mode())
			switch o.Existed {
			case kindFile:
				if sum, err = fileSHA256(full); err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
			case kindLink:
				if o.Link, err = os.Readlink(full); err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				sum = LinkSHA256(o.Link)
			}
		}
		switch o.Existed {
		case kindFile:
			now = "a file with SHA-256 " + sum + by
		case kindLink:
			now = fmt.Sprintf("a symlink to %s (SHA-256 of the target %s)%s", shownName(o.Link), sum, by)
		case kindDir:
			now = "a directory" + by
		}
		if o.Existed != o.Kind || sum != o.SHA256 {
			want := "a directory"
			switch o.Kind {
			case kindFile:
				want = "a file with SHA-256 " + o.SHA256
			case kindLink:
				want = "a symlink whose target has SHA-256 " + o.SHA256
			}
			problems = append(problems, fmt.Sprintf("%s is %s; FileRemovals expects %s", shownName(o.Target), now, want))
			continue
		}
		// Removing an entry changes its directory's time; rollback puts it back. A removed
		// directory's own time is recorded too, so that a prepared apply sees an entry
		// added to it since (recheckPrepared).
		for _, p := range []string{parent, full} {
			if by != "" {
				break // a dry run's: no times are put back
			}
			if p == full && o.Kind != kindDir {
				continue
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
		if o.Kind != kindDir || o.Existed != kindDir {
			continue
		}
		names, err := readNames(filepath.Join(roots[o.Tree].base, filepath.FromSlash(o.Rel)))
		if err != nil && (earlier == nil || !errors.Is(err, fs.ErrNotExist)) {
			return nil, fmt.Errorf("FileRemovals: %s: %w", shownName(o.Tree+"/"+o.Rel), err)
		}
		names = overChildren(names, o.Target, earlier)
		var left []string
		for _, n := range names {
			if !gone[path.Join(o.Target, n)] {
				left = append(left, shownName(n))
			}
		}
		if len(left) > 0 {
			slices.Sort(left)
			if len(left) > 5 {
				left = append(left[:5:5], fmt.Sprintf("and %d more", len(left)-5))
			}
			problems = append(problems, fmt.Sprintf("%s is a directory that still holds %s once the removals are done; FileRemovals expects it to be empty then",
				shownName(o.Target), strings.Join(left, ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, &RemovalMismatchError{Problems: problems}
	}
	// Files and symlinks first, then directories, deepest first: undo, which goes through
	// the ops backwards, makes the directories again before it puts their entries back.
	slices.SortStableFunc(ops, func(a, b op) int {
		if (a.Kind == kindDir) != (b.Kind == kindDir) {
			if a.Kind == kindDir {
				return 1
			}
			return -1
		}
		if a.Kind == kindDir {
			if da, db := strings.Count(a.Target, "/"), strings.Count(b.Target, "/"); da != db {
				return db - da
			}
		}
		return strings.Compare(a.Target, b.Target)
	})
	return ops, nil
}

// changeTree is the mapping of the change tree named dir, if CHANGE_TREES has one.
func (h *Host) changeTree(dir string) (sysconfig.ChangeTree, bool) {
	for _, t := range h.Cfg.ChangeTrees {
		if t.Dir == dir {
			return t, true
		}
	}
	return sysconfig.ChangeTree{}, false
}

// unmappedRemovals are d's removals in change trees that CHANGE_TREES does not map: this
// host has no such tree, and the apply leaves them out, as it leaves out such a tree's
// entries.
func (h *Host) unmappedRemovals(d *Dir) []Removal {
	var out []Removal
	for _, r := range d.Removals {
		if _, ok := h.changeTree(r.Tree()); !ok {
			out = append(out, r)
		}
	}
	return out
}

// removeEntries carries out the removals of j (after the hotfix's entries are placed): each
// file or symlink is unlinked, then each directory removed, deepest first. An entry gone
// already (a resumed apply) is fine; a directory that is not empty stops the apply, which a
// rollback then undoes.
func (h *Host) removeEntries(d *Dir, j *journal, roots map[string]treeRoot, w io.Writer) error {
	for _, r := range h.unmappedRemovals(d) {
		fmt.Fprintf(w, "    skip    %s (FileRemovals: change tree %s is not mapped by CHANGE_TREES on this host)\n", shownName(r.Path), r.Tree())
	}
	for _, o := range j.Ops {
		if !o.Remove {
			continue
		}
		if o.Existed == "" {
			fmt.Fprintf(w, "    absent  %s (already absent: nothing to remove)\n", shownName(o.Target))
			continue
		}
		tr := roots[o.Tree]
		full := h.Cfg.InRoot(o.Target)
		// The tree may have changed since the plan (a resumed apply): check again.
		if err := checkInside(tr.base, tr.real, full, false); err != nil {
			return fmt.Errorf("FileRemovals: %s/%s: %w", o.Tree, o.Rel, err)
		}
		verb := "remove "
		if o.Kind == kindDir {
			verb = "rmdir  "
			if err := unix.Rmdir(full); err != nil && err != unix.ENOENT {
				if err == unix.ENOTEMPTY || err == unix.EEXIST {
					names, _ := readNames(full)
					return fmt.Errorf("remove directory %s: it is not empty (%s): something was added since the plan looked", full, strings.Join(names, ", "))
				}
				return fmt.Errorf("remove directory %s: %w", full, err)
			}
		} else if err := unix.Unlink(full); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove %s: %w", full, err)
		}
		fmt.Fprintf(w, "    %s %s\n", verb, shownName(o.Target))
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
		return withHint(fmt.Errorf("restore directory %s: a %s is there now", target, orSpecial(kindOfInfo(fi))),
			"move it away, then roll back again")
	}
	return nil
}

// undoRemoval puts back what removal o took away (nothing when it was absent already): a
// directory is made again (restoreDir), a file or symlink restored from its backup in bdir.
// Nothing is restored through a symlink that now leads out of the root.
func (h *Host) undoRemoval(o op, tr treeRoot, bdir string, out io.Writer) error {
	if o.Existed == "" {
		return nil
	}
	full := h.Cfg.InRoot(o.Target)
	if err := checkInside(tr.base, tr.real, full, false); err != nil {
		return fmt.Errorf("roll back %s/%s: %w", o.Tree, o.Rel, err)
	}
	bak := filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel))
	if o.Existed == kindDir {
		if err := restoreDir(bak, full); err != nil {
			return err
		}
		fmt.Fprintf(out, "    restore %s/\n", shownName(o.Target))
	} else {
		if err := restore(bak, full); err != nil {
			return err
		}
		fmt.Fprintf(out, "    restore %s\n", shownName(o.Target))
	}
	h.step("undo " + o.Target)
	return nil
}

// overChildren is names, the entries of directory dir in the product, as the earlier hotfixes
// of a run leave them (planOver): with what they place in it, without what they remove.
func overChildren(names []string, dir string, earlier map[string]placedBy) []string {
	if len(earlier) == 0 {
		return names
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	for target, e := range earlier {
		if path.Dir(target) == dir {
			set[path.Base(target)] = !e.gone
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
