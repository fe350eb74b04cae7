package treediff

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/internal/ordered"
	"github.com/hotchain/hotchain/internal/rawfs"
)

// meta is what the comparison knows of one entry, from one lstat (and a readlink).
type meta struct {
	mode     fs.FileMode
	uid, gid uint32
	size     int64
	mtime    unix.Timespec
	link     string // symlink target
	dev, ino uint64
	rdev     uint64
	xattr    string // extended attributes a hotfix would have to place (xattrs); read by the walk for NEW's entries and those on both sides
}

func (m *meta) isDir() bool     { return m.mode.IsDir() }
func (m *meta) isLink() bool    { return m.mode&fs.ModeSymlink != 0 }
func (m *meta) isRegular() bool { return m.mode.IsRegular() }
func (m *meta) isSpecial() bool { return !m.isDir() && !m.isLink() && !m.isRegular() }

// kind names the kind of the entry, for messages.
func (m *meta) kind() string {
	switch {
	case m.isRegular():
		return "file"
	case m.isDir():
		return "directory"
	case m.isLink():
		return "symlink"
	case m.mode&fs.ModeDevice != 0:
		return "device file"
	case m.mode&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m.mode&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// sameKind reports whether a and b are the same kind of entry.
func sameKind(a, b *meta) bool { return a.mode.Type() == b.mode.Type() }

func metaOf(st *unix.Stat_t) meta {
	m := meta{
		mode: fs.FileMode(st.Mode & 0o777), uid: st.Uid, gid: st.Gid, size: st.Size,
		mtime: st.Mtim, dev: uint64(st.Dev), ino: st.Ino, rdev: uint64(st.Rdev),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		m.mode |= fs.ModeDevice
	case unix.S_IFCHR:
		m.mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		m.mode |= fs.ModeDir
	case unix.S_IFIFO:
		m.mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		m.mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		m.mode |= fs.ModeSocket
	}
	if st.Mode&unix.S_ISUID != 0 {
		m.mode |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		m.mode |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		m.mode |= fs.ModeSticky
	}
	return m
}

// lstatMeta is metaOf an lstat of p, with the target of a symlink.
func lstatMeta(p string) (*meta, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	m := metaOf(&st)
	if m.isLink() {
		t, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		m.link = t
	}
	return &m, nil
}

// node is one path of the union of the two trees: what it is in OLD and in NEW (nil where
// it does not exist).
type node struct {
	rel      string // slash-separated, relative to the roots; "." for the roots
	old, new *meta
	differs  bool // set by compare
}

// walkWorkers is how many directories, and then files, are compared at once: the work is
// system calls and memcmp, which run on every core.
var walkWorkers = min(max(runtime.GOMAXPROCS(0), 2), 8)

// dirJob is a directory to list, in OLD, NEW or both.
type dirJob struct {
	rel          string
	inOld, inNew bool
}

// listing is what listing one directory found: its entries, in byte order of name.
type listing struct {
	nodes   []node // those that differ, and directories
	entries int    // all of them
	err     error
}

// walk lists both trees below their roots and compares them, one level of directories at
// a time, the directories of a level on walkWorkers goroutines (internal/ordered, so the
// result is in a fixed order whatever the timing). It never follows a symlink: every entry
// is lstat'ed (fstatat relative to its open directory). It returns the paths of the union
// that differ and the directories, parents before children, and how many paths it
// compared. A path differs when it is on one side only, or of another kind, owner, mode,
// size, symlink target or device number on the other (sameMeta), or extended attributes
// (xattrs; read for NEW's entries and those on both sides), or, for files of the
// same size, holds other bytes, compared with an early exit (hard links to one inode are
// equal without being read). Modification times are not compared: a hotfix cannot set a
// directory's, and a file whose content is the same is not shipped for its time.
func walk(ctx context.Context, oldRoot, newRoot string) ([]node, int, error) {
	oldM, err := lstatMeta(oldRoot)
	if err != nil {
		return nil, 0, err
	}
	newM, err := lstatMeta(newRoot)
	if err != nil {
		return nil, 0, err
	}
	if !oldM.isDir() || !newM.isDir() {
		return nil, 0, fmt.Errorf("%s and %s must both be directories", oldRoot, newRoot)
	}
	entries := 1
	all := []node{{rel: ".", old: oldM, new: newM}}
	all[0].differs = !sameMeta(oldM, newM)
	level := []dirJob{{rel: ".", inOld: true, inNew: true}}
	for len(level) > 0 {
		out := make([]listing, len(level))
		err := ordered.InOrder(len(level), walkWorkers, func(i int) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			out[i] = listPair(ctx, oldRoot, newRoot, level[i])
			return out[i].err
		}, func(int) {})
		if err != nil {
			return nil, 0, err
		}
		var next []dirJob
		for _, l := range out {
			entries += l.entries
			for _, n := range l.nodes {
				all = append(all, n)
				oldDir, newDir := n.old != nil && n.old.isDir(), n.new != nil && n.new.isDir()
				if oldDir || newDir {
					next = append(next, dirJob{rel: n.rel, inOld: oldDir, inNew: newDir})
				}
			}
		}
		level = next
	}
	return all, entries, nil
}

// dirList is one side of a directory: its open descriptor, names in byte order, an lstat
// of each.
type dirList struct {
	fd    int
	names []string
	metas []meta
}

func (d *dirList) close() {
	if d.fd >= 0 {
		unix.Close(d.fd)
	}
}

// listPair lists the directory j.rel in the trees that have it, merges the two lists and
// compares what is on both sides.
func listPair(ctx context.Context, oldRoot, newRoot string, j dirJob) listing {
	olds, news := dirList{fd: -1}, dirList{fd: -1}
	defer func() { olds.close(); news.close() }()
	var err error
	if j.inOld {
		if olds, err = listDir(filepath.Join(oldRoot, filepath.FromSlash(j.rel))); err != nil {
			return listing{err: err}
		}
	}
	if j.inNew {
		if news, err = listDir(filepath.Join(newRoot, filepath.FromSlash(j.rel))); err != nil {
			return listing{err: err}
		}
	}
	var l listing
	oldDir, newDir := filepath.Join(oldRoot, filepath.FromSlash(j.rel)), filepath.Join(newRoot, filepath.FromSlash(j.rel))
	var xbuf [1024]byte
	readXattr := func(dir, name string, m *meta) error {
		x, err := rawfs.Xattrs(dir+"/"+name, xbuf[:])
		m.xattr = x
		return err
	}
	prefix := ""
	if j.rel != "." {
		prefix = j.rel + "/"
	}
	var buf *[]byte
	defer func() {
		if buf != nil {
			bufPool.Put(buf)
		}
	}()
	a, b := 0, 0
	for a < len(olds.names) || b < len(news.names) {
		if l.entries%1024 == 1023 && ctx.Err() != nil {
			return listing{err: ctx.Err()}
		}
		var n node
		switch {
		case b == len(news.names) || (a < len(olds.names) && olds.names[a] < news.names[b]):
			n = node{rel: prefix + olds.names[a], old: &olds.metas[a], differs: true}
			a++
		case a == len(olds.names) || news.names[b] < olds.names[a]:
			n = node{rel: prefix + news.names[b], new: &news.metas[b], differs: true}
			if err := readXattr(newDir, news.names[b], n.new); err != nil {
				return listing{err: err}
			}
			b++
		default:
			name := olds.names[a]
			n = node{rel: prefix + name, old: &olds.metas[a], new: &news.metas[b]}
			a++
			b++
			o, w := n.old, n.new
			if err := readXattr(oldDir, name, o); err != nil {
				return listing{err: err}
			}
			if o.dev == w.dev && o.ino == w.ino {
				w.xattr = o.xattr // one inode
			} else if err := readXattr(newDir, name, w); err != nil {
				return listing{err: err}
			}
			switch {
			case o.xattr != w.xattr || !sameMeta(o, w):
				n.differs = true
			case o.isRegular() && o.size > 0 && (o.dev != w.dev || o.ino != w.ino):
				if buf == nil {
					buf = bufPool.Get().(*[]byte)
				}
				eq, err := sameContentAt(olds.fd, news.fd, name, o.size, *buf)
				if err != nil {
					return listing{err: fmt.Errorf("compare %s: %w", n.rel, err)}
				}
				n.differs = !eq
			}
		}
		l.entries++
		// What is equal and no directory is of no further use: a hundred thousand
		// nodes need not be kept for the thousand that count.
		if n.differs || (n.old != nil && n.old.isDir()) || (n.new != nil && n.new.isDir()) {
			l.nodes = append(l.nodes, n)
		}
	}
	return l
}

// sameMeta reports whether o and w agree in everything but content and times: kind,
// owner, mode, size, symlink target, device number.
func sameMeta(o, w *meta) bool {
	switch {
	case !sameKind(o, w) || o.uid != w.uid || o.gid != w.gid || o.mode != w.mode:
		return false
	case o.isLink():
		return o.link == w.link
	case o.isRegular():
		return o.size == w.size
	case o.isDir():
		return true
	}
	return o.rdev == w.rdev
}

// direntBufSize is the buffer getdents gets: a directory of a few hundred entries in one
// call.
const direntBufSize = 32 << 10

// listDir opens and lists the directory p: its names in byte order and an lstat of each.
func listDir(p string) (dirList, error) {
	d := dirList{fd: -1}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return d, &os.PathError{Op: "open", Path: p, Err: err}
	}
	d.fd = fd
	fail := func(op, path string, err error) (dirList, error) {
		d.close()
		return dirList{fd: -1}, &os.PathError{Op: op, Path: path, Err: err}
	}
	buf := make([]byte, direntBufSize)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fail("read directory", p, err)
		}
		if n <= 0 {
			break
		}
		_, _, d.names = unix.ParseDirent(buf[:n], -1, d.names)
	}
	sort.Strings(d.names)
	d.metas = make([]meta, len(d.names))
	var lbuf []byte
	for i, name := range d.names {
		var st unix.Stat_t
		if err := rawfs.Fstatat(fd, name, &st); err != nil {
			return fail("lstat", filepath.Join(p, name), err)
		}
		d.metas[i] = metaOf(&st)
		if m := &d.metas[i]; m.isLink() {
			if lbuf == nil {
				lbuf = make([]byte, unix.PathMax)
			}
			n, err := unix.Readlinkat(fd, name, lbuf)
			if err != nil {
				return fail("readlink", filepath.Join(p, name), err)
			}
			m.link = string(lbuf[:n])
		}
	}
	return d, nil
}

