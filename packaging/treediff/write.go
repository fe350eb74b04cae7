package treediff

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/ordered"
)

// writeHotfix writes the hotfix directory dir (which must not exist): version.txt, each
// entry to place in its change tree with NEW's content, mode and modification time,
// FileRemovals when something is removed, and filelist.txt as build writes it
// (hotfix.Dir.Filelist). The directories of the hotfix directory and its own files get the
// newest modification time of what it ships, so that `hotchain build` of it, which stamps
// every file with the newest time it finds unless SOURCE_DATE_EPOCH says otherwise, gives
// the same packages for the same trees.
func writeHotfix(ctx context.Context, dir string, v hotfix.Version, trees []Tree, entries []entry, newRoot string) (stamp unix.Timespec, err error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return stamp, err
	}
	newer := func(t unix.Timespec) {
		if t.Nano() > stamp.Nano() {
			stamp = t
		}
	}
	dirs := map[string]fs.FileMode{} // directories of the hotfix directory -> mode
	mkdirs := func(p string) error {
		var missing []string
		for d := p; d != dir; d = filepath.Dir(d) {
			if _, ok := dirs[d]; ok {
				break
			}
			missing = append(missing, d)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			if err := os.Mkdir(missing[i], 0o700); err != nil && !os.IsExist(err) {
				return err
			}
			if _, ok := dirs[missing[i]]; !ok {
				dirs[missing[i]] = 0o755
			}
		}
		return nil
	}
	var files []entry
	for _, e := range entries {
		if e.ship == nil {
			continue
		}
		dst := filepath.Join(dir, trees[e.tree].Dir, filepath.FromSlash(e.sub))
		switch {
		case e.ship.isDir():
			if err := mkdirs(dst); err != nil {
				return stamp, err
			}
			dirs[dst] = placed(e.ship.mode)
		case e.ship.isLink():
			if err := mkdirs(filepath.Dir(dst)); err != nil {
				return stamp, err
			}
			if err := os.Symlink(e.ship.link, dst); err != nil {
				return stamp, err
			}
			if err := setTime(dst, e.ship.mtime); err != nil {
				return stamp, err
			}
			newer(e.ship.mtime)
		default:
			if err := mkdirs(filepath.Dir(dst)); err != nil {
				return stamp, err
			}
			files = append(files, e)
			newer(e.ship.mtime)
		}
	}
	err = ordered.InOrder(len(files), walkWorkers, func(i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := files[i]
		return copyFile(filepath.Join(newRoot, filepath.FromSlash(e.rel)), filepath.Join(dir, trees[e.tree].Dir, filepath.FromSlash(e.sub)), e.ship)
	}, func(int) {})
	if err != nil {
		return stamp, err
	}
	if stamp.Nano() == 0 {
		var st unix.Stat_t
		if err := unix.Lstat(newRoot, &st); err != nil {
			return stamp, err
		}
		stamp = st.Mtim
	}
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		return setTime(p, stamp)
	}
	if err := write(hotfix.VersionFile, []byte(v.String()+"\n")); err != nil {
		return stamp, err
	}
	p := &plan{trees: trees, entries: entries}
	if rs := p.removals(); len(rs) > 0 {
		if err := write(hotfix.RemovalsFile, hotfix.FormatRemovals(rs)); err != nil {
			return stamp, err
		}
	}
	// Deepest first: a directory's time is set after everything is put into it.
	order := make([]string, 0, len(dirs))
	for d := range dirs {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool { return strings.Count(order[i], "/") > strings.Count(order[j], "/") })
	for _, d := range order {
		if err := os.Chmod(d, dirs[d]); err != nil {
			return stamp, err
		}
		if err := setTime(d, stamp); err != nil {
			return stamp, err
		}
	}
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		return stamp, fmt.Errorf("read the hotfix just written: %w", err)
	}
	if err := write(hotfix.FilelistFile, d.Filelist()); err != nil {
		return stamp, err
	}
	return stamp, setTime(dir, stamp)
}

// placed is the mode a hotfix gives an entry: permissions and sticky bit (setuid and setgid
// were refused before).
func placed(m fs.FileMode) fs.FileMode { return m & (fs.ModePerm | fs.ModeSticky) }

