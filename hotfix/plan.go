package hotfix

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// plan lays every entry of the hotfix's change trees over its target root and checks each
// before anything is touched: no target may leave its root (through a symlink on the way),
// and a file may not replace a directory or the other way round.
func (h *Host) plan(d *Dir) ([]op, []dirTime, error) {
	var ops []op
	dirs := map[string]time.Time{}
	for _, tree := range h.Cfg.ChangeTrees {
		prefix := tree.Dir + "/"
		base := h.Cfg.InRoot(tree.Root)
		realBase, err := filepath.EvalSymlinks(base)
		if err != nil {
			if !os.IsNotExist(err) {
				return nil, nil, fmt.Errorf("target root %s of %s: %w", base, tree.Dir, err)
			}
			has := false
			for _, e := range d.Entries {
				has = has || strings.HasPrefix(e.Rel, prefix)
			}
			if has {
				return nil, nil, fmt.Errorf("target root %s of %s does not exist (CHANGE_TREES): create it or fix the setting", base, tree.Dir)
			}
			continue
		}
		for _, e := range d.Entries {
			rel, ok := strings.CutPrefix(e.Rel, prefix)
			if !ok {
				continue
			}
			o := op{Tree: tree.Dir, Rel: rel, Target: path.Join(tree.Root, rel), Mode: e.Mode.Perm(), SHA256: e.SHA256, Link: e.Link}
			switch {
			case e.IsDir():
				o.Kind = kindDir
			case e.IsLink():
				o.Kind = kindLink
			default:
				o.Kind = kindFile
			}
			full := filepath.Join(base, filepath.FromSlash(rel))
			if err := checkInside(base, realBase, full, o.Kind == kindDir); err != nil {
				return nil, nil, fmt.Errorf("%s/%s: %w", tree.Dir, rel, err)
			}
			fi, err := os.Lstat(full)
			switch {
			case os.IsNotExist(err):
			case err != nil:
				return nil, nil, fmt.Errorf("%s/%s: %w", tree.Dir, rel, err)
			default:
				o.Existed = kindOfInfo(fi)
				if o.Existed == "" {
					return nil, nil, fmt.Errorf("%s/%s: target %s is a %s: a hotfix replaces only files, directories and symlinks", tree.Dir, rel, full, kindOf(fi.Mode()))
				}
				// A symlink to a directory counts as the directory it leads to (checked inside).
				if o.Kind == kindDir && o.Existed == kindLink {
					if st, err := os.Stat(full); err == nil && st.IsDir() {
						o.Existed = kindDir
					}
				}
				if (o.Kind == kindDir) != (o.Existed == kindDir) {
					return nil, nil, fmt.Errorf("%s/%s: the hotfix has a %s where %s is a %s: fix the hotfix or the product tree", tree.Dir, rel, o.Kind, full, o.Existed)
				}
			}
			// Adding, replacing or removing an entry changes its directory's mtime;
			// rollback puts the times of directories that existed back.
			parent := filepath.Dir(full)
			if _, seen := dirs[parent]; !seen && o.Existed != kindDir {
				if st, err := os.Stat(parent); err == nil {
					dirs[parent] = st.ModTime()
				}
			}
			ops = append(ops, o)
		}
	}
	var dts []dirTime
	for p, t := range dirs {
		dts = append(dts, dirTime{Path: h.hostView(p), ModTime: t})
	}
	sortDirTimes(dts)
	return ops, dts, nil
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
		if real != realBase && !strings.HasPrefix(real, realBase+string(filepath.Separator)) {
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

// hostView strips the -root prefix from a path this process uses.
func (h *Host) hostView(p string) string {
	root := h.Cfg.Root
	if root == "" || root == "/" {
		return p
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}

func sortDirTimes(d []dirTime) {
	sort.Slice(d, func(i, j int) bool { return d[i].Path < d[j].Path })
}
