// Package fileops holds the file operations of the applier that know nothing of hotfixes:
// placing a file or symlink through a fixed temporary name and a rename, copying an entry
// with its owner, mode and time, putting a backup back, syncing a file system, unpacking
// into PATCHES_DIR under its lock and cleaning what killed runs left (debris.go). It must not
// read or write any hotchain format (journal, ledger, filelist): the applier decides what
// goes where, fileops only does it, and leaves the same few kinds of debris (TempPrefix) the
// applier knows how to clean.
package fileops

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TempPrefix starts the names of the temporary entries the applier puts beside a target
// while it replaces it. They are fixed, not random, so that recovery after a crash finds and
// removes them; short and of fixed length, so that a long target name cannot make them too
// long; a hotfix may not ship a name with this prefix, and a product file that has the
// temporary name of an entry of the hotfix is refused by the plan (plan.CheckTempNames).
const TempPrefix = ".hotchain-"

func tempName(target, suffix string) string {
	sum := sha256.Sum256([]byte(filepath.Base(target)))
	return filepath.Join(filepath.Dir(target), TempPrefix+hex.EncodeToString(sum[:6])+suffix)
}

func NewTemp(target string) string { return tempName(target, ".new") }

func OldTemp(target string) string { return tempName(target, ".old") }

// PreserveCopy copies the file or symlink src to dst, whose directory exists, with its
// mode, owner and modification time. A hard link does it without copying when src and dst
// share a file system and nothing else can change the linked inode (Linkable): the target
// is later replaced by rename, never written in place, so the linked inode keeps the old
// content. An entry already at dst (an interrupted backup's) is replaced, unless it is
// src's inode already.
func PreserveCopy(src, dst string, fi os.FileInfo) error {
	if Linkable(fi) {
		err := os.Link(src, dst)
		if errors.Is(err, fs.ErrExist) {
			if err := os.Remove(dst); err != nil {
				return err
			}
			err = os.Link(src, dst)
		}
		if err == nil {
			return nil
		}
	} else if dfi, err := os.Lstat(dst); err == nil && os.SameFile(fi, dfi) {
		return nil // linked by an interrupted backup: its second name is dst
	}
	if err := RemoveIfExists(dst); err != nil {
		return err
	}
	if err := copyEntry(src, dst, fi); err != nil {
		return err
	}
	return SetMeta(dst, fi)
}

// Linkable says whether PreserveCopy keeps the entry fi by a hard link (on the same file
// system): a symlink, which nobody changes in place, or a regular file with no other name.
// A file with other hard links is copied: a write through one of them would change the
// backup too.
func Linkable(fi os.FileInfo) bool {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return true
	case m.IsRegular():
		st, ok := fi.Sys().(*syscall.Stat_t)
		return !ok || st.Nlink <= 1
	}
	return false
}

// copyEntry writes a copy of src at dst (no metadata beyond the content's mode bits).
func copyEntry(src, dst string, fi os.FileInfo) error {
	switch m := fi.Mode(); {
	case m.IsDir():
		return os.Mkdir(dst, fi.Mode().Perm())
	case m&fs.ModeSymlink != 0:
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

// SetMeta gives p the owner, mode and modification time of fi (without following a
// symlink at p).
func SetMeta(p string, fi os.FileInfo) error {
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
	return SetMtime(p, fi.ModTime())
}

func SetMtime(p string, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set time of %s: %w", p, err)
	}
	return nil
}

// OwnerOf returns the owner to give a new entry at target: that of the entry it replaces,
// else that of its directory, so product files stay with the product's user.
func OwnerOf(target string) (uid, gid int, ok bool) {
	for _, p := range []string{target, filepath.Dir(target)} {
		if fi, err := os.Lstat(p); err == nil {
			if st, isStat := fi.Sys().(*syscall.Stat_t); isStat {
				return int(st.Uid), int(st.Gid), true
			}
		}
	}
	return 0, 0, false
}

// PlaceEntry puts the directory or symlink src at target: written beside it under a fixed
// temporary name (NewTemp), then renamed over it. A crash leaves the old entry or the new one,
// plus at most the temporary, which the applier's recovery removes. Regular files go through
// PlaceFile.
func PlaceEntry(src, target string) error {
	tmp := NewTemp(target)
	if err := RemoveIfExists(tmp); err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := copyEntry(src, tmp, fi); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if uid, gid, ok := OwnerOf(target); ok && os.Geteuid() == 0 {
		if err := os.Lchown(tmp, uid, gid); err != nil {
			return err
		}
	}
	if err := SetMtime(tmp, fi.ModTime()); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("replace %s: %w", target, err)
	}
	return nil
}