// copyFile copies the regular file src to dst (new) with the mode and time of m: a small
// file in one read and one write, a larger one with copy_file_range (in the kernel) where
// it can.
func copyFile(src, dst string, m *meta) error {
	in, err := openRead(src)
	if err != nil {
		return err
	}
	defer unix.Close(in)
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != m.size || st.Mtim != m.mtime {
		return fmt.Errorf("%s changed while it was compared: run diff again on trees nothing writes to", src)
	}
	perm := fileops.UnixMode(placed(m.mode))
	out, err := unix.Open(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, perm)
	if err != nil {
		return &os.PathError{Op: "create", Path: dst, Err: err}
	}
	defer func() {
		if out >= 0 {
			unix.Close(out)
		}
	}()
	copyFn := copyData
	if st.Blocks*512 < st.Size {
		copyFn = copySparse
	}
	if err := copyFn(out, in, m.size, src); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	// open(2) takes the umask away and never sets the sticky bit.
	if perm&^umask != perm || perm&unix.S_ISVTX != 0 {
		if err := unix.Fchmod(out, perm); err != nil {
			return &os.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	if err := futimens(out, m.mtime); err != nil {
		return &os.PathError{Op: "set time of", Path: dst, Err: err}
	}
	err = unix.Close(out)
	out = -1
	return err
}

// umask is the process's, read once.
var umask = func() uint32 {
	old := unix.Umask(0o022)
	unix.Umask(old)
	return uint32(old)
}()

// futimens sets the modification (and access) time of the open file fd.
func futimens(fd int, t unix.Timespec) error {
	ts := [2]unix.Timespec{t, t}
	if _, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// copyData copies the open file in (src), size bytes as lstat said, to out.
func copyData(out, in int, size int64, src string) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	if size < int64(len(buf)) {
		n, err := readFull(in, buf[:size])
		if err != nil {
			return err
		}
		if int64(n) != size {
			return fmt.Errorf("it has %d bytes, not %d: it changed while it was compared", n, size) // fewer
		}
		return fileops.WriteAll(out, buf[:n])
	}
	return fileops.CopyFd(out, in, src)
}

// copySparse copies the open file in (src), size bytes as lstat said, to out as copyData
// does, but only its data: the holes of a sparse file (fewer blocks than its size) stay
// holes in the copy, found with SEEK_DATA and SEEK_HOLE. Where the file system cannot say,
// everything is data.
func copySparse(out, in int, size int64, src string) error {
	for off := int64(0); off < size; {
		data, err := unix.Seek(in, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // a hole up to the end
		}
		if err != nil {
			if off == 0 && (err == unix.EINVAL || err == unix.EOPNOTSUPP) {
				return copyData(out, in, size, src)
			}
			return fmt.Errorf("seek in %s: %w", src, err)
		}
		hole, err := unix.Seek(in, data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("seek in %s: %w", src, err)
		}
		hole = min(hole, size)
		if err := copyRange(out, in, data, hole-data, src); err != nil {
			return err
		}
		off = hole
	}
	if err := unix.Ftruncate(out, size); err != nil {
		return fmt.Errorf("set the size of the copy of %s: %w", src, err)
	}
	return nil
}

// copyRange copies n bytes at off of in to the same offset of out: in the kernel where it
// can, else through a buffer.
func copyRange(out, in int, off, n int64, src string) error {
	for n > 0 {
		r, w := off, off
		k, err := unix.CopyFileRange(in, &r, out, &w, int(min(n, 1<<30)), 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EXDEV || err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EINVAL:
			bp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bp)
			buf := *bp
			for n > 0 {
				k, err := unix.Pread(in, buf[:min(n, int64(len(buf)))], off)
				if err == unix.EINTR {
					continue
				}
				if err != nil {
					return fmt.Errorf("read %s: %w", src, err)
				}
				if k == 0 {
					return fmt.Errorf("%s ends early: it changed while it was compared", src)
				}
				for done := 0; done < k; {
					m, err := unix.Pwrite(out, buf[done:k], off+int64(done))
					if err == unix.EINTR {
						continue
					}
					if err != nil {
						return fmt.Errorf("write the copy of %s: %w", src, err)
					}
					done += m
				}
				off += int64(k)
				n -= int64(k)
			}
			return nil
		case err != nil:
			return fmt.Errorf("copy %s: %w", src, err)
		case k == 0:
			return fmt.Errorf("%s ends early: it changed while it was compared", src)
		}
		off += int64(k)
		n -= int64(k)
	}
	return nil
}

// setTime sets the modification (and access) time of p, not following a symlink.
func setTime(p string, t unix.Timespec) error {
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "set time of", Path: p, Err: err}
	}
	return nil
}
