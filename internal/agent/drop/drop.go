// Package drop holds the mechanics of the drop folder (DROP_DIR), apart from what the
// agent run does with what it finds there: which names are candidates (Classify), how an
// archive and its .sig pair up (Scan), when a file is complete (Settled, PairState: its
// ctime has settled and no writer holds it), and how a pair leaves the folder (Dir.Move to
// done/ or refused/ with a .reason file, renamed without replacing anything, through a
// directory descriptor), and what a run did there (Result). It lists what an install run
// would take (Result.List), waits once for files that are settling (Result.SettledPairs),
// and takes bundle pairs through the import it is given (TakeBundles). It also reads the
// inotify events the daemon watches the folder with. It reads, renames and writes .reason
// files in the folder, nothing else: it opens an archive only to hand the open file on
// (Dir.OpenArchive), and never reads one, checks a signature or changes the host (the import TakeBundles is given does); it must not import the agent.
package drop

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
// signature pair up, and when a file is complete. How the agent takes a complete tarball
// pair is in package agent (drop_take.go), and how it imports a bundle (drop_bundle.go,
// through TakeBundles); how -daemon watches the folder in internal/agent/daemon, which uses
// ReadInotify and Look.

// Settle is how long a dropped file must stay unchanged (its ctime, which every write
// and every rename moves and no copy tool can set back) before it is taken. Tests shorten
// it; the tests of the binary through SettleEnv.
var Settle = 10 * time.Second

// SettleEnv, for tests only, sets Settle (a Go duration, "200ms") in the agent
// process that the tests start; it is no setting and not documented as one.
const SettleEnv = "HOTCHAIN_TEST_DROP_SETTLE"

// Stale is how long an archive may wait for its signature (or a signature for its
// archive) before the report mentions it.
const Stale = 24 * time.Hour

// The subdirectories of DROP_DIR that the agent moves files to.
const (
	Done    = "done"
	Refused = "refused"
)

// Kind is what a dropped archive is.
type Kind int

const (
	Tarball Kind = iota + 1 // <product>-hotfix-<version>.tar.gz: hotchain apply TARBALL
	Bundle                  // <product>-hotfix-bundle-*.tar: hotchain import FILE
)