// PlaceFile is PlaceEntry for a regular file, with mode's permissions and sticky bit, never
// setuid or setgid, in as few system calls as it takes, on file descriptors rather
// than on paths the kernel would walk again and without registering them with Go's poller
// (os.File would): a hotfix may hold tens of thousands of files, and on a virtual machine
// each system call counts. The source must still be a regular file (not a symlink that took
// its place since the plan).
func PlaceFile(src, target string, mode os.FileMode) (err error) {
	in, err := openFile(src, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("write %s: open %s: %w", target, src, err)
	}
	defer unix.Close(in)
	var sst unix.Stat_t
	if err := unix.Fstat(in, &sst); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if sst.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("write %s: %s is no longer a regular file", target, src)
	}
	tmp := NewTemp(target)
	// Never setuid or setgid, whatever mode says (the journal of an apply begun by an older
	// hotchain may still ask for them).
	perm := UnixMode(mode & (os.ModePerm | os.ModeSticky))
	out, err := openFile(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, perm)
	if err == unix.EEXIST {
		// Left by an interrupted apply.
		if err := RemoveIfExists(tmp); err != nil {
			return err
		}
		out, err = openFile(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, perm)
	}
	if err != nil {
		return fmt.Errorf("write %s: create %s: %w", target, tmp, err)
	}
	defer func() {
		if out >= 0 {
			unix.Close(out)
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = CopyFd(out, in, src); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	var ost unix.Stat_t
	if err = unix.Fstat(out, &ost); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	chowned := false
	if uid, gid, ok := OwnerOf(target); ok && os.Geteuid() == 0 && (ost.Uid != uint32(uid) || ost.Gid != uint32(gid)) {
		if err = unix.Fchown(out, uid, gid); err != nil {
			return fmt.Errorf("set owner of %s: %w", tmp, err)
		}
		chowned = true // which clears setuid and setgid
	}
	// The umask may have taken bits away, and open never sets the sticky bit.
	if chowned || ost.Mode&0o7777 != perm {
		if err = unix.Fchmod(out, perm); err != nil {
			return fmt.Errorf("set mode of %s: %w", tmp, err)
		}
	}
	// utimensat(fd, NULL, ...) is futimens: the source's time, as SetMtime gives.
	ts := [2]unix.Timespec{sst.Mtim, sst.Mtim}
	if _, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(out), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
		err = e
		return fmt.Errorf("set time of %s: %w", tmp, err)
	}
	err = unix.Close(out)
	out = -1
	if err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	// rename(2) itself: os.Rename would lstat target first, for a case (a directory there)
	// the plan has ruled out.
	if err = unix.Rename(tmp, target); err != nil {
		return fmt.Errorf("replace %s: %w", target, err)
	}
	return nil
}

// openFile is open(2), close-on-exec, retried when a signal interrupts it.
func openFile(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// WriteAll writes all of b to fd, through short writes and interrupts.
func WriteAll(fd int, b []byte) error {
	for len(b) > 0 {
		m, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

// CopyFd copies the open file in (from its offset) to out: copy_file_range, which copies
// in the kernel (and shares blocks on file systems that can), else read and write; src
// names in for errors.
func CopyFd(out, in int, src string) error {
	for {
		n, err := unix.CopyFileRange(in, nil, out, nil, 1<<30, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EXDEV || err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EINVAL:
			// An older kernel, or a pair of file systems it cannot do: copy through here,
			// from where it got to.
			buf := make([]byte, 128<<10)
			for {
				n, err := unix.Read(in, buf)
				if err == unix.EINTR {
					continue
				}
				if err != nil {
					return fmt.Errorf("read %s: %w", src, err)
				}
				if n == 0 {
					return nil
				}
				if err := WriteAll(out, buf[:n]); err != nil {
					return err
				}
			}
		case err != nil:
			return fmt.Errorf("copy %s: %w", src, err)
		case n == 0:
			return nil
		}
	}
}

// UnixMode is the st_mode permission bits of m (chmod's and an RPM header's or tar header's
// mode), with setuid, setgid and sticky, which Go keeps apart from the permission bits.
func UnixMode(m os.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&os.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&os.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// Restore puts the backup bak back at target with its metadata, through a temporary name.
func Restore(bak, target string) error {
	fi, err := os.Lstat(bak)
	if err != nil {
		return fmt.Errorf("backup of %s: %w", target, err)
	}
	tmp := OldTemp(target)
	if err := RemoveIfExists(tmp); err != nil {
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
			return fmt.Errorf("Restore %s: %w", target, err)
		}
		if err := SetMeta(tmp, fi); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("Restore %s: %w", target, err)
	}
	return nil
}

func RemoveIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// SyncFS makes everything written to the file system that holds p durable. One syncfs at
// the end of a phase replaces an fsync per file: the journal moves on only after it, and
// within a phase recovery does not depend on which files reached the disk.
func SyncFS(p string) error {
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

// ReadNames lists the names in directory dir, in no order.
func ReadNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
