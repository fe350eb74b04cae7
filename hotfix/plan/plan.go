// Package plan holds the plan of an apply: how each entry of a hotfix's change trees and
// each line of its FileRemovals lands on this host's product (journal.Op, the journal's
// entries), checked against the product before anything is written: no target leaves its
// root, no two entries land on one target, no temporary name is taken, a removal finds what
// FileRemovals expects; and the space the plan needs on each file system (SpaceNeeds). The
// apply and the dry run both plan through it. It only reads the product (stat, readlink, the
// SHA-256 of a file to remove, statfs); it must not write anything, take a lock or run a
// script.
package plan

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

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/sysconfig"
)

// TreeRoot is a change tree's target root as this process sees it, and resolved.
type TreeRoot struct {
	Dir  string // change tree name, e.g. FileChanges
	Base string // InRoot(tree root)
	Real string // base with symlinks resolved
}

// TreeRoots resolves the target roots of the change trees; a root that does not exist is
// left out (with real ""). A root that resolves out of -root is refused: the hotfix would
// write on the machine outside the sandbox.
func TreeRoots(cfg *sysconfig.Config) (map[string]TreeRoot, error) {
	roots := map[string]TreeRoot{}
	realRoot := ""
	if r := cfg.Root; r != "" && r != "/" {
		var err error
		if realRoot, err = filepath.EvalSymlinks(r); err != nil {
			return nil, fmt.Errorf("root %s: %w", r, err)
		}
	}
	for _, tree := range cfg.ChangeTrees {
		t := TreeRoot{Dir: tree.Dir, Base: cfg.InRoot(tree.Root)}
		real, err := filepath.EvalSymlinks(t.Base)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			return nil, fmt.Errorf("target root %s of %s: %w", t.Base, tree.Dir, err)
		case realRoot != "" && !Within(realRoot, real):
			return nil, fmt.Errorf("target root %s of %s resolves to %s, outside the root %s: an absolute symlink in the image? make it relative", t.Base, tree.Dir, real, cfg.Root)
		default:
			t.Real = real
		}
		roots[tree.Dir] = t
	}
	return roots, nil
}

