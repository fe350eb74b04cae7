// Package removal removes one product entry that a hotfix's FileRemovals names, and puts
// it back: only the entry its backup holds is removed (checked again right before, relative
// to its directory opened without following a symlink), and a rollback sets aside what it
// finds at a removed path before it restores it. The applier (hotfix/applier) decides
// when, journals it and reports it; this package writes nothing else and reads no settings.
package removal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
	"golang.org/x/sys/unix"
)

// Remove removes the entry of removal o below the target root real, if it still is
// the one kept in its backup bak (stillBackedUp). It says whether it removed anything
// (false: the entry is absent, as after an interrupted apply that removed it), or what is
// wrong with the entry, which it then leaves.
func Remove(real string, o journal.Op, bak string) (removed bool, problem string, err error) {
	fd, err := openParent(real, o.Rel)
	if err != nil || fd < 0 {
		return false, "", err
	}
	defer unix.Close(fd)
	name := path.Base(o.Rel)
	full := filepath.Join(real, filepath.FromSlash(o.Rel))
	var st unix.Stat_t
	switch err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == unix.ENOENT:
		return false, "", nil
	case err != nil:
		return false, "", fmt.Errorf("remove %s: %w", full, err)
	}
	if problem, err := stillBackedUp(fd, name, &st, o, bak); err != nil || problem != "" {
		return false, problem, err
	}
	if o.Existed == journal.KindDir {
		switch err := unix.Unlinkat(fd, name, unix.AT_REMOVEDIR); {
		case err == unix.ENOTEMPTY || err == unix.EEXIST:
			names, _ := fileops.ReadNames(full)
			slices.Sort(names)
			for i, n := range names {
				names[i] = hotfix.ShownName(n)
			}
			return false, fmt.Sprintf("%s is a directory that holds %s now, added since its backup was taken; FileRemovals expects it to be empty once the removals are done",
				hotfix.ShownName(o.Target), strings.Join(hotfix.ShortList(names, 5), ", ")), nil
		case err != nil && err != unix.ENOENT:
			return false, "", fmt.Errorf("remove directory %s: %w", full, err)
		}
		return true, "", nil
	}
	if err := unix.Unlinkat(fd, name, 0); err != nil && err != unix.ENOENT {
		return false, "", fmt.Errorf("remove %s: %w", full, err)
	}
	return true, "", nil
}

// stillBackedUp says what is wrong with entry name of directory fd (st: its lstat) as the
// entry removal o backed up to bak, "" when nothing: a directory must still be one; a file
// or symlink must be the backup's inode (a hard-linked backup), or of its kind, size and
// modification time with the content (a file) or target (a symlink) FileRemovals names.
func stillBackedUp(fd int, name string, st *unix.Stat_t, o journal.Op, bak string) (string, error) {
	kind := statKind(st.Mode)
	changed := func(now string) string {
		want := "a directory"
		switch o.Existed {
		case journal.KindFile:
			want = "a file with SHA-256 " + o.SHA256
		case journal.KindLink:
			want = "a symlink to " + hotfix.ShownName(o.Link)
		}
		return fmt.Sprintf("%s changed since its backup was taken: it is %s now; FileRemovals expects %s", hotfix.ShownName(o.Target), now, want)
	}
	if kind != o.Existed {
		return changed("a " + plan.KindText(kind)), nil
	}
	if kind == journal.KindDir {
		return "", nil
	}
	bfi, err := os.Lstat(bak)
	if err != nil {
		return "", fmt.Errorf("backup of %s: %w", o.Target, err)
	}
	bst, ok := bfi.Sys().(*syscall.Stat_t)
	if ok && uint64(bst.Dev) == uint64(st.Dev) && uint64(bst.Ino) == uint64(st.Ino) {
		return "", nil
	}
	if st.Size != bfi.Size() || !time.Unix(st.Mtim.Unix()).Equal(bfi.ModTime()) {
		return changed(fmt.Sprintf("a %s of %d bytes modified %s", kind, st.Size, time.Unix(st.Mtim.Unix()).UTC().Format(time.RFC3339Nano))), nil
	}
	if kind == journal.KindLink {
		buf := make([]byte, st.Size+1)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", fmt.Errorf("read symlink %s: %w", o.Target, err)
		}
		if target := string(buf[:n]); target != o.Link {
			return changed("a symlink to " + hotfix.ShownName(target)), nil
		}
		return "", nil
	}
	in, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", o.Target, err)
	}
	f := os.NewFile(uintptr(in), o.Target)
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", fmt.Errorf("read %s: %w", o.Target, err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != o.SHA256 {
		return changed("a file with SHA-256 " + got), nil
	}
	return "", nil
}

// statKind is the journal's kind of an entry of mode m, "" for none of them.
func statKind(m uint32) string {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return journal.KindFile
	case unix.S_IFDIR:
		return journal.KindDir
	case unix.S_IFLNK:
		return journal.KindLink
	}
	return ""
}

