package fileops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/internal/atomicfile"
)

// What a killed run leaves, and how the next one tells it from a live run's work: the
// directory an unpack into PATCHES_DIR works in (UnpackPrefix; Unpack holds PATCHES_DIR's
// shared flock meanwhile) and the temporary file of an atomic write (atomicfile.TempPrefix,
// locked by its writer). CleanUnpacks and CleanTemps remove only those exact names, never
// through a symlink, and never what a live process works on.

// UnpackPrefix names the directory a tarball is unpacked into in PATCHES_DIR before it is
// renamed into place (unpack.Tarball).
const UnpackPrefix = ".hotchain-unpack-"

// UnpackMade says what an unpack into PATCHES_DIR made (see Unpack).
type UnpackMade struct {
	Dir bool // the hotfix directory did not exist before
	// MadeFrom is the topmost directory made to create PATCHES_DIR ("" when it existed):
	// PATCHES_DIR itself or one above it.
	MadeFrom string
	// mtime is PATCHES_DIR's modification time before the unpack, put back when the
	// unpacked directory is removed again (Undo).
	mtime time.Time
}

// Unpack runs unpack, which unpacks a tarball into patchesDir and returns the hotfix
// directory, and says what it made, for the apply (applier.ApplyOptions.Unpacked). While unpack runs it holds a shared
// flock on patchesDir (created if missing): CleanUnpacks, which cleans up after killed
// unpacks, takes that lock exclusively, so it never removes the directory of a live one.
func Unpack(patchesDir string, unpack func() (string, error)) (string, *UnpackMade, error) {
	made := &UnpackMade{}
	for p := patchesDir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) || filepath.Dir(p) == p {
			break
		}
		made.MadeFrom = p
	}
	if made.MadeFrom != "" {
		if err := os.MkdirAll(patchesDir, 0o755); err != nil {
			return "", nil, fmt.Errorf("unpack tarball: %w", err)
		}
	} else if fi, err := os.Stat(patchesDir); err == nil {
		made.mtime = fi.ModTime()
	}
	before := map[string]bool{}
	if names, err := ReadNames(patchesDir); err == nil {
		for _, n := range names {
			before[n] = true
		}
	}
	d, err := os.Open(patchesDir)
	if err != nil {
		return "", nil, fmt.Errorf("unpack tarball: %w", err)
	}
	defer d.Close()
	// Blocking: an exclusive holder is an apply that removes debris, briefly.
	if err := unix.Flock(int(d.Fd()), unix.LOCK_SH); err != nil {
		return "", nil, fmt.Errorf("unpack tarball: lock %s: %w", patchesDir, err)
	}
	dir, err := unpack()
	if err != nil {
		made.removeMade(patchesDir)
		return "", nil, err
	}
	made.Dir = !before[filepath.Base(dir)]
	return dir, made, nil
}

// Undo removes dir, the hotfix directory the unpack made, puts its parent's modification
// time back and removes the directories made for PATCHES_DIR as far as they are empty. The
// caller makes sure that nothing uses dir (the applier: under LOCK_TS, with no journal in it).
func (u *UnpackMade) Undo(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		return
	}
	if !u.mtime.IsZero() {
		SetMtime(filepath.Dir(dir), u.mtime)
	}
	u.removeMade(filepath.Dir(dir))
}

// removeMade removes the directories made for PATCHES_DIR, from patchesDir up to MadeFrom,
// as far as they are empty.
func (u *UnpackMade) removeMade(patchesDir string) {
	if u.MadeFrom == "" {
		return
	}
	for p := patchesDir; os.Remove(p) == nil && p != u.MadeFrom; p = filepath.Dir(p) {
	}
}

// CleanUnpacks removes the unpack directories (UnpackPrefix) that killed unpacks left in
// patchesDir, and returns them; while a live unpack holds patchesDir's shared lock (Unpack)
// it removes nothing. A symlink or file under such a name is left.
func CleanUnpacks(patchesDir string) []string {
	d, err := os.Open(patchesDir)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil
	}
	var found []string
	for _, n := range names {
		if strings.HasPrefix(n, UnpackPrefix) {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return nil
	}
	// Held shared by a live unpack: leave everything for a later run.
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil
	}
	defer unix.Flock(int(d.Fd()), unix.LOCK_UN)
	var removed []string
	for _, n := range found {
		p := filepath.Join(patchesDir, n)
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			continue // a symlink or a file under that name is not ours
		}
		if os.RemoveAll(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// CleanTemps removes the temporary files of atomic writes (atomicfile.TempPrefix) in dir
// that are older than olderThan and not locked by their writer, and returns them.
func CleanTemps(dir string, olderThan time.Time) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), atomicfile.TempPrefix) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if removeTemp(p, olderThan) {
			removed = append(removed, p)
		}
	}
	return removed
}

// removeTemp removes the temporary file p when it is older than olderThan and no writer
// holds its lock. O_RDWR: where flock is emulated with fcntl locks (NFS), an exclusive lock
// needs a descriptor open for writing.
func removeTemp(p string, olderThan time.Time) bool {
	f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(olderThan) {
		return false
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false
	}
	// Still the file under that name (not renamed over its target meanwhile).
	if cur, err := os.Lstat(p); err != nil || !os.SameFile(cur, fi) {
		return false
	}
	return os.Remove(p) == nil
}