// Within reports whether p is dir or below it.
func Within(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// PlacedMode is the mode a hotfix entry gets in the product: its permissions and sticky bit,
// never setuid or setgid. A hotfix file is owned by the user of the entry it replaces, or of
// its directory (fileops.OwnerOf), not by whoever owns it in the hotfix directory, so a
// setuid bit carried over would run a file that anyone who could write the hotfix directory
// wrote as root. The tarball path strips these bits when it unpacks (unpack.Tarball); this
// holds the directory path and the RPM path to the same rule (and fileops.PlaceFile never
// sets them either). A replaced setuid product file
// loses the bit too (rollback gives it back); a product that needs one sets it in an Install
// script, which is part of the signed hotfix and runs as root.
func PlacedMode(m fs.FileMode) fs.FileMode { return m & (fs.ModePerm | fs.ModeSticky) }

// Make lays every entry of the hotfix's change trees over its target root and checks each
// before anything is touched: no target may leave its root (through a symlink on the way),
// a symlink the hotfix places may not point out of its tree, no two entries may land on one
// target, and a file may not replace a directory or the other way round. The removals of
// FileRemovals follow the entries (removals).
func Make(cfg *sysconfig.Config, d *hotfix.Dir) ([]journal.Op, []journal.DirTime, error) {
	return Over(cfg, d, nil)
}

// Over is Make with the removals checked against what earlier hotfixes of a run leave
// (earlier, by target; a dry run of a chain), where they name an entry.
func Over(cfg *sysconfig.Config, d *hotfix.Dir, earlier map[string]PlacedBy) ([]journal.Op, []journal.DirTime, error) {
	roots, err := TreeRoots(cfg)
	if err != nil {
		return nil, nil, err
	}
	var ops []journal.Op
	dirs := map[string]time.Time{}
	targets := map[string]string{} // target -> tree/rel that lands there
	links := map[string]bool{}     // targets the hotfix makes symlinks
	// What every entry of one directory shares is looked at once per directory: the way
	// there (CheckInside of the directory, as CheckInside of a file or symlink in it
	// would look at it) and where it really is (a hotfix of 1,000 files has a few dozen).
	insideErr := map[string]error{}
	realDir := map[string]string{}
	for _, tree := range cfg.ChangeTrees {
		prefix := tree.Dir + "/"
		tr := roots[tree.Dir]
		for _, e := range d.Entries {
			rel, ok := strings.CutPrefix(e.Rel, prefix)
			if !ok {
				continue
			}
			where := tree.Dir + "/" + rel
			if tr.Real == "" {
				return nil, nil, fmt.Errorf("%s: target root %s does not exist (CHANGE_TREES): create it or fix the setting", where, tr.Base)
			}
			o, err := NewOp(tree, rel, e)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			if o.Kind == journal.KindLink {
				links[o.Target] = true
			}
			if other, dup := targets[o.Target]; dup && o.Kind != journal.KindDir {
				return nil, nil, fmt.Errorf("%s and %s both land on %s: a target may come from one change tree only", other, where, o.Target)
			}
			targets[o.Target] = where
			full := filepath.Join(tr.Base, filepath.FromSlash(rel))
			var inside error
			if dir := filepath.Dir(full); o.Kind == journal.KindDir || dir == tr.Base {
				inside = CheckInside(tr.Base, tr.Real, full, o.Kind == journal.KindDir)
			} else if err, seen := insideErr[dir]; seen {
				inside = err
			} else {
				inside = CheckInside(tr.Base, tr.Real, dir, true)
				insideErr[dir] = inside
			}
			if inside != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, inside)
			}
			if o.Existed, err = ExistedAt(full, o.Kind); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			// Adding, replacing or removing an entry changes its directory's mtime;
			// rollback puts the times of directories that existed back, on the directory
			// itself when the way there goes through a symlink.
			if o.Existed != journal.KindDir {
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
	removals, err := removals(cfg, d, roots, targets, links, dirs, earlier)
	if err != nil {
		return nil, nil, err
	}
	ops = append(ops, removals...)
	if err := CheckTempNames(ops, roots); err != nil {
		return nil, nil, err
	}
	var dts []journal.DirTime
	for p, t := range dirs {
		dts = append(dts, journal.DirTime{Path: HostView(cfg, p), ModTime: t})
	}
	sort.Slice(dts, func(i, j int) bool { return dts[i].Path < dts[j].Path })
	return ops, dts, nil
}

// NewOp is the entry e of change tree tree at rel, as the apply will place it: a link must
// stay inside its tree, and a placed file never gets setuid or setgid (PlacedMode).
func NewOp(tree sysconfig.ChangeTree, rel string, e hotfix.Entry) (journal.Op, error) {
	o := journal.Op{Tree: tree.Dir, Rel: rel, Target: path.Join(tree.Root, rel), SHA256: e.SHA256, Link: e.Link,
		Mode: PlacedMode(e.Mode)}
	switch {
	case e.IsDir():
		o.Kind = journal.KindDir
	case e.IsLink():
		o.Kind = journal.KindLink
		if t := path.Join(path.Dir(rel), e.Link); path.IsAbs(e.Link) || t == ".." || strings.HasPrefix(t, "../") {
			return journal.Op{}, fmt.Errorf("symlink -> %s points out of its tree %s: a hotfix places only links that stay inside their target root", e.Link, tree.Dir)
		}
	default:
		o.Kind = journal.KindFile
	}
	return o, nil
}

// ExistedAt is what lies at full before the apply ("" for nothing), for an entry of kind
// kind, or why that entry cannot go there. A directory goes only where a directory is (a
// symlink to a directory counts as one: it is checked inside); a file or symlink goes
// where a file, a symlink or nothing is, never over a directory. A symlink may replace a
// symlink to a directory (current -> 6.14 becoming current -> 6.15, a common product
// layout): the rename replaces the link itself, never what it points to, and Make refuses
// an entry of the same hotfix that would land below it. A file may not: a product that
// had a directory there would have it turned into a file.
func ExistedAt(full, kind string) (string, error) {
	fi, err := os.Lstat(full)
	switch {
	case os.IsNotExist(err):
		return "", nil
	case err != nil:
		return "", err
	}
	existed := KindOfInfo(fi)
	if existed == "" {
		return "", fmt.Errorf("target %s is a %s: a hotfix replaces only files, directories and symlinks", full, hotfix.KindOf(fi.Mode()))
	}
	linkToDir := false
	if existed == journal.KindLink {
		st, err := os.Stat(full)
		linkToDir = err == nil && st.IsDir()
	}
	shown := existed
	switch {
	case kind == journal.KindDir && (existed == journal.KindDir || linkToDir):
		return journal.KindDir, nil
	case kind != journal.KindDir && existed != journal.KindDir && !linkToDir,
		kind == journal.KindLink && linkToDir:
		return existed, nil
	case linkToDir:
		shown = "symlink to a directory"
	}
	return "", fmt.Errorf("the hotfix has a %s where %s is a %s: fix the hotfix or the product tree", kind, full, shown)
}

// CheckTempNames refuses a product entry that bears the temporary name hotchain gives an
// entry of this hotfix (fileops.NewTemp, fileops.OldTemp): place, restore and a rollback
// remove what is at those names before they write there, since after a crash it is theirs.
// Any name may be a product file's, so no choice of names avoids this; it is looked for once
// here, before the first write, with one directory read per target directory.
func CheckTempNames(ops []journal.Op, roots map[string]TreeRoot) error {
	temps := map[string]map[string]journal.Op{} // directory -> temporary name -> entry
	for _, o := range ops {
		if o.Existed == journal.KindDir || (o.Remove && o.Existed == "") {
			continue // neither placed nor removed, nor restored by a rollback
		}
		full := filepath.Join(roots[o.Tree].Base, filepath.FromSlash(o.Rel))
		dir := filepath.Dir(full)
		if temps[dir] == nil {
			temps[dir] = map[string]journal.Op{}
		}
		for _, t := range []string{fileops.NewTemp(full), fileops.OldTemp(full)} {
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
				return hint.With(fmt.Errorf("%s/%s: %s is already there, under the name hotchain gives the temporary copy of %s: the apply or a rollback would remove it",
					o.Tree, o.Rel, filepath.Join(dir, name), o.Target),
					"it is no file hotchain made (no apply of this hotfix is under way): rename or remove it, then apply again")
			}
		}
	}
	return nil
}

// CheckInside refuses full when the part of it below base passes through a symlink that
// leads out of base. full itself may be a symlink unless it is used as a directory.
func CheckInside(base, realBase, full string, asDir bool) error {
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
		if !Within(realBase, real) {
			target, _ := os.Readlink(cur)
			return fmt.Errorf("path leaves its target root %s through symlink %s -> %s: a hotfix writes only inside its root (make the symlink point inside the root, or map the tree elsewhere with CHANGE_TREES)", base, cur, target)
		}
	}
	return nil
}

// KindOfInfo is the journal's kind of an entry (journal.KindFile, KindDir, KindLink), ""
// for any other.
func KindOfInfo(fi fs.FileInfo) string {
	switch {
	case fi.Mode().IsRegular():
		return journal.KindFile
	case fi.IsDir():
		return journal.KindDir
	case fi.Mode()&fs.ModeSymlink != 0:
		return journal.KindLink
	}
	return ""
}

// KindText names a kind for a message: "special file" for "" (KindOfInfo's other entries).
func KindText(kind string) string {
	if kind == "" {
		return "special file"
	}
	return kind
}

// HostView strips the -root prefix from a path this process uses (resolved or not).
func HostView(cfg *sysconfig.Config, p string) string {
	root := cfg.Root
	if root == "" || root == "/" {
		return p
	}
	for _, r := range []string{root, RealPath(root)} {
		if rel, err := filepath.Rel(r, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return "/" + filepath.ToSlash(rel)
		}
	}
	return p
}

func RealPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// PlacedBy is what an earlier hotfix of a run leaves at a target: the entry it places, or
// nothing (gone: it removes it).
type PlacedBy struct {
	Version      string
	Size         int64
	Kind         string
	SHA256, Link string
	Gone         bool
}
