package repo

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// FindPackages lists the *.rpm files under dir as slash-separated relative paths, in the
// order of the metadata, as createrepo_c's directory walk finds them: hidden files and
// directories included, symlinks followed (to files and to directories), ordered by file
// name, then by directory (comparePackagePaths). Two things it does not do as createrepo_c
// does, each with a warning on log: a symlink that leads outside dir is not followed
// (`hotchain serve` would not serve what it points at, and a repository must not publish
// what it does not hold), and a directory that is its own ancestor through a symlink is
// not entered again (createrepo_c lists its packages once per loop until the kernel's
// symlink limit). Hidden packages are listed, with a warning, and `hotchain serve` serves
// them (it refuses other hidden files).
func FindPackages(dir string, log io.Writer) ([]string, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	w := walker{dir: dir, root: root, log: log}
	if err := w.walk("", []string{root}); err != nil {
		return nil, err
	}
	slices.SortFunc(w.hrefs, comparePackagePaths)
	return w.hrefs, nil
}

type walker struct {
	dir, root string // as given, and with its symlinks resolved
	log       io.Writer
	hrefs     []string
}

// walk lists the directory rel (relative to w.dir, slash-separated, "" for w.dir itself);
// ancestors are the resolved paths of the directories from the root down to it.
func (w *walker) walk(rel string, ancestors []string) error {
	full := filepath.Join(w.dir, filepath.FromSlash(rel))
	entries, err := os.ReadDir(full)
	if err != nil {
		return fmt.Errorf("list packages: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		childRel := path.Join(rel, name)
		child := filepath.Join(full, name)
		typ := e.Type()
		isDir, isRegular := typ.IsDir(), typ.IsRegular()
		if typ&os.ModeSymlink != 0 {
			fi, err := os.Stat(child) // followed, as createrepo_c's g_file_test does
			if err != nil {
				continue // dangling: createrepo_c skips it too
			}
			isDir, isRegular = fi.IsDir(), fi.Mode().IsRegular()
		}
		if !isDir && !(isRegular && strings.HasSuffix(name, ".rpm")) {
			continue
		}
		// The resolved path: the parent's and the name, unless the entry is a symlink.
		real := filepath.Join(ancestors[len(ancestors)-1], name)
		if e.Type()&os.ModeSymlink != 0 {
			if real, err = filepath.EvalSymlinks(child); err != nil {
				continue
			}
			if !inside(w.root, real) {
				fmt.Fprintf(w.log, "warning: %s is a symlink to %s, outside the repository: not listed (hotchain serve would not serve it)\n", childRel, real)
				continue
			}
		}
		if isDir {
			if slices.Contains(ancestors, real) {
				fmt.Fprintf(w.log, "warning: %s leads back to %s through a symlink: not entered again\n", childRel, real)
				continue
			}
			if err := w.walk(childRel, append(ancestors[:len(ancestors):len(ancestors)], real)); err != nil {
				return err
			}
			continue
		}
		if hidden(childRel) {
			fmt.Fprintf(w.log, "warning: %s is hidden: listed, as createrepo_c does (hotchain serve serves hidden packages too)\n", childRel)
		}
		w.hrefs = append(w.hrefs, childRel)
	}
	return nil
}

// inside reports whether the resolved path p is root or under it.
func inside(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator)) || root == string(filepath.Separator)
}

// hidden reports whether an element of the slash-separated path rel starts with a dot.
func hidden(rel string) bool {
	for _, elem := range strings.Split(rel, "/") {
		if strings.HasPrefix(elem, ".") {
			return true
		}
	}
	return false
}

// comparePackagePaths orders hrefs as createrepo_c orders its packages (task_cmp): by file
// name, then by directory, byte by byte (the top directory, "", first).
func comparePackagePaths(a, b string) int {
	da, na := splitHref(a)
	db, nb := splitHref(b)
	if c := strings.Compare(na, nb); c != 0 {
		return c
	}
	return cmp.Compare(da, db)
}

func splitHref(h string) (dir, name string) {
	i := strings.LastIndexByte(h, '/')
	if i < 0 {
		return "", h
	}
	return h[:i], h[i+1:]
}
