// Package filetrust refuses a file that hotchain, running as root, would trust although
// another user could have written it: the settings file, SCRIPT_ENV_FILE (which sh sources
// as root) and TARBALL_KEY. It follows sudo, which refuses a sudoers file that is not
// owned by root or is writable by others, and sshd's StrictModes, which also refuses the
// file when a directory that leads to it can be written by others.
//
// The rule holds only when the effective uid is 0, as sudo checks against its own euid:
// an unprivileged run (a test, a look at the settings) can gain nothing from another
// user's file. It is a leaf package; it only looks, it never changes a mode or an owner.
package filetrust

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// UnsafeError says why a file is not trusted and how to fix it.
type UnsafeError struct {
	What   string // "settings file"
	Path   string // the file as hotchain was told it (inside -root)
	Reason string // what is wrong, with the owner and mode of the culprit
	Fix    string // the chmod or chown that fixes it
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("%s %s %s: hotchain runs as root and does not use a file that another user can change", e.What, e.Path, e.Reason)
}

// Hint is the command that fixes it.
func (e *UnsafeError) Hint() string { return e.Fix }

// enforced reports whether the rule applies to this process: only as root (effective uid 0).
func enforced() bool { return os.Geteuid() == 0 }

// Check refuses the open file f, opened from path, unless it is owned by root and not
// writable by group (unless the group is root) or others, and unless every directory
// that leads to it, up to /, is owned by root and not writable by others in the same
// way, or is sticky like /tmp (others can add files there but not replace root's). When
// path leads through symlinks, the directories of path and those of the file it resolves
// to are both checked, and the file checked is the one open, whatever path names now.
func Check(f *os.File, path, what string) error {
	if !enforced() {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	real := path
	if r, err := filepath.EvalSymlinks(path); err == nil && r != path {
		real = r
	}
	shown := path
	if real != path {
		shown = fmt.Sprintf("%s (a symlink to %s)", path, real)
	}
	if reason, fix := unsafe(fi, real); reason != "" {
		return &UnsafeError{What: what, Path: shown, Reason: reason, Fix: fix}
	}
	seen := map[string]bool{}
	for _, p := range []string{path, real} {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, path, err)
		}
		for d := filepath.Dir(abs); !seen[d]; d = filepath.Dir(d) {
			seen[d] = true
			di, err := os.Stat(d)
			if err != nil {
				return fmt.Errorf("%s %s: %w", what, path, err)
			}
			if reason, fix := unsafe(di, d); reason != "" {
				return &UnsafeError{What: what, Path: shown, Reason: "lies in " + d + ", which " + reason, Fix: fix}
			}
		}
	}
	return nil
}

// unsafe says what is wrong with the file or directory p whose stat is fi, and the command
// that fixes it; "" when nothing is.
func unsafe(fi fs.FileInfo, p string) (reason, fix string) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", ""
	}
	mode := fi.Mode()
	sticky := mode.IsDir() && mode&fs.ModeSticky != 0
	is := fmt.Sprintf("(owner %s, group %s, mode %s)", userName(st.Uid), groupName(st.Gid), mode)
	switch {
	case st.Uid != 0:
		return "is owned by " + userName(st.Uid) + ", not root " + is,
			fmt.Sprintf("chown root %s (and check what the user changed in it)", p)
	case mode&0o002 != 0 && !sticky:
		return "is writable by every user " + is, "chmod o-w " + p
	case mode&0o020 != 0 && st.Gid != 0 && !sticky:
		return "is writable by the group " + groupName(st.Gid) + " " + is, "chmod g-w " + p
	}
	return "", ""
}

func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return "uid " + id
}

func groupName(gid uint32) string {
	id := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(id); err == nil {
		return g.Name
	}
	return "gid " + id
}
