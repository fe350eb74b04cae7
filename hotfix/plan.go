package hotfix

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotchain/hotchain/sysconfig"
)

// treeRoot is a change tree's target root as this process sees it, and resolved.
type treeRoot struct {
	dir  string // change tree name, e.g. FileChanges
	base string // InRoot(tree root)
	real string // base with symlinks resolved
}

// treeRoots resolves the target roots of the change trees; a root that does not exist is
// left out (with real ""). A root that resolves out of -root is refused: the hotfix would
// write on the machine outside the sandbox.
func (h *Host) treeRoots() (map[string]treeRoot, error) {
	roots := map[string]treeRoot{}
	realRoot := ""
	if r := h.Cfg.Root; r != "" && r != "/" {
		var err error
		if realRoot, err = filepath.EvalSymlinks(r); err != nil {
			return nil, fmt.Errorf("root %s: %w", r, err)
		}
	}
	for _, tree := range h.Cfg.ChangeTrees {
		t := treeRoot{dir: tree.Dir, base: h.Cfg.InRoot(tree.Root)}
		real, err := filepath.EvalSymlinks(t.base)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			return nil, fmt.Errorf("target root %s of %s: %w", t.base, tree.Dir, err)
		case realRoot != "" && !within(realRoot, real):
			return nil, fmt.Errorf("target root %s of %s resolves to %s, outside the root %s: an absolute symlink in the image? make it relative", t.base, tree.Dir, real, h.Cfg.Root)
		default:
			t.real = real
		}
		roots[tree.Dir] = t
	}
	return roots, nil
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// placedMode is the mode a hotfix entry gets in the product: its permissions and sticky bit,
// never setuid or setgid. A hotfix file is owned by the user of the entry it replaces, or of
// its directory (ownerOf), not by whoever owns it in the hotfix directory, so a setuid bit
// carried over would run a file that anyone who could write the hotfix directory wrote as
// root. The tarball path strips these bits when it unpacks (unpack.Tarball); this
// holds the directory path and the RPM path to the same rule. A replaced setuid product file
// loses the bit too (rollback gives it back); a product that needs one sets it in an Install
// script, which is part of the signed hotfix and runs as root.
func placedMode(m fs.FileMode) fs.FileMode { return m & (fs.ModePerm | fs.ModeSticky) }

// plan lays every entry of the hotfix's change trees over its target root and checks each
// before anything is touched: no target may leave its root (through a symlink on the way),
// a symlink the hotfix places may not point out of its tree, no two entries may land on one
// target, and a file may not replace a directory or the other way round. The removals of
// FileRemovals follow the entries (planRemovals).
func (h *Host) plan(d *Dir) ([]op, []dirTime, error) { return h.planOver(d, nil) }

