package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/sysconfig"
)

// The space an apply needs, counted before its first write: the apply refuses a need that
// a file system cannot take (SpaceNeed.Check), and the dry run reports it. It only stats.

// SpaceNeed is what an apply writes to one file system, and what is free there.
type SpaceNeed struct {
	Path    string // a directory on it, for statfs and the message
	Dev     uint64
	Bytes   uint64
	Entries uint64

	Need       uint64 // bytes plus a block for each entry
	Free       uint64 // bytes available (statfs f_bavail)
	InodesFree uint64
	HasInodes  bool // the file system counts inodes
}

// BackupCount is how the backups of an apply are made: hard links (no space) or copies.
type BackupCount struct {
	Linked, Copied int
	CopyBytes      uint64
}

// Check refuses the need when the file system does not have room for it.
func (n SpaceNeed) Check() error {
	if n.Need > n.Free {
		return hint.With(noSpace{fmt.Errorf("not enough space on the file system of %s: this apply writes about %s there, %s are free", n.Path, human(n.Need), human(n.Free))},
			"free space there (or move PATCHES_DIR to a larger file system) and apply again; nothing was changed")
	}
	if n.HasInodes && n.Entries > n.InodesFree {
		return hint.With(noSpace{fmt.Errorf("not enough inodes on the file system of %s: this apply creates %d entries there, %d inodes are free", n.Path, n.Entries, n.InodesFree)},
			"free inodes there and apply again; nothing was changed")
	}
	return nil
}

// noSpace marks a refusal for want of space or inodes, which is the host's state and not
// the hotfix's fault: errors.Is(err, syscall.ENOSPC) holds for it (the agent leaves a
// dropped tarball in DROP_DIR for the next run instead of refusing it).
type noSpace struct{ error }

func (noSpace) Is(target error) bool { return target == syscall.ENOSPC }
func (e noSpace) Unwrap() error      { return e.error }

// SpaceNeeds is what an apply of ops writes to each file system, sorted by path, and how its
// backups are made: the hotfix's files are written beside their targets before the rename
// (the replaced file stays, as the backup's hard link or until the rename), backups (of
// replaced and of removed entries) are copies where the target is on another file system
// than the hotfix directory hotfixDir or has other hard links (fileops.Linkable), and the journal goes into the hotfix directory, as do
// unpack bytes (a tarball unpacked there first; 0 when it is unpacked). Sizes are rounded up to the file system's block size; a file
// system that reports no inode count is not checked for inodes.
func SpaceNeeds(cfg *sysconfig.Config, d *hotfix.Dir, ops []journal.Op, hotfixDir string, unpack int64) ([]SpaceNeed, BackupCount, error) {
	var bc BackupCount
	sizes := map[string]int64{}
	for _, e := range d.Entries {
		sizes[e.Rel] = e.Size
	}
	needs := map[uint64]*SpaceNeed{}
	devs := map[string]devAt{}
	add := func(dir string, size int64) error {
		dev, at, err := deviceOf(dir, devs)
		if err != nil {
			return err
		}
		n := needs[dev]
		if n == nil {
			n = &SpaceNeed{Path: at, Dev: dev}
			needs[dev] = n
		}
		n.Bytes += uint64(max(size, 0))
		n.Entries++
		return nil
	}
	hotfixDev, _, err := deviceOf(hotfixDir, devs)
	if err != nil {
		return nil, bc, err
	}
	// The journal, written atomically (old and new at once), and the list of added entries.
	if err := add(hotfixDir, int64(len(ops))*2*512+unpack); err != nil {
		return nil, bc, err
	}
	for _, o := range ops {
		full := cfg.InRoot(o.Target)
		dir := filepath.Dir(full)
		switch {
		case o.Remove && o.Existed == journal.KindDir:
			// Kept in the backups as a directory.
			if err := add(hotfixDir, 0); err != nil {
				return nil, bc, err
			}
			continue
		case o.Remove:
			// Nothing is written beside the target; the entry is kept in the backups
			// (below) like a replaced one.
		case o.Kind == journal.KindDir && o.Existed != "":
			continue
		default:
			if o.Kind == journal.KindDir {
				dir = full
			}
			var size int64
			if o.Kind == journal.KindFile {
				size = sizes[o.Tree+"/"+o.Rel]
			}
			if err := add(dir, size); err != nil {
				return nil, bc, err
			}
		}
		if o.Existed != journal.KindFile && o.Existed != journal.KindLink {
			continue
		}
		dev, _, err := deviceOf(dir, devs)
		if err != nil {
			return nil, bc, err
		}
		if dev == hotfixDev {
			// The backup is a hard link, unless the file has other names (or is placed by
			// an earlier hotfix of a dry run's chain, and not there yet).
			if fi, err := os.Lstat(full); err != nil || fileops.Linkable(fi) {
				bc.Linked++
				continue
			}
		}
		fi, err := os.Lstat(full)
		if err != nil {
			return nil, bc, fmt.Errorf("back up %s: %w", full, err)
		}
		bc.Copied++
		bc.CopyBytes += uint64(fi.Size())
		if err := add(hotfixDir, fi.Size()); err != nil {
			return nil, bc, err
		}
	}
	var out []SpaceNeed
	for _, n := range needs {
		var st unix.Statfs_t
		if err := unix.Statfs(n.Path, &st); err != nil {
			return nil, bc, fmt.Errorf("free space of %s: %w", n.Path, err)
		}
		bsize := uint64(max(st.Bsize, 512))
		n.Need = n.Bytes + n.Entries*bsize // each entry rounded up to a block
		n.Free = st.Bavail * bsize
		n.InodesFree, n.HasInodes = st.Ffree, st.Files > 0
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b SpaceNeed) int { return strings.Compare(a.Path, b.Path) })
	return out, bc, nil
}

// devAt is the file system a directory is on and the existing directory that says so.
type devAt struct {
	dev uint64
	at  string
}

// deviceOf returns the device of the file system that holds dir (or, when dir does not exist
// yet, its nearest existing parent) and that existing directory. cache remembers every
// directory asked for or passed on the way.
func deviceOf(dir string, cache map[string]devAt) (uint64, string, error) {
	var missing []string
	p := dir
	for {
		if c, ok := cache[p]; ok {
			for _, m := range missing {
				cache[m] = c
			}
			return c.dev, c.at, nil
		}
		fi, err := os.Stat(p)
		if err == nil {
			c := devAt{at: p}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				c.dev = uint64(st.Dev)
			}
			cache[p] = c
			for _, m := range missing {
				cache[m] = c
			}
			return c.dev, c.at, nil
		}
		if !errors.Is(err, os.ErrNotExist) || filepath.Dir(p) == p {
			return 0, "", fmt.Errorf("free space for %s: %w", dir, err)
		}
		missing = append(missing, p)
		p = filepath.Dir(p)
	}
}

// human formats a byte count for a message.
func human(n uint64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Device is the device of the file system that holds dir (or, when dir does not exist yet,
// its nearest existing parent).
func Device(dir string) (uint64, error) {
	dev, _, err := deviceOf(dir, map[string]devAt{})
	return dev, err
}
