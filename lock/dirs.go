package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// dirMode is the mode of the directories created above a lock file, whatever the umask: people
// and `hotchain status` run by any user read the pid inside.
const dirMode = 0o755

// MakeParents creates the directories above path, a lock file or a flag file beside the
// locks (LOCK_SUBSYS), with mode 0755 whatever the umask, and refuses a path that another
// user could redirect, by the rules of ensureParent.
func MakeParents(path string) error { return ensureParent(path) }

// ensureParent creates the directories above the lock file and refuses a path that another user
// could redirect. Whoever can replace the lock's directory, or a directory above it, can swap
// the lock file for another inode and let two runs hold "the lock" at once, or point root's pid
// write at any file. So:
//   - the lock's own directory must be a real directory (not a symlink), owned by root or by
//     this user;
//   - no directory on the way may be world-writable without the sticky bit;
//   - a symlink on the way (like /var/lock -> /run/lock) must belong to root or to this user.
func ensureParent(path string) error {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("lock file %s: %w", path, err)
	}
	euid := os.Geteuid()
	cur := string(filepath.Separator)
	if err := checkDir(path, cur, euid, false); err != nil {
		return err
	}
	parts := strings.Split(strings.TrimPrefix(dir, cur), string(filepath.Separator))
	for i, name := range parts {
		if name == "" {
			continue
		}
		cur = filepath.Join(cur, name)
		created, err := mkdir(cur)
		if err != nil {
			return fmt.Errorf("create directory %s for lock file %s: %w", cur, path, err)
		}
		if created {
			// Mkdir's mode is cut by the umask; a 0700 directory would hide the holder's pid.
			if err := os.Chmod(cur, dirMode); err != nil {
				return fmt.Errorf("set mode of directory %s for lock file %s: %w", cur, path, err)
			}
		}
		if err := checkDir(path, cur, euid, i == len(parts)-1); err != nil {
			return err
		}
	}
	return nil
}

func mkdir(dir string) (created bool, err error) {
	err = os.Mkdir(dir, dirMode)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	return false, err
}

// checkDir applies ensureParent's rules to one directory on the way; last marks the lock's own
// directory.
func checkDir(path, dir string, euid int, last bool) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check directory %s for lock file %s: %w", dir, path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if last {
			return fmt.Errorf("directory %s of lock file %s is a symbolic link: lock files need a real directory, set the lock path to one (for example under /run/lock)", dir, path)
		}
		if uid, ok := ownerOf(fi); ok && uid != 0 && uid != euid {
			return fmt.Errorf("path of lock file %s goes through symbolic link %s that belongs to uid %d: use a path that only root or this user can change", path, dir, uid)
		}
		if fi, err = os.Stat(dir); err != nil {
			return fmt.Errorf("check directory %s for lock file %s: %w", dir, path, err)
		}
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (on the path of lock file %s)", dir, path)
	}
	if fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("directory %s of lock file %s is world-writable without the sticky bit, so anyone could replace the lock: chmod o-w %s (or +t), or move the lock", dir, path, dir)
	}
	if last {
		if uid, ok := ownerOf(fi); ok && uid != 0 && uid != euid {
			return fmt.Errorf("directory %s of lock file %s belongs to uid %d, who could replace the lock: chown it to root or move the lock", dir, path, uid)
		}
	}
	return nil
}