// planOver is plan with the removals checked against what earlier hotfixes of a run leave
// (earlier, by target; a dry run of a chain), where they name an entry.
func (h *Host) planOver(d *Dir, earlier map[string]placedBy) ([]op, []dirTime, error) {
	roots, err := h.treeRoots()
	if err != nil {
		return nil, nil, err
	}
	var ops []op
	dirs := map[string]time.Time{}
	targets := map[string]string{} // target -> tree/rel that lands there
	links := map[string]bool{}     // targets the hotfix makes symlinks
	// What every entry of one directory shares is looked at once per directory: the way
	// there (checkInside of the directory, as checkInside of a file or symlink in it
	// would look at it) and where it really is (a hotfix of 1,000 files has a few dozen).
	insideErr := map[string]error{}
	realDir := map[string]string{}
	for _, tree := range h.Cfg.ChangeTrees {
		prefix := tree.Dir + "/"
		tr := roots[tree.Dir]
		for _, e := range d.Entries {
			rel, ok := strings.CutPrefix(e.Rel, prefix)
			if !ok {
				continue
			}
			where := tree.Dir + "/" + rel
			if tr.real == "" {
				return nil, nil, fmt.Errorf("%s: target root %s does not exist (CHANGE_TREES): create it or fix the setting", where, tr.base)
			}
			o, err := newOp(tree, rel, e)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			if o.Kind == kindLink {
				links[o.Target] = true
			}
			if other, dup := targets[o.Target]; dup && o.Kind != kindDir {
				return nil, nil, fmt.Errorf("%s and %s both land on %s: a target may come from one change tree only", other, where, o.Target)
			}
			targets[o.Target] = where
			full := filepath.Join(tr.base, filepath.FromSlash(rel))
			var inside error
			if dir := filepath.Dir(full); o.Kind == kindDir || dir == tr.base {
				inside = checkInside(tr.base, tr.real, full, o.Kind == kindDir)
			} else if err, seen := insideErr[dir]; seen {
				inside = err
			} else {
				inside = checkInside(tr.base, tr.real, dir, true)
				insideErr[dir] = inside
			}
			if inside != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, inside)
			}
			if o.Existed, err = existedAt(full, o.Kind); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			// Adding, replacing or removing an entry changes its directory's mtime;
			// rollback puts the times of directories that existed back, on the directory
			// itself when the way there goes through a symlink.
			if o.Existed != kindDir {
				parent, seen := realDir[filepath.Dir(full)]
				if !seen {
					if p, err := filepath.EvalSymlinks(filepath.Dir(full)); err == nil {
						parent = p
					}
					realDir[filepath.Dir(full)] = parent
				}
				if parent != "" {
					if _, seen := dirs[parent]; !seen {
						if st, err := os.Stat(parent); err == nil {
							dirs[parent] = st.ModTime()
						}
					}
				}
			}
			ops = append(ops, o)
		}
	}
	for _, o := range ops {
		for p := path.Dir(o.Target); p != "/" && p != "."; p = path.Dir(p) {
			if links[p] {
				return nil, nil, fmt.Errorf("%s/%s: it lies below %s, which the same hotfix makes a symlink", o.Tree, o.Rel, p)
			}
		}
	}
	removals, err := h.planRemovals(d, roots, targets, links, dirs, earlier)
	if err != nil {
		return nil, nil, err
	}
	ops = append(ops, removals...)
	if err := checkTempNames(ops, roots); err != nil {
		return nil, nil, err
	}
	var dts []dirTime
	for p, t := range dirs {
		dts = append(dts, dirTime{Path: h.hostView(p), ModTime: t})
	}
	sort.Slice(dts, func(i, j int) bool { return dts[i].Path < dts[j].Path })
	return ops, dts, nil
}

// newOp is the entry e of change tree tree at rel, as the apply will place it: a link must
// stay inside its tree, and a placed file never gets setuid or setgid (placedMode).
func newOp(tree sysconfig.ChangeTree, rel string, e Entry) (op, error) {
	o := op{Tree: tree.Dir, Rel: rel, Target: path.Join(tree.Root, rel), SHA256: e.SHA256, Link: e.Link,
		Mode: placedMode(e.Mode)}
	switch {
	case e.IsDir():
		o.Kind = kindDir
	case e.IsLink():
		o.Kind = kindLink
		if t := path.Join(path.Dir(rel), e.Link); path.IsAbs(e.Link) || t == ".." || strings.HasPrefix(t, "../") {
			return op{}, fmt.Errorf("symlink -> %s points out of its tree %s: a hotfix places only links that stay inside their target root", e.Link, tree.Dir)
		}
	default:
		o.Kind = kindFile
	}
	return o, nil
}