// sameContentAt reports whether the files name in the directories oldFd and newFd, both
// size bytes long as lstat said, hold the same bytes.
func sameContentAt(oldFd, newFd int, name string, size int64, buf []byte) (bool, error) {
	const flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fa, err := rawfs.Openat(oldFd, name, flags)
	if err != nil {
		return false, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer rawfs.Close(fa)
	fb, err := rawfs.Openat(newFd, name, flags)
	if err != nil {
		return false, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer rawfs.Close(fb)
	return sameFds(fa, fb, size, buf)
}

// sameFds compares the open files fa and fb, both size bytes long as lstat said: a block
// at a time, stopping at the first block that differs. A file that fits the buffer takes
// one read; one that turns out shorter differs (it changed while it was compared).
func sameFds(fa, fb int, size int64, buf []byte) (bool, error) {
	half := len(buf) / 2
	ba, bb := buf[:half], buf[half:]
	for left := size; left > 0; {
		k := int(min(int64(half), left))
		na, err := readFull(fa, ba[:k])
		if err != nil {
			return false, err
		}
		nb, err := readFull(fb, bb[:k])
		if err != nil {
			return false, err
		}
		if na != k || nb != k || string(ba[:k]) != string(bb[:k]) {
			return false, nil
		}
		left -= int64(k)
	}
	return true, nil
}

// bufPool holds pairs of read buffers for sameContent.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 2*64<<10); return &b }}

// sameContent reports whether the files a and b hold the same bytes (sameFds, size from
// an fstat of a).
func sameContent(a, b string) (bool, error) {
	fa, err := openRead(a)
	if err != nil {
		return false, err
	}
	defer unix.Close(fa)
	fb, err := openRead(b)
	if err != nil {
		return false, err
	}
	defer unix.Close(fb)
	var st unix.Stat_t
	if err := unix.Fstat(fa, &st); err != nil {
		return false, err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	return sameFds(fa, fb, st.Size, *bp)
}

func openRead(p string) (int, error) {
	for {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: p, Err: err}
		}
		return fd, nil
	}
}

// readFull reads until buf is full or the file ends.
func readFull(fd int, buf []byte) (int, error) {
	got := 0
	for got < len(buf) {
		n, err := rawfs.Read(fd, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return got, err
		}
		if n == 0 {
			break
		}
		got += n
	}
	return got, nil
}

// under reports whether rel is sub or below it ("." holds everything).
func under(rel, sub string) bool {
	return sub == "." || rel == sub || strings.HasPrefix(rel, sub+"/")
}

// parentRel is the parent of rel ("." for a top-level name).
func parentRel(rel string) string { return path.Dir(rel) }
