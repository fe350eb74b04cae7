package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// servable says why the package at href (slash-separated, relative to the repository
// directory that root opens) cannot be fetched through hotchain serve, or nil when it can.
// The metadata lists only what will be served: a package listed but not served is offered
// to every host, which then fails to download it. FindPackages leaves out symlinks that
// resolve outside the directory; servable holds every listed path to what Serve's os.Root
// follows: no symlink out of the directory and no absolute symlink (os.Root follows
// neither, even one that points back inside), and a regular file at the end. Hidden names
// are FindPackages' business (listed, with a warning, as createrepo_c lists them).
func servable(root *os.Root, href string) error {
	fi, err := root.Stat(filepath.FromSlash(href))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("a symlink to nothing: remove it or point it at a package in the repository")
	case err != nil:
		// os.Root's error for a symlink out of the root or an absolute one.
		return fmt.Errorf("a symlink that hotchain serve does not follow (%v): make it relative and inside the repository, or copy the package in", err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%v): remove it", fi.Mode().Type())
	}
	return nil
}
