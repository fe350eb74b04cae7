package sysconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks is how many symlinks one path may go through, as for the kernel (MAXSYMLINKS).
const maxLinks = 40

// RootError is a path of the settings that cannot be taken inside -root: a symlink on the
// way leads out of it, or cannot be followed.
type RootError struct {
	Key, Value string // the setting, e.g. LEDGER_DIR, and its value (host view)
	Root       string // -root
	Msg        string // what is in the way
}

func (e *RootError) Error() string {
	return fmt.Sprintf("%s %s under -root %s: %s", e.Key, e.Value, e.Root, e.Msg)
}

// Hint says what to do.
func (e *RootError) Hint() string {
	return "paths in the settings are taken inside -root as rpm --root takes them (an absolute symlink target starts again at the root): make the symlink point inside the root, or remove it"
}

// Resolve returns where the host-view path p is inside Root, with every symlink on the way,
// the last component's included, followed as the kernel follows it for a process chrooted
// to Root (the way rpm --root and the %post scripts inside dnf's installroot see the
// tree): an absolute target starts again at Root, and a relative one is taken from the
// symlink's directory. A relative target whose ".." would climb above Root was made for
// another tree and is refused (above the real / there is nothing, and ".." stays there), as
// is a chain of more than 40 symlinks. What does not exist
// (yet) is joined as it is. The result is a path in this process's view (the resolved Root
// joined with the rest) whose existing part holds no symlink, so that the kernel, which
// resolves it from the real /, arrives at the same place. With no Root (or /), p is
// resolved from /.
//
// A symlink swapped in after Resolve by someone who can write inside Root is not seen;
// what the root holds is trusted to stay put while hotchain runs.
func (c *Config) Resolve(p string) (string, error) {
	root := c.Root
	if root == "" {
		root = "/"
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("root %s: %w", root, err)
	}
	if realRoot, err = filepath.Abs(realRoot); err != nil {
		return "", fmt.Errorf("root %s: %w", root, err)
	}
	return resolveIn(realRoot, p)
}

func resolveIn(realRoot, p string) (string, error) {
	// p's own ".." stop at the root, as InRoot has them (a cleaned absolute path has none).
	rest := splitPath(filepath.Clean("/" + p))
	cur := realRoot
	links := 0
	var lastLink string // the symlink whose target is being walked, for messages
	missing := false    // cur does not exist: the rest is joined as it is
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if cur == realRoot && realRoot == "/" {
				continue // the real root: there is nothing above, as for the kernel
			}
			if cur == realRoot {
				return "", fmt.Errorf("symlink %s leads out of the root", lastLink)
			}
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		if missing {
			cur = next
			continue
		}
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = true
			cur = next
			continue
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink == 0:
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("more than %d symlinks on the way (a loop?), the last %s", maxLinks, next)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		lastLink = next + " -> " + target
		if filepath.IsAbs(target) {
			cur = realRoot
		}
		rest = append(splitPath(target), rest...)
	}
	return cur, nil
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// ResolvePaths takes every path of the settings but the change trees' roots inside Root
// with Resolve and keeps the result (in host view), so that c.InRoot of each of them
// leads where a process chrooted to Root would arrive, and no symlink inside Root leads
// hotchain out of it. The change trees' roots are checked where they are used (every
// target below them is). With no Root (or /) it does nothing. It only reads: lstat and
// readlink, no file is opened or written.
func (c *Config) ResolvePaths() error {
	if c.Root == "" || c.Root == "/" {
		return nil
	}
	realRoot, err := filepath.EvalSymlinks(c.Root)
	if err == nil {
		realRoot, err = filepath.Abs(realRoot)
	}
	if err != nil {
		return fmt.Errorf("root %s: %w", c.Root, err)
	}
	var errs []error
	for _, f := range []struct {
		key string
		p   *string
	}{
		{"PRODUCT_ROOT", &c.ProductRoot},
		{"PRODUCT_VERSION_FILE", &c.ProductVersionFile},
		{"PATCHES_DIR", &c.PatchesDir},
		{"LEDGER_DIR", &c.LedgerDir},
		{"STATE_DIR", &c.StateDir},
		{"SCRIPT_ENV_FILE", &c.ScriptEnvFile},
		{"REPO_FILE", &c.RepoFile},
		{"TARBALL_KEY", &c.TarballKey},
		{"DROP_DIR", &c.DropDir},
		{"METRICS_FILE", &c.MetricsFile},
		{"LOCK_SUBSYS", &c.LockSubsys},
		{"LOCK_CRON", &c.LockCron},
		{"LOCK_TS", &c.LockTS},
	} {
		if *f.p == "" {
			continue
		}
		full, err := resolveIn(realRoot, *f.p)
		if err != nil {
			errs = append(errs, &RootError{Key: f.key, Value: *f.p, Root: c.Root, Msg: err.Error()})
			continue
		}
		rel, err := filepath.Rel(realRoot, full)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			// resolveIn never leaves realRoot; this would be a bug.
			errs = append(errs, &RootError{Key: f.key, Value: *f.p, Root: c.Root, Msg: "resolves to " + full + ", outside the root"})
			continue
		}
		*f.p = filepath.Clean("/" + rel)
	}
	return errors.Join(errs...)
}
