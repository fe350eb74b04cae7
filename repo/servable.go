package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// servable says why the package at href (slash-separated, relative to the repository
// directory that root opens) cannot be fetched by a client, or nil when it can. The
// metadata lists only what will be served: a package listed but not served is offered to
// every host, which then fails to download it. The rule is Serve's (which opens the
// repository root, the parent, through an os.Root), held to the repository directory
// itself: every path element a name Serve serves (not hidden), no symlink that leads out
// of the directory (os.Root refuses to follow one), and a regular file at the end.
func servable(root *os.Root, href string) error {
	if _, ok := servedName(href); !ok {
		return errors.New("a hidden name (hotchain serve does not serve hidden files): rename it")
	}
	fi, err := root.Stat(filepath.FromSlash(href))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("a symlink to nothing: remove it or point it at a package in the repository")
	case err != nil:
		// os.Root's error for a symlink out of the root, an absolute one included.
		return fmt.Errorf("a symlink that leads out of the repository (%v): copy the package into the repository instead", err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%v): remove it", fi.Mode().Type())
	}
	return nil
}
