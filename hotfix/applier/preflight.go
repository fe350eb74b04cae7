package applier

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
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/fileops"
)

// Before the first write of an apply, Apply checks what would otherwise stop it after the
// product files were replaced: checkScripts and checkSpace.

// checkScripts checks that SCRIPT_ENV_FILE sources (it is read in a shell that must succeed,
// as the scripts' environment is) and that every install script this host runs is there and
// runnable.
func (h *Host) checkScripts(d *hotfix.Dir) error {
	const nothing = "nothing was changed"
	env, err := h.scripts().Env(d, "")
	if err != nil {
		var hinted interface{ Hint() string }
		if errors.As(err, &hinted) { // an unsafe file: its hint says how to fix it
			return fmt.Errorf("hotfix %s: %w", d.Version, err)
		}
		return withHint(fmt.Errorf("hotfix %s: %w", d.Version, err),
			fmt.Sprintf("fix %s (sh -n %s shows syntax errors); %s", h.Cfg.ScriptEnvFile, h.Cfg.InRoot(h.Cfg.ScriptEnvFile), nothing))
	}
	for _, s := range script.For(h.Cfg.HostRole, script.PhaseInstall, script.Install(d)) {
		if _, err := script.Argv(d, hotfix.InstallDir, s, env); err != nil {
			return withHint(fmt.Errorf("hotfix %s: %w", d.Version, err),
				"fix the hotfix's Install/ directory or install the interpreter; "+nothing)
		}
	}
	return nil
}

// spaceNeed is what an apply writes to one file system, and what is free there.
type spaceNeed struct {
	path    string // a directory on it, for statfs and the message
	dev     uint64
	bytes   uint64
	entries uint64

	need       uint64 // bytes plus a block for each entry
	free       uint64 // bytes available (statfs f_bavail)
	inodesFree uint64
	hasInodes  bool // the file system counts inodes
}

// backupCount is how the backups of an apply are made: hard links (no space) or copies.
type backupCount struct {
	linked, copied int
	copyBytes      uint64
}

// checkSpace refuses an apply that would fill a file system (spaceNeeds counts).
func (h *Host) checkSpace(d *hotfix.Dir, ops []journal.Op) error {
	needs, _, err := h.spaceNeeds(d, ops, d.Path, 0)
	if err != nil {
		return err
	}
	for _, n := range needs {
		if err := n.check(); err != nil {
			return err
		}
	}
	return nil
}

// check refuses the need when the file system does not have room for it.
func (n spaceNeed) check() error {
	if n.need > n.free {
		return withHint(noSpace{fmt.Errorf("not enough space on the file system of %s: this apply writes about %s there, %s are free", n.path, human(n.need), human(n.free))},
			"free space there (or move PATCHES_DIR to a larger file system) and apply again; nothing was changed")
	}
	if n.hasInodes && n.entries > n.inodesFree {
		return withHint(noSpace{fmt.Errorf("not enough inodes on the file system of %s: this apply creates %d entries there, %d inodes are free", n.path, n.entries, n.inodesFree)},
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

// spaceNeeds is what an apply of ops writes to each file system, sorted by path, and how its
// backups are made: the hotfix's files are written beside their targets before the rename
// (the replaced file stays, as the backup's hard link or until the rename), backups (of
// replaced and of removed entries) are copies where the target is on another file system
// than the hotfix directory hotfixDir, and the journal goes into the hotfix directory, as do
// unpack bytes (a tarball unpacked there first; 0 when it is unpacked). Sizes are rounded up to the file system's block size; a file
// system that reports no inode count is not checked for inodes.
func (h *Host) spaceNeeds(d *hotfix.Dir, ops []journal.Op, hotfixDir string, unpack int64) ([]spaceNeed, backupCount, error) {
	var bc backupCount
	sizes := map[string]int64{}
	for _, e := range d.Entries {
		sizes[e.Rel] = e.Size
	}
	needs := map[uint64]*spaceNeed{}
	devs := map[string]devAt{}
	add := func(dir string, size int64) error {
		dev, at, err := deviceOf(dir, devs)
		if err != nil {
			return err
		}
		n := needs[dev]
		if n == nil {
			n = &spaceNeed{path: at, dev: dev}
			needs[dev] = n
		}
		n.bytes += uint64(max(size, 0))
		n.entries++
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
		full := h.Cfg.InRoot(o.Target)
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
				bc.linked++
				continue
			}
		}
		fi, err := os.Lstat(full)
		if err != nil {
			return nil, bc, fmt.Errorf("back up %s: %w", full, err)
		}
		bc.copied++
		bc.copyBytes += uint64(fi.Size())
		if err := add(hotfixDir, fi.Size()); err != nil {
			return nil, bc, err
		}
	}
	var out []spaceNeed
	for _, n := range needs {
		var st unix.Statfs_t
		if err := unix.Statfs(n.path, &st); err != nil {
			return nil, bc, fmt.Errorf("free space of %s: %w", n.path, err)
		}
		bsize := uint64(max(st.Bsize, 512))
		n.need = n.bytes + n.entries*bsize // each entry rounded up to a block
		n.free = st.Bavail * bsize
		n.inodesFree, n.hasInodes = st.Ffree, st.Files > 0
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b spaceNeed) int { return strings.Compare(a.path, b.path) })
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
