package hotfix

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tempPrefix starts the names of the temporary entries the applier puts beside a target
// while it replaces it. They are fixed, not random, so that recovery after a crash finds and
// removes them; short and of fixed length, so that a long target name cannot make them too
// long; and a hotfix may not ship a name with this prefix.
const tempPrefix = ".hotchain-"

func tempName(target, suffix string) string {
	sum := sha256.Sum256([]byte(filepath.Base(target)))
	return filepath.Join(filepath.Dir(target), tempPrefix+hex.EncodeToString(sum[:6])+suffix)
}

func newTemp(target string) string { return tempName(target, ".new") }

func oldTemp(target string) string { return tempName(target, ".old") }

// preserveCopy copies the file, symlink or directory src to dst with its mode, owner and
// modification time. A hard link does it without copying when src and dst share a file
// system: the target is later replaced by rename, never written in place, so the linked
// inode keeps the old content.
func preserveCopy(src, dst string, fi os.FileInfo) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := removeIfExists(dst); err != nil {
		return err
	}
	switch kindOfInfo(fi) {
	case kindFile, kindLink:
		if err := os.Link(src, dst); err == nil {
			return nil
		}
	}
	if err := copyEntry(src, dst, fi); err != nil {
		return err
	}
	return setMeta(dst, fi)
}

// copyEntry writes a copy of src at dst (no metadata beyond the content's mode bits).
func copyEntry(src, dst string, fi os.FileInfo) error {
	switch kindOfInfo(fi) {
	case kindDir:
		return os.Mkdir(dst, fi.Mode().Perm())
	case kindLink:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// setMeta gives p the owner, mode and modification time of fi (without following a
// symlink at p).
func setMeta(p string, fi os.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Lchown(p, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		if err := os.Chmod(p, fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky)); err != nil {
			return err
		}
	}
	return setMtime(p, fi.ModTime())
}

func setMtime(p string, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set time of %s: %w", p, err)
	}
	return nil
}

// ownerOf returns the owner to give a new entry at target: that of the entry it replaces,
// else that of its directory, so product files stay with the product's user.
func ownerOf(target string) (uid, gid int, ok bool) {
	for _, p := range []string{target, filepath.Dir(target)} {
		if fi, err := os.Lstat(p); err == nil {
			if st, isStat := fi.Sys().(*syscall.Stat_t); isStat {
				return int(st.Uid), int(st.Gid), true
			}
		}
	}
	return 0, 0, false
}

// place puts the hotfix entry src at target: written beside it under a fixed temporary name,
// then renamed over it. A crash leaves the old entry or the new one, plus at most the
// temporary, which recovery removes.
func place(src, target string, o op) error {
	tmp := newTemp(target)
	if err := removeIfExists(tmp); err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := copyEntry(src, tmp, fi); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if uid, gid, ok := ownerOf(target); ok && os.Geteuid() == 0 {
		if err := os.Lchown(tmp, uid, gid); err != nil {
			return err
		}
	}
	if o.Kind == kindFile {
		if err := os.Chmod(tmp, o.Mode); err != nil {
			return err
		}
	}
	if err := setMtime(tmp, fi.ModTime()); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("replace %s: %w", target, err)
	}
	return nil
}

// restore puts the backup bak back at target with its metadata, through a temporary name.
func restore(bak, target string) error {
	fi, err := os.Lstat(bak)
	if err != nil {
		return fmt.Errorf("backup of %s: %w", target, err)
	}
	tmp := oldTemp(target)
	if err := removeIfExists(tmp); err != nil {
		return err
	}
	// The apply stopped before it replaced this entry: the target is still the backed-up
	// inode. (Renaming one hard link over another of the same inode does nothing at all, so
	// this case cannot go through the rename below.)
	if cur, err := os.Lstat(target); err == nil && os.SameFile(cur, fi) {
		return nil
	}
	if err := os.Link(bak, tmp); err != nil {
		if err := copyEntry(bak, tmp, fi); err != nil {
			return fmt.Errorf("restore %s: %w", target, err)
		}
		if err := setMeta(tmp, fi); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("restore %s: %w", target, err)
	}
	return nil
}

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// syncFS makes everything written to the file system that holds p durable. One syncfs at
// the end of a phase replaces an fsync per file: the journal moves on only after it, and
// within a phase recovery does not depend on which files reached the disk.
func syncFS(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync file system of %s: %w", p, err)
	}
	return nil
}
