package applier

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/internal/fileops"
)

// prepare takes the backups of a new apply (journal in journal.StateBackup, marked prepared) and
// makes them durable, and stops there: nothing of the product is touched.
func (h *Host) prepare(d *hotfix.Dir, j *journal.Journal, out io.Writer) error {
	if err := h.backup(d, j); err != nil {
		h.dropBackup(d.Path) // as resume: the product is untouched, leave nothing
		return err
	}
	if err := h.syncTrees(d.Path); err != nil {
		return err
	}
	j.State = journal.StateApply
	if err := journal.Write(journal.Path(d.Path, h.Cfg.Hostname), j); err != nil {
		return err
	}
	h.step("state apply, prepared")
	fmt.Fprintf(out, "==> %s: prepared on %s: backups taken, nothing placed yet\n", d.Version, h.Cfg.Hostname)
	return nil
}

// recheckPrepared checks, one lstat per entry, that the product is still as the prepared
// apply in dir backed it up: each replaced entry is its backup (the same inode when it was
// linked; else the same kind, size, mode and modification time), each added one is still
// absent, and each directory that gets new entries has the modification time the plan saw.
func (h *Host) recheckPrepared(dir string, j *journal.Journal) error {
	bdir := journal.BackupDir(dir, h.Cfg.Hostname)
	for _, o := range j.Ops {
		full := h.Cfg.InRoot(o.Target)
		fi, err := os.Lstat(full)
		switch {
		case o.Existed == "":
			if err == nil || !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s appeared since the backups were taken", hotfix.ShownName(o.Target))
			}
			continue
		case err != nil:
			return fmt.Errorf("%s changed since the backups were taken: %v", hotfix.ShownName(o.Target), err)
		case plan.KindOfInfo(fi) != o.Existed:
			return fmt.Errorf("%s is a %s now, not a %s as when the backups were taken", hotfix.ShownName(o.Target), plan.KindOfInfo(fi), o.Existed)
		case o.Existed == journal.KindDir:
			continue
		}
		bak, err := os.Lstat(o.In(bdir))
		if err != nil {
			return fmt.Errorf("backup of %s: %v", hotfix.ShownName(o.Target), err)
		}
		if !os.SameFile(fi, bak) && (fi.Mode() != bak.Mode() || fi.Size() != bak.Size() || !fi.ModTime().Equal(bak.ModTime())) {
			return fmt.Errorf("%s changed since the backups were taken", hotfix.ShownName(o.Target))
		}
	}
	for _, dt := range j.Dirs {
		fi, err := os.Lstat(h.Cfg.InRoot(dt.Path))
		if err != nil || !fi.ModTime().Equal(dt.ModTime) {
			return fmt.Errorf("directory %s changed since the backups were taken", hotfix.ShownName(dt.Path))
		}
	}
	return nil
}

// syncTrees makes what was written to the hotfix directory and every target root durable:
// one syncfs for each file system they are on.
func (h *Host) syncTrees(hotfixDir string) error {
	seen := map[uint64]bool{}
	paths := []string{hotfixDir}
	for _, t := range h.Cfg.ChangeTrees {
		paths = append(paths, h.Cfg.InRoot(t.Root))
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		dev := uint64(0)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			dev = uint64(st.Dev)
		}
		if seen[dev] {
			continue
		}
		seen[dev] = true
		if err := fileops.SyncFS(p); err != nil {
			return err
		}
	}
	return nil
}
