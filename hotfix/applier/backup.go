package applier

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/fileops"
)

// backup saves every entry the hotfix replaces into Backup-<host>/ with its metadata and
// lists the entries it adds in Backup-<host>.inexistent. The backup directories are made
// first, then the entries are linked (or copied) several at a time (inOrder).
func (h *Host) backup(d *hotfix.Dir, j *journal.Journal) error {
	bdir := journal.BackupDir(d.Path, h.Cfg.Hostname)
	var added []string
	var saved []journal.Op
	var removedDirs []journal.Op
	dirs := map[string]bool{}
	for _, o := range j.Ops {
		switch {
		case o.Remove && o.Existed == "":
			continue // absent already: nothing to keep, nothing added
		case o.Remove && o.Existed == journal.KindDir:
			// Kept as a directory with the directory's mode, owner and time (below).
			removedDirs = append(removedDirs, o)
			dirs[o.In(bdir)] = true
			continue
		}
		switch o.Existed {
		case "":
			name := o.Target
			if o.Kind == journal.KindDir {
				name += "/"
			}
			added = append(added, name)
			continue
		case journal.KindDir:
			continue
		}
		saved = append(saved, o)
		dirs[filepath.Dir(o.In(bdir))] = true
	}
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		// A resumed backup finds Backup-<host>/ as it was left: not through a symlink.
		if err := journal.CheckBackupPath(d.Path, dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("back up: %w", err)
		}
	}
	err := inOrder(len(saved), func(i int) error {
		o := saved[i]
		full := h.Cfg.InRoot(o.Target)
		fi, err := os.Lstat(full)
		if err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		if err := fileops.PreserveCopy(full, o.In(bdir), fi); err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		return nil
	}, func(i int) { h.step("backup " + saved[i].Target) })
	if err != nil {
		return err
	}
	// Once the entries in them are kept: removedDirs is deepest first, and setting a
	// directory's time does not change its parent's.
	for _, o := range removedDirs {
		full := h.Cfg.InRoot(o.Target)
		fi, err := os.Lstat(full)
		if err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		if err := fileops.SetMeta(o.In(bdir), fi); err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		h.step("backup " + o.Target)
	}
	return atomicfile.Write(journal.InexistentPath(d.Path, h.Cfg.Hostname), hotfix.NameLines(added), 0o644)
}
