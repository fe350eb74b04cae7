// Package atomicfile writes files so that a reader, or a host that lost power, sees the old
// content or the new, never a mix: a temporary file beside the target, written, synced and
// renamed over it, and the directory synced. The ledger, the journal, the settings, the
// repository's metadata and the .repo file all go through it. It is a leaf: it imports only
// the standard library.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Write replaces path with data: a temporary file in the same directory is
// written, synced and renamed over path, and the directory is synced, so a reader (or a host
// that lost power) sees the old content or the new, never a mix.
func Write(path string, data []byte, perm os.FileMode) error {
	return replaceFile(path, data, perm, replaceOpts{durable: true})
}

// Update is Write for files an admin may have adjusted (a .repo file, a key
// beside a repository): an existing path keeps its mode and, where this process may give a
// file away, its owner; perm is for a new one.
func Update(path string, data []byte, perm os.FileMode) error {
	return replaceFile(path, data, perm, replaceOpts{durable: true, keep: true})
}

// Replace replaces path with data as Write does, without waiting for the
// disk: a reader sees the old content or the new, and a host that loses power right after
// may come back with the old one or, on some file systems, a truncated file. It is for records
// that the next run rewrites and that nothing depends on: the agent's last run, written at
// the end of every -check, where the two fsyncs took about 1.3 ms. The ledger, the journal
// and the list of files an apply added go through Write.
func Replace(path string, data []byte, perm os.FileMode) error {
	return replaceFile(path, data, perm, replaceOpts{})
}

// TempPrefix starts the name of the temporary file beside the target. A writer holds an
// exclusive flock on it until it is renamed into place, so that a run that cleans up after
// killed writes can tell a live one from debris (hotfix's cleanDebris).
const TempPrefix = ".hotchain-tmp-"

type replaceOpts struct {
	durable bool // fsync the file and its directory
	keep    bool // an existing path keeps its mode and owner
}

func replaceFile(path string, data []byte, perm os.FileMode, o replaceOpts) (err error) {
	uid, gid := -1, -1
	if fi, err := os.Stat(path); err == nil && o.keep {
		perm = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// Locked until it is renamed into place (TempPrefix). Best effort: where flock does not
	// work, the cleaner goes by the temporary file's age.
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if uid >= 0 {
		// Only root can give a file away; anyone else keeps owning what they write.
		_ = f.Chown(uid, gid)
	}
	if o.durable {
		if err = f.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	// Renamed while still open and locked, then closed.
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !o.durable {
		return nil
	}
	return SyncDir(dir)
}

// SyncDir makes a rename, creation or removal in dir durable. A file system that cannot
// sync a directory (EINVAL, ENOTSUP: some network and FUSE file systems, where LEDGER_DIR
// may lie) is not an error: there the rename is as durable as that file system makes it,
// and failing every write would only stop the product's hotfixes.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := syncFile(d); err != nil && !syncUnsupported(err) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// syncFile is (*os.File).Sync; tests make it fail as a file system without directory sync does.
var syncFile = (*os.File).Sync

// syncUnsupported tells a file system that does not sync directories from a failed sync.
func syncUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}