// existedAt is what lies at full before the apply ("" for nothing), for an entry of kind
// kind, or why that entry cannot go there. A directory goes only where a directory is (a
// symlink to a directory counts as one: it is checked inside); a file or symlink goes
// where a file, a symlink or nothing is, never over a directory or a symlink to one.
func existedAt(full, kind string) (string, error) {
	fi, err := os.Lstat(full)
	switch {
	case os.IsNotExist(err):
		return "", nil
	case err != nil:
		return "", err
	}
	existed := kindOfInfo(fi)
	if existed == "" {
		return "", fmt.Errorf("target %s is a %s: a hotfix replaces only files, directories and symlinks", full, KindOf(fi.Mode()))
	}
	linkToDir := false
	if existed == kindLink {
		st, err := os.Stat(full)
		linkToDir = err == nil && st.IsDir()
	}
	shown := existed
	switch {
	case kind == kindDir && (existed == kindDir || linkToDir):
		return kindDir, nil
	case kind != kindDir && existed != kindDir && !linkToDir:
		return existed, nil
	case linkToDir:
		shown = "symlink to a directory"
	}
	return "", fmt.Errorf("the hotfix has a %s where %s is a %s: fix the hotfix or the product tree", kind, full, shown)
}

// checkTempNames refuses a product entry that bears the temporary name hotchain gives an
// entry of this hotfix (newTemp, oldTemp): place, restore and a rollback remove what is at
// those names before they write there, since after a crash it is theirs. Any name may be a
// product file's, so no choice of names avoids this; it is looked for once here, before the
// first write, with one directory read per target directory.
func checkTempNames(ops []op, roots map[string]treeRoot) error {
	temps := map[string]map[string]op{} // directory -> temporary name -> entry
	for _, o := range ops {
		if o.Existed == kindDir || (o.Remove && o.Existed == "") {
			continue // neither placed nor removed, nor restored by a rollback
		}
		full := filepath.Join(roots[o.Tree].base, filepath.FromSlash(o.Rel))
		dir := filepath.Dir(full)
		if temps[dir] == nil {
			temps[dir] = map[string]op{}
		}
		for _, t := range []string{newTemp(full), oldTemp(full)} {
			temps[dir][filepath.Base(t)] = o
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(temps)) {
		f, err := os.Open(dir)
		if os.IsNotExist(err) {
			continue // made by this hotfix
		}
		if err != nil {
			return err
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return fmt.Errorf("read directory %s: %w", dir, err)
		}
		for _, name := range names {
			if o, clash := temps[dir][name]; clash {
				return withHint(fmt.Errorf("%s/%s: %s is already there, under the name hotchain gives the temporary copy of %s: the apply or a rollback would remove it",
					o.Tree, o.Rel, filepath.Join(dir, name), o.Target),
					"it is no file hotchain made (no apply of this hotfix is under way): rename or remove it, then apply again")
			}
		}
	}
	return nil
}

// checkInside refuses full when the part of it below base passes through a symlink that
// leads out of base. full itself may be a symlink unless it is used as a directory.
func checkInside(base, realBase, full string, asDir bool) error {
	rel, err := filepath.Rel(base, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return fmt.Errorf("path leaves its target root %s", base)
	}
	parts := strings.Split(rel, string(filepath.Separator))
	cur := base
	for i, p := range parts {
		cur = filepath.Join(cur, p)
		last := i == len(parts)-1
		fi, err := os.Lstat(cur)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 || (last && !asDir) {
			continue
		}
		real, err := filepath.EvalSymlinks(cur)
		if err != nil {
			return fmt.Errorf("path goes through symlink %s, which cannot be resolved: %v", cur, err)
		}
		if !within(realBase, real) {
			target, _ := os.Readlink(cur)
			return fmt.Errorf("path leaves its target root %s through symlink %s -> %s: a hotfix writes only inside its root (make the symlink point inside the root, or map the tree elsewhere with CHANGE_TREES)", base, cur, target)
		}
	}
	return nil
}

func kindOfInfo(fi fs.FileInfo) string {
	switch {
	case fi.Mode().IsRegular():
		return kindFile
	case fi.IsDir():
		return kindDir
	case fi.Mode()&fs.ModeSymlink != 0:
		return kindLink
	}
	return ""
}

// hostView strips the -root prefix from a path this process uses (resolved or not).
func (h *Host) hostView(p string) string {
	root := h.Cfg.Root
	if root == "" || root == "/" {
		return p
	}
	for _, r := range []string{root, realPath(root)} {
		if rel, err := filepath.Rel(r, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return "/" + filepath.ToSlash(rel)
		}
	}
	return p
}

func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}