// Name is what a name in DROP_DIR is to the agent.
type Name struct {
	Archive string // the archive the file is or signs ("" for a file the agent leaves alone)
	Sig     bool   // the file is archive + ".sig"
	Kind    Kind
	Version hotfix.Version // a tarball's version; a bundle's newest hotfix when its name says
	Bad     string         // why a file meant for this product cannot be taken ("" when it can)
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

// Classify says what name is in the drop folder of product. Names that are not
// for this product (another product's tarball, an admin's notes) are left alone
// (archive ""); names that are meant for it but can never be taken (a tarball whose name
// holds no hotfix version, an RPM) get bad, and are refused once complete.
func Classify(product, name string) Name {
	n := classify(product, name)
	// Every name for this product is checked: a newline or an escape in it would forge
	// lines of the report, whatever else is wrong with it.
	if bad := unpack.NameProblem(name); bad != "" && !isTransferTemp(name) && strings.HasPrefix(name, product+"-hotfix-") {
		if n.Archive == "" {
			archive, sig := strings.CutSuffix(name, ".sig")
			n = Name{Archive: archive, Sig: sig, Kind: Tarball}
		}
		n.Bad = bad
	}
	return n
}

func classify(product, name string) Name {
	if isTransferTemp(name) {
		return Name{}
	}
	archive, sig := strings.CutSuffix(name, ".sig")
	n := Name{Archive: archive, Sig: sig}
	prefix := product + "-hotfix-"
	rest, ok := strings.CutPrefix(archive, prefix)
	if !ok {
		return Name{}
	}
	if len(archive) > MaxName {
		n.Kind = Tarball
		n.Bad = fmt.Sprintf("%s... is %d bytes long: the drop folder takes names up to %d bytes (rename the file)", hotfix.ShownName(strings.ToValidUTF8(archive[:60], "")), len(archive), MaxName)
		return n
	}
	if b, ok := strings.CutPrefix(rest, "bundle-"); ok && (strings.HasSuffix(b, ".tar") || strings.HasSuffix(b, ".tar.gz")) {
		n.Kind = Bundle
		// <from>-<to>: the newest hotfix orders the bundle among tarballs.
		b = strings.TrimSuffix(strings.TrimSuffix(b, ".gz"), ".tar")
		if i := strings.LastIndexByte(b, '-'); i >= 0 {
			if v, err := hotfix.ParseHotfixVersion(b[i+1:]); err == nil {
				n.Version = v
			}
		}
		return n
	}
	switch {
	case strings.HasSuffix(rest, ".tar.gz"):
		n.Kind = Tarball
		v, err := hotfix.ParseHotfixVersion(strings.TrimSuffix(rest, ".tar.gz"))
		if err != nil {
			n.Bad = fmt.Sprintf("%s is not named like a hotfix tarball (%s<version>.tar.gz, e.g. %s6.14.2.3.tar.gz): %v", archive, prefix, prefix, err)
		}
		n.Version = v
	case strings.HasSuffix(rest, ".rpm"):
		n.Kind = Tarball
		n.Bad = fmt.Sprintf("%s is an RPM: the drop folder takes the signed hotfix tarball (%s<version>.tar.gz with its .sig); RPMs install through the repository (hotchain agent) or dnf install", archive, prefix)
	case sig:
		// A .sig for this product whose archive is none of the above.
		n.Kind = Tarball
		n.Bad = fmt.Sprintf("%s does not sign a hotfix tarball or bundle (%s<version>.tar.gz.sig)", name, prefix)
	default:
		return Name{}
	}
	return n
}

// Shown is the archive's name as messages and reports show it: quoted when it holds
// a control or other unprintable character, so that no name forges a line of a report or
// moves a terminal's cursor.
func (n Name) Shown() string { return hotfix.ShownName(n.Archive) }

// File is one file of a pair as the scan found it.
type File struct {
	Name string
	Info fs.FileInfo
}

// Pair is an archive and its signature in DROP_DIR; either may be missing.
type Pair struct {
	Name
	ArchiveFile, SigFile *File
	DirInstead           bool // a directory has the archive's name
}

// Names is the pair's files that are there.
func (p *Pair) Names() []string {
	var out []string
	for _, f := range []*File{p.ArchiveFile, p.SigFile} {
		if f != nil {
			out = append(out, f.Name)
		}
	}
	return out
}

// Scan lists the pairs in dir for product, in chain order (lowest version first;
// bundles by their newest hotfix, bad names last).
func Scan(dir, product string) ([]*Pair, error) {
	entries, err := readFolder(dir)
	if err != nil {
		return nil, err
	}
	byArchive := map[string]*Pair{}
	for _, info := range entries {
		n := Classify(product, info.Name())
		if n.Archive == "" {
			continue
		}
		if info.IsDir() {
			if !n.Sig && n.Bad == "" {
				// A directory named like the archive: the pair's .sig would wait for it.
				p := byArchive[n.Archive]
				if p == nil {
					p = &Pair{Name: n}
					byArchive[n.Archive] = p
				}
				p.DirInstead = true
			}
			continue
		}
		p := byArchive[n.Archive]
		if p == nil {
			p = &Pair{Name: n}
			p.Sig = false // the pair's name is the archive's
			byArchive[n.Archive] = p
		}
		f := &File{Name: info.Name(), Info: info}
		if n.Sig {
			p.SigFile = f
		} else {
			p.ArchiveFile = f
		}
		if n.Bad != "" && p.Bad == "" {
			p.Bad = n.Bad
		}
	}
	pairs := make([]*Pair, 0, len(byArchive))
	for _, p := range byArchive {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b *Pair) int {
		switch {
		case a.Version != nil && b.Version != nil:
			if c := a.Version.Compare(b.Version); c != 0 {
				return c
			}
		case a.Version != nil:
			return -1
		case b.Version != nil:
			return 1
		}
		return strings.Compare(a.Archive, b.Archive)
	})
	return pairs, nil
}

// Settled says whether the file name in dir is complete: a regular file that no process
// has open for writing and whose ctime is at least settle old. When it is not, why says so
// and wait is how long until it may be (0 when only a writer closing it will tell).
func Settled(dir string, f *File, now time.Time, settle time.Duration) (ok bool, why string, wait time.Duration) {
	if !f.Info.Mode().IsRegular() {
		return false, "not a regular file", 0
	}
	if age := now.Sub(ChangedAt(f)); age < settle {
		return false, fmt.Sprintf("changed %s ago", age.Round(time.Second)), settle - age
	}
	writing, err := openForWriting(filepath.Join(dir, f.Name), f.Info)
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
