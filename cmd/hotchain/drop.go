package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/packaging/unpack"
	"golang.org/x/sys/unix"
)

// The drop folder (DROP_DIR): which files in it are candidates, how an archive and its
// signature pair up, and when a file is complete. What the agent does with a complete pair
// is in drop_take.go; how -daemon watches the folder in drop_watch.go.

// dropSettle is how long a dropped file must stay unchanged (its ctime, which every write
// and every rename moves and no copy tool can set back) before it is taken. Tests shorten
// it; the tests of the binary through dropSettleEnv.
var dropSettle = 10 * time.Second

// dropSettleEnv, for tests only, sets dropSettle (a Go duration, "200ms") in the agent
// process that the tests start; it is no setting and not documented as one.
const dropSettleEnv = "HOTCHAIN_TEST_DROP_SETTLE"

// dropStale is how long an archive may wait for its signature (or a signature for its
// archive) before the report mentions it.
const dropStale = 24 * time.Hour

// The subdirectories of DROP_DIR that the agent moves files to.
const (
	dropDone    = "done"
	dropRefused = "refused"
)

// dropKind is what a dropped archive is.
type dropKind int

const (
	dropTarball dropKind = iota + 1 // <product>-hotfix-<version>.tar.gz: hotchain apply TARBALL
	dropBundle                      // <product>-hotfix-bundle-*.tar: hotchain import FILE
)

// dropName is what a name in DROP_DIR is to the agent.
type dropName struct {
	archive string // the archive the file is or signs ("" for a file the agent leaves alone)
	sig     bool   // the file is archive + ".sig"
	kind    dropKind
	version hotfix.Version // a tarball's version; a bundle's newest hotfix when its name says
	bad     string         // why a file meant for this product cannot be taken ("" when it can)
}

// isTransferTemp reports whether name is what a copy in progress is called by the tools
// that copy into a folder: a dot file (rsync's .name.XXXXXX, our own temporary files), or
// a name ending in .part, .tmp, .filepart (WinSCP), .crdownload or ~. They are never taken
// and never refused: the tool renames them when it is done.
func isTransferTemp(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return true
	}
	for _, suffix := range []string{".part", ".tmp", ".filepart", ".crdownload"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// classifyDropName says what name is in the drop folder of product. Names that are not
// for this product (another product's tarball, an admin's notes) are left alone
// (archive ""); names that are meant for it but can never be taken (a tarball whose name
// holds no hotfix version, an RPM) get bad, and are refused once complete.
func classifyDropName(product, name string) dropName {
	if isTransferTemp(name) {
		return dropName{}
	}
	archive, sig := strings.CutSuffix(name, ".sig")
	n := dropName{archive: archive, sig: sig}
	prefix := product + "-hotfix-"
	rest, ok := strings.CutPrefix(archive, prefix)
	if !ok {
		return dropName{}
	}
	if b, ok := strings.CutPrefix(rest, "bundle-"); ok && (strings.HasSuffix(b, ".tar") || strings.HasSuffix(b, ".tar.gz")) {
		n.kind = dropBundle
		// <from>-<to>: the newest hotfix orders the bundle among tarballs.
		b = strings.TrimSuffix(strings.TrimSuffix(b, ".gz"), ".tar")
		if i := strings.LastIndexByte(b, '-'); i >= 0 {
			if v, err := hotfix.ParseHotfixVersion(b[i+1:]); err == nil {
				n.version = v
			}
		}
		n.bad = unpack.NameProblem(name) // a tarball's name is checked whole: the version
		return n
	}
	switch {
	case strings.HasSuffix(rest, ".tar.gz"):
		n.kind = dropTarball
		v, err := hotfix.ParseHotfixVersion(strings.TrimSuffix(rest, ".tar.gz"))
		if err != nil {
			n.bad = fmt.Sprintf("%s is not named like a hotfix tarball (%s<version>.tar.gz, e.g. %s6.14.2.3.tar.gz): %v", archive, prefix, prefix, err)
		}
		n.version = v
	case strings.HasSuffix(rest, ".rpm"):
		n.kind = dropTarball
		n.bad = fmt.Sprintf("%s is an RPM: the drop folder takes the signed hotfix tarball (%s<version>.tar.gz with its .sig); RPMs install through the repository (hotchain agent) or dnf install", archive, prefix)
	case sig:
		// A .sig for this product whose archive is none of the above.
		n.kind = dropTarball
		n.bad = fmt.Sprintf("%s does not sign a hotfix tarball or bundle (%s<version>.tar.gz.sig)", name, prefix)
	default:
		return dropName{}
	}
	return n
}

// dropFile is one file of a pair as the scan found it.
type dropFile struct {
	name string
	info fs.FileInfo
}

// dropPair is an archive and its signature in DROP_DIR; either may be missing.
type dropPair struct {
	dropName
	archiveFile, sigFile *dropFile
}

// names is the pair's files that are there.
func (p *dropPair) names() []string {
	var out []string
	for _, f := range []*dropFile{p.archiveFile, p.sigFile} {
		if f != nil {
			out = append(out, f.name)
		}
	}
	return out
}

// scanDrop lists the pairs in dir for product, in chain order (lowest version first;
// bundles by their newest hotfix, bad names last).
func scanDrop(dir, product string) ([]*dropPair, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	byArchive := map[string]*dropPair{}
	for _, e := range entries {
		n := classifyDropName(product, e.Name())
		if n.archive == "" {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // renamed away meanwhile
		} else if err != nil {
			return nil, err
		}
		if info.IsDir() {
			continue
		}
		p := byArchive[n.archive]
		if p == nil {
			p = &dropPair{dropName: n}
			p.sig = false // the pair's name is the archive's
			byArchive[n.archive] = p
		}
		f := &dropFile{name: e.Name(), info: info}
		if n.sig {
			p.sigFile = f
		} else {
			p.archiveFile = f
		}
		if n.bad != "" && p.bad == "" {
			p.bad = n.bad
		}
	}
	pairs := make([]*dropPair, 0, len(byArchive))
	for _, p := range byArchive {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b *dropPair) int {
		switch {
		case a.version != nil && b.version != nil:
			if c := a.version.Compare(b.version); c != 0 {
				return c
			}
		case a.version != nil:
			return -1
		case b.version != nil:
			return 1
		}
		return strings.Compare(a.archive, b.archive)
	})
	return pairs, nil
}

