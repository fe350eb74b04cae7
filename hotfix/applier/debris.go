package applier

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/fileops"
)

// debrisMinAge is how old a temporary file must be before it counts as debris. A writer
// locks its temporary file (atomicfile) right after creating it; the age covers that
// instant and writers that run an older hotchain.
const debrisMinAge = time.Minute

// dropRefused removes the hotfix directory that this run unpacked when the apply of it was
// refused: under LOCK_TS, and only while no host has a journal in it (nothing of it was
// applied anywhere). A run that cannot take the lock leaves it.
func (h *Host) dropRefused(dir string, made *fileops.UnpackMade) {
	l, err := h.lockTS()
	if err != nil {
		return
	}
	defer l.Unlock()
	if journals, err := filepath.Glob(filepath.Join(dir, "Backup-*")); err != nil || len(journals) > 0 {
		return
	}
	made.Undo(dir)
}

// cleanDebris removes, under LOCK_TS, what killed runs left: unpack directories in
// PATCHES_DIR and temporary files of atomic writes in LEDGER_DIR and in dirs (hotfix
// directories). Only hotchain's exact names, never through a symlink, and never what a live
// process works on: unpack directories only while no unpack holds PATCHES_DIR's shared lock
// (fileops.Unpack), temporary files only when older than debrisMinAge and not locked by
// their writer. It reports what it removed to out; what it cannot remove stays for a later run.
func (h *Host) cleanDebris(out io.Writer, dirs ...string) {
	for _, p := range fileops.CleanUnpacks(h.Cfg.InRoot(h.Cfg.PatchesDir)) {
		fmt.Fprintf(out, "==> removed %s, left by a killed unpack\n", p)
	}
	for _, dir := range append([]string{h.ledger().Dir}, dirs...) {
		for _, p := range fileops.CleanTemps(dir, time.Now().Add(-debrisMinAge)) {
			fmt.Fprintf(out, "==> removed %s, left by a killed write\n", p)
		}
	}
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
