package treediff

import (
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
	nodes []node
	err   error
}

// walk lists both trees below their roots, one level of directories at a time, the
// directories of a level on walkWorkers goroutines (internal/ordered, so the result is in
// a fixed order whatever the timing). It never follows a symlink: every entry is lstat'ed
// (fstatat relative to its open directory). It returns every path of the union, parents
// before children, and also the names in OLD that start with tempPrefix, by directory.
func walk(oldRoot, newRoot string) ([]node, error) {
	oldM, err := lstatMeta(oldRoot)
	if err != nil {
		return nil, err
	}
	newM, err := lstatMeta(newRoot)
	if err != nil {
		return nil, err
	}
	if !oldM.isDir() || !newM.isDir() {
		return nil, fmt.Errorf("%s and %s must both be directories", oldRoot, newRoot)
	}
	all := []node{{rel: ".", old: oldM, new: newM}}
	level := []dirJob{{rel: ".", inOld: true, inNew: true}}
	for len(level) > 0 {
		out := make([]listing, len(level))
		err := ordered.InOrder(len(level), walkWorkers, func(i int) error {
			j := level[i]
			out[i] = listPair(oldRoot, newRoot, j)
			return out[i].err
		}, func(int) {})
		if err != nil {
			return nil, err
		}
		var next []dirJob
		for _, l := range out {
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
	return all, nil
}

// listPair lists the directory j.rel in the trees that have it and merges the two lists.
func listPair(oldRoot, newRoot string, j dirJob) listing {
	var olds, news map[string]*meta
	var oldNames, newNames []string
	var err error
	if j.inOld {
		if oldNames, olds, err = listDir(filepath.Join(oldRoot, filepath.FromSlash(j.rel))); err != nil {
			return listing{err: err}
		}
	}
	if j.inNew {
		if newNames, news, err = listDir(filepath.Join(newRoot, filepath.FromSlash(j.rel))); err != nil {
			return listing{err: err}
		}
	}
	names := oldNames
	if len(newNames) > 0 {
		names = append(append([]string(nil), oldNames...), newNames...)
		sort.Strings(names)
	}
	var l listing
	for i, name := range names {
		if i > 0 && names[i-1] == name {
			continue
		}
		rel := name
		if j.rel != "." {
			rel = j.rel + "/" + name
		}
		l.nodes = append(l.nodes, node{rel: rel, old: olds[name], new: news[name]})
	}
	return l
}

// listDir lists the directory p: its names in byte order and an lstat of each.
func listDir(p string) ([]string, map[string]*meta, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, nil, fmt.Errorf("read directory %s: %w", p, err)
	}
	sort.Strings(names)
	fd := int(f.Fd())
	ms := make(map[string]*meta, len(names))
	metas := make([]meta, len(names))
	var buf []byte
	for i, name := range names {
		var st unix.Stat_t
		for {
			err = unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			return nil, nil, &os.PathError{Op: "lstat", Path: filepath.Join(p, name), Err: err}
		}
		metas[i] = metaOf(&st)
		m := &metas[i]
		if m.isLink() {
			if buf == nil {
				buf = make([]byte, unix.PathMax)
			}
			n, err := unix.Readlinkat(fd, name, buf)
			if err != nil {
				return nil, nil, &os.PathError{Op: "readlink", Path: filepath.Join(p, name), Err: err}
			}
			m.link = string(buf[:n])
		}
		ms[name] = m
	}
	return names, ms, nil
}

// compare marks every node that differs between OLD and NEW: present on one side only,
// another kind, another mode or owner, another symlink target, another content, another
// device number. Modification times are not compared (a hotfix cannot set a directory's,
// and a file whose content is the same is not shipped for its time). Regular files of the
// same size are compared byte by byte with an early exit, several at once; files of
// different sizes differ without being read, and hard links to one inode are equal
// without being read.
func compare(oldRoot, newRoot string, nodes []node) error {
	var same []int // regular on both sides, same size and metadata: the content decides
	for i := range nodes {
		n := &nodes[i]
		o, w := n.old, n.new
		switch {
		case o == nil || w == nil || !sameKind(o, w) || o.uid != w.uid || o.gid != w.gid:
			n.differs = true
		case o.isDir():
			n.differs = o.mode != w.mode
		case o.isLink():
			n.differs = o.link != w.link
		case o.isRegular():
			switch {
			case o.mode != w.mode || o.size != w.size:
				n.differs = true
			case o.size == 0 || (o.dev == w.dev && o.ino == w.ino):
			default:
				same = append(same, i)
			}
		default:
			n.differs = o.mode != w.mode || o.rdev != w.rdev
		}
	}
	return ordered.InOrder(len(same), walkWorkers, func(k int) error {
		n := &nodes[same[k]]
		eq, err := sameContent(filepath.Join(oldRoot, filepath.FromSlash(n.rel)), filepath.Join(newRoot, filepath.FromSlash(n.rel)))
		n.differs = !eq
		return err
	}, func(int) {})
}

// bufPool holds pairs of read buffers for sameContent.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 2*64<<10); return &b }}

// sameContent reports whether the files a and b (of the same size) hold the same bytes,
// reading both a block at a time and stopping at the first block that differs.
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
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	half := len(*bp) / 2
	ba, bb := (*bp)[:half], (*bp)[half:]
	for {
		na, err := readFull(fa, ba)
		if err != nil {
			return false, fmt.Errorf("read %s: %w", a, err)
		}
		nb, err := readFull(fb, bb)
		if err != nil {
			return false, fmt.Errorf("read %s: %w", b, err)
		}
		if na != nb || string(ba[:na]) != string(bb[:nb]) {
			return false, nil
		}
		if na < len(ba) {
			return true, nil
		}
	}
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
		n, err := unix.Read(fd, buf[got:])
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