// settled says whether the file name in dir is complete: a regular file that no process
// has open for writing and whose ctime is at least settle old. When it is not, why says so
// and wait is how long until it may be (0 when only a writer closing it will tell).
func settled(dir string, f *dropFile, now time.Time, settle time.Duration) (ok bool, why string, wait time.Duration) {
	if !f.info.Mode().IsRegular() {
		return false, "not a regular file", 0
	}
	if age := now.Sub(changedAt(f)); age < settle {
		return false, fmt.Sprintf("changed %s ago", age.Round(time.Second)), settle - age
	}
	writing, err := openForWriting(filepath.Join(dir, f.name), f.info)
	switch {
	case err != nil:
		return false, err.Error(), 0
	case writing:
		return false, "open for writing", 0
	}
	return true, "", 0
}

// errChanged says that a file changed between the scan and the check.
var errChanged = errors.New("changed while it was looked at")

// openForWriting reports whether some process has the file at path open for writing: a
// read lease (fcntl F_SETLEASE F_RDLCK on a read-only descriptor) is refused with EAGAIN
// while any descriptor of the file is open for writing. The lease is given back at once,
// so that no writer waits for it. Where leases are not available (a file system without
// them, a file of another owner without CAP_LEASE), it reports false: the ctime then
// decides alone. The file must still be the one info describes (errChanged otherwise).
func openForWriting(path string, info fs.FileInfo) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
			return false, errChanged
		}
		return false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if was, ok := info.Sys().(*syscall.Stat_t); ok && (was.Ino != st.Ino || was.Dev != st.Dev || was.Size != st.Size) {
		return false, errChanged
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, errChanged
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_RDLCK)
	switch {
	case err == nil:
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK)
		return false, nil
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EBUSY):
		return true, nil
	}
	return false, nil // no leases here (EINVAL, EACCES, ENOLCK): the ctime decides
}
