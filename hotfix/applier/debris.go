package applier

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/fileops"
)

// What a killed run leaves: hotchain's own temporary names, and only those are cleaned.
const (
	// unpackPrefix names the directory a tarball is unpacked into in PATCHES_DIR before it
	// is renamed into place (unpack.Tarball).
	unpackPrefix = ".hotchain-unpack-"
	// tmpPrefix names the temporary file beside a file written atomically.
	tmpPrefix = atomicfile.TempPrefix
)

// debrisMinAge is how old a temporary file must be before it counts as debris. A writer
// locks its temporary file (atomicfile) right after creating it; the age covers that
// instant and writers that run an older hotchain.
const debrisMinAge = time.Minute

// UnpackMade says what an unpack into PATCHES_DIR made (see Unpack).
type UnpackMade struct {
	Dir bool // the hotfix directory did not exist before
	// MadeFrom is the topmost directory made to create PATCHES_DIR ("" when it existed):
	// PATCHES_DIR itself or one above it.
	MadeFrom string
	// mtime is PATCHES_DIR's modification time before the unpack, put back when the
	// unpacked directory is removed again.
	mtime time.Time
}

// Unpack runs unpack, which unpacks a tarball into patchesDir and returns the hotfix
// directory, and says what it made, for ApplyOptions.Unpacked. While unpack runs it holds a
// shared flock on patchesDir (created if missing): an apply that cleans up after killed
// unpacks takes that lock exclusively, so it never removes the directory of a live one.
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
	if names, err := fileops.ReadNames(patchesDir); err == nil {
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

// dropRefused removes the hotfix directory that this run unpacked when the apply of it was
// refused: under LOCK_TS, and only while no host has a journal in it (nothing of it was
// applied anywhere). A run that cannot take the lock leaves it.
func (h *Host) dropRefused(dir string, made *UnpackMade) {
	l, err := h.lockTS()
	if err != nil {
		return
	}
	defer l.Unlock()
	if journals, err := filepath.Glob(filepath.Join(dir, "Backup-*")); err != nil || len(journals) > 0 {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		return
	}
	if !made.mtime.IsZero() {
		fileops.SetMtime(filepath.Dir(dir), made.mtime)
	}
	made.removeMade(filepath.Dir(dir))
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

// cleanDebris removes, under LOCK_TS, what killed runs left: unpack directories in
// PATCHES_DIR and temporary files of atomic writes in LEDGER_DIR and in dirs (hotfix
// directories). Only hotchain's exact names, never through a symlink, and never what a live
// process works on: unpack directories only while no unpack holds PATCHES_DIR's shared lock
// (Unpack), temporary files only when older than debrisMinAge and not locked by their writer.
// It reports what it removed to out; what it cannot remove stays for a later run.
func (h *Host) cleanDebris(out io.Writer, dirs ...string) {
	for _, p := range cleanUnpacks(h.Cfg.InRoot(h.Cfg.PatchesDir)) {
		fmt.Fprintf(out, "==> removed %s, left by a killed unpack\n", p)
	}
	for _, dir := range append([]string{h.ledger().Dir}, dirs...) {
		for _, p := range cleanTemps(dir, time.Now().Add(-debrisMinAge)) {
			fmt.Fprintf(out, "==> removed %s, left by a killed write\n", p)
		}
	}
}

func cleanUnpacks(patchesDir string) []string {
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
		if strings.HasPrefix(n, unpackPrefix) {
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

func cleanTemps(dir string, olderThan time.Time) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) || !e.Type().IsRegular() {
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

// dropBackup takes back an apply whose backup failed, the product tree untouched: the
// backups and the list of added entries first, which frees the space they took, then the
// journal. Killed in between, the journal still says journal.StateBackup, which the next apply
// resumes and rollback undoes. Errors leave the rest to rollback.
func (h *Host) dropBackup(hotfixDir string) {
	if os.RemoveAll(journal.BackupDir(hotfixDir, h.Cfg.Hostname)) != nil {
		return
	}
	if fileops.RemoveIfExists(journal.InexistentPath(hotfixDir, h.Cfg.Hostname)) != nil {
		return
	}
	if fileops.RemoveIfExists(journal.Path(hotfixDir, h.Cfg.Hostname)) == nil {
		atomicfile.SyncDir(hotfixDir)
	}
}