// openParent opens the directory that holds rel below the target root real: each
// directory on the way relative to the one before, without following a symlink, so that a
// directory swapped for a symlink cannot lead elsewhere (plan.NoSymlinkBelow refused such
// a way when the plan looked). It returns -1 and no error when a directory on the way is
// gone: the entry is absent.
func openParent(real, rel string) (int, error) {
	fd, err := unix.Open(real, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open target root %s: %w", real, err)
	}
	dir := path.Dir(rel)
	if dir == "." {
		return fd, nil
	}
	cur := real
	for _, c := range strings.Split(dir, "/") {
		cur = filepath.Join(cur, c)
		next, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOTDIR || err == unix.ELOOP {
			var st unix.Stat_t
			if serr := unix.Fstatat(fd, c, &st, unix.AT_SYMLINK_NOFOLLOW); serr == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK {
				err = unix.ENOENT // a file where a directory was: the entry is absent
			}
		}
		unix.Close(fd)
		switch {
		case err == unix.ENOENT:
			return -1, nil
		case err == unix.ENOTDIR || err == unix.ELOOP:
			return -1, hint.With(fmt.Errorf("remove below %s: it is a symlink now, not the directory it was when the plan looked", cur),
				"something changed the product during the apply: roll it back (hotchain rollback), check the product, and apply again")
		case err != nil:
			return -1, fmt.Errorf("open directory %s: %w", cur, err)
		}
		fd = next
	}
	return fd, nil
}

// RestoreDir makes the directory a removal took away again, if it is not there; its mode,
// owner and time come from its backup bak afterwards (the applier's undo sets them), once the entries in
// it are back. A directory there already (made by an interrupted rollback, or by someone
// since) is kept; anything else was set aside by SetAside.
func RestoreDir(bak, target string) error {
	bfi, err := os.Lstat(bak)
	if err != nil {
		return fmt.Errorf("backup of %s: %w", target, err)
	}
	if !bfi.IsDir() {
		return fmt.Errorf("backup of %s: %s is not a directory", target, bak)
	}
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("restore directory %s: %w", target, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("restore directory %s: %w", target, err)
	case !fi.IsDir():
		return hint.With(fmt.Errorf("restore directory %s: a %s is there now", target, plan.KindText(plan.KindOfInfo(fi))),
			"move it away, then roll back again")
	}
	return nil
}

// SavedSuffix ends the name under which a rollback sets aside what it finds at the path of
// a removed entry, beside it, as rpm keeps a changed configuration file as .rpmsave:
// something made there since the apply (an administrator's new file, a directory) is
// neither overwritten nor in the way of the restore.
const SavedSuffix = ".hotchain-save"

// SetAside renames what is at full, the path of removal o, to full+SavedSuffix (or
// .1, .2, ... after it, when that is taken) and returns the new name, unless it is nothing,
// a directory where a directory was removed (the restored entries join it), or the removed
// file or symlink itself (its backup bak, or a copy of it that an interrupted rollback
// restored): so a rollback that is repeated sets aside nothing it restored.
func SetAside(o journal.Op, tr plan.TreeRoot, bak, full string) (string, error) {
	fi, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("roll back %s: %w", full, err)
	case o.Existed == journal.KindDir && fi.IsDir():
		return "", nil
	case o.Existed != journal.KindDir && plan.KindOfInfo(fi) == o.Existed:
		if bfi, err := os.Lstat(bak); err == nil && os.SameFile(fi, bfi) {
			return "", nil
		}
		fd, err := openParent(tr.Real, o.Rel)
		if err != nil {
			return "", fmt.Errorf("roll back %s: %w", full, err)
		}
		if fd >= 0 {
			var st unix.Stat_t
			err := unix.Fstatat(fd, path.Base(o.Rel), &st, unix.AT_SYMLINK_NOFOLLOW)
			problem := ""
			if err == nil {
				problem, err = stillBackedUp(fd, path.Base(o.Rel), &st, o, bak)
			}
			unix.Close(fd)
			if err != nil && err != unix.ENOENT {
				return "", fmt.Errorf("roll back %s: %w", full, err)
			}
			if err == nil && problem == "" {
				return "", nil
			}
		}
	}
	for i := 0; i < 100; i++ {
		saved := full + SavedSuffix
		if i > 0 {
			saved += fmt.Sprintf(".%d", i)
		}
		if _, err := os.Lstat(saved); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Rename(full, saved); err != nil {
			return "", fmt.Errorf("roll back %s: set aside what is there now: %w", full, err)
		}
		return saved, nil
	}
	return "", hint.With(fmt.Errorf("roll back %s: something is there now, and %s to %s.99 are taken", full, full+SavedSuffix, full+SavedSuffix),
		"move what is at "+full+" away, then roll back again")
}
