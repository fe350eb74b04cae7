package drop

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/sign"
	"golang.org/x/sys/unix"
)

// The drop folder's files as the agent moves and reads them: relative to the open folder,
// into subdirectories checked on their open descriptors, never replacing anything.

// Dir is DROP_DIR, open: every move is relative to the open directory, and into a
// subdirectory that is checked on its open descriptor, so that a writer of the folder
// cannot redirect a move with a symlink.
type Dir struct {
	Path string
	fd   int
}

func OpenDir(path string) (*Dir, error) {
	fd, err := openFolder(path)
	if err != nil {
		return nil, err
	}
	return &Dir{Path: path, fd: fd}, nil
}

// openFolder opens DROP_DIR itself, which must be a directory and not a symlink: a writer
// of the folder's parent could point a symlink anywhere.
func openFolder(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	perr := &os.PathError{Op: "open", Path: path, Err: err}
	var st unix.Stat_t
	if (errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)) && unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return -1, cli.WithHint(fmt.Errorf("drop folder %s is a symlink: hotchain takes files only from the directory itself", path),
			"set DROP_DIR to the real directory (readlink -f "+path+")")
	}
	return -1, perr
}

func (d *Dir) Close() { unix.Close(d.fd) }

// sub opens the subdirectory name (done, refused), creating it 0700. It must be a real
// directory (not a symlink), owned by this user and writable by nobody else.
func (d *Dir) sub(name string) (int, error) {
	full := filepath.Join(d.Path, name)
	if err := unix.Mkdirat(d.fd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, &os.PathError{Op: "mkdir", Path: full, Err: err}
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, cli.WithHint(&os.PathError{Op: "open", Path: full, Err: err}, "remove "+full+" (it is not a directory hotchain made) and run again")
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "stat", Path: full, Err: err}
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		unix.Close(fd)
		return -1, cli.WithHint(fmt.Errorf("%s is owned by uid %d with mode %o: hotchain moves files only into a directory that only it can write", full, st.Uid, st.Mode&0o7777),
			"remove "+full+" and run again (hotchain makes it, mode 0700)")
	}
	return fd, nil
}

// Move renames the pair's files into sub under a base name that is free there (the
// archive's name, shortened by MoveStem, else NAME.1, NAME.2, ... NAME.999: nothing there
// is ever replaced), and writes
// reason to BASE.reason when it is not empty. It returns the base name.
func (d *Dir) Move(sub string, p *Pair, reason string) (string, error) {
	sfd, err := d.sub(sub)
	if err != nil {
		return "", err
	}
	defer unix.Close(sfd)
	// What is moved must be what the scan saw (and the run took): a file put in its place
	// since stays in the folder for the next run.
	for _, f := range []*File{p.ArchiveFile, p.SigFile} {
		if f == nil {
			continue
		}
		var st unix.Stat_t
		err := unix.Fstatat(d.fd, f.Name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if was, ok := f.Info.Sys().(*syscall.Stat_t); err == nil && ok && (was.Dev != st.Dev || was.Ino != st.Ino) {
			return "", fmt.Errorf("%s %w (another file was put in its place since it was taken: left in the folder)", filepath.Join(d.Path, f.Name), errChanged)
		}
	}
	stem := MoveStem(p.Archive)
	base, err := freeBase(sfd, stem)
	if err != nil {
		return "", fmt.Errorf("find a free name for %s in %s: %w", p.Archive, filepath.Join(d.Path, sub), err)
	}
	if reason != "" {
		if err := writeAt(sfd, base+".reason", []byte(reason)); err != nil {
			return "", fmt.Errorf("write %s: %w", filepath.Join(d.Path, sub, base+".reason"), err)
		}
	}
	for _, f := range []*File{p.ArchiveFile, p.SigFile} {
		if f == nil {
			continue
		}
		to := base
		if f == p.SigFile {
			to = base + ".sig"
		}
		if err := renameNoReplace(d.fd, f.Name, sfd, to); err != nil && !errors.Is(err, unix.ENOENT) {
			return "", &os.LinkError{Op: "rename", Old: filepath.Join(d.Path, f.Name), New: filepath.Join(d.Path, sub, to), Err: err}
		}
	}
	_ = unix.Fsync(sfd)
	_ = unix.Fsync(d.fd)
	return base, nil
}

// MaxName is the longest archive name (in bytes) the drop folder takes: a longer one is
// refused, and moved under a shortened name (MoveStem), so that the names Move writes
// beside it (NAME.N, NAME.reason and its temporary file) stay within the file system's
// 255 bytes.
const MaxName = 200

// maxSuffix is how many NAME.N Move tries before it gives up.
const maxSuffix = 1000

// MoveStem is the name a pair is moved under: the archive's name, or when that is longer
// than MaxName, its first bytes and a hash of the whole name.
func MoveStem(archive string) string {
	if len(archive) <= MaxName {
		return archive
	}
	sum := sha256.Sum256([]byte(archive))
	cut := MaxName - 17
	for cut > 0 && !utf8.RuneStart(archive[cut]) {
		cut--
	}
	return archive[:cut] + "-" + hex.EncodeToString(sum[:8])
}

// freeBase finds the first of stem, stem.1, ... stem.999 under which no file, .sig or
// .reason is in the directory sfd.
func freeBase(sfd int, stem string) (string, error) {
	taken := func(name string) (bool, error) {
		var st unix.Stat_t
		switch err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.ENOENT):
			return false, nil
		default:
			return false, err
		}
	}
	base := stem
	for n := 1; n <= maxSuffix; n++ {
		busy := false
		for _, name := range []string{base, base + ".sig", base + ".reason"} {
			t, err := taken(name)
			if err != nil {
				return "", err
			}
			busy = busy || t
		}
		if !busy {
			return base, nil
		}
		base = fmt.Sprintf("%s.%d", stem, n)
	}
	return "", fmt.Errorf("%s and %s.1 to %s.%d are all taken: clear out old files there", stem, stem, stem, maxSuffix-1)
}

// renameNoReplace renames without replacing what is there; where the file system has no
// RENAME_NOREPLACE, a plain rename (move checked that the name is free).
func renameNoReplace(oldDir int, oldName string, newDir int, newName string) error {
	err := unix.Renameat2(oldDir, oldName, newDir, newName, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		err = unix.Renameat(oldDir, oldName, newDir, newName)
	}
	return err
}

// writeAt writes name in the directory dirfd atomically: a temporary file created there
// exclusively, synced, and renamed to name without replacing anything.
func writeAt(dirfd int, name string, data []byte) error {
	tmp := fmt.Sprintf(".%s.tmp-%d", name, os.Getpid())
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameNoReplace(dirfd, tmp, dirfd, name)
	}
	if err != nil {
		_ = unix.Unlinkat(dirfd, tmp, 0)
	}
	return err
}

// OpenArchive opens the file f of the folder for reading as the scan saw it: relative to
// the open folder, never through a symlink, without blocking on a FIFO, and only when it is
// still the regular file of the scan (device, inode and size). A writer of the folder
// cannot swap it for a symlink to another file, a pipe or a device while earlier pairs
// install.
func (d *Dir) OpenArchive(f *File) (*os.File, error) {
	full := filepath.Join(d.Path, f.Name)
	fd, err := unix.Openat(d.fd, f.Name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%s %w (it was replaced or removed since the folder was scanned)", full, errChanged)
		}
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: full, Err: err}
	}
	was, ok := f.Info.Sys().(*syscall.Stat_t)
	if st.Mode&unix.S_IFMT != unix.S_IFREG || !ok || was.Ino != st.Ino || was.Dev != st.Dev || was.Size != st.Size {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %w (it was replaced or rewritten since the folder was scanned)", full, errChanged)
	}
	// Reads of a regular file do not care for O_NONBLOCK; drop it all the same.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: full, Err: err}
	}
	return os.NewFile(uintptr(fd), full), nil
}

// PrivateSigCopy reads the signature name of the folder once (a regular file, no symlink,
// no pipe; at most sign.MaxSignatureSize) into a file in a new private directory, and
// returns its path and what removes it.
func PrivateSigCopy(df *Dir, name string) (string, func(), error) {
	full := filepath.Join(df.Path, name)
	fd, err := unix.Openat(df.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return "", nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	f := os.NewFile(uintptr(fd), full)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", nil, fmt.Errorf("%s changed while it was read (it is no longer a regular file)", full)
	}
	data, err := boundedio.ReadAll(f, full, "tarball signature", sign.MaxSignatureSize)
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "hotchain-drop-")
	if err != nil {
		return "", nil, err
	}
	p := filepath.Join(tmp, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return p, func() { os.RemoveAll(tmp) }, nil
}

// statInfo is an fs.FileInfo from fstatat on the folder's descriptor.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s *statInfo) Sys() any           { return &s.st }
func (s *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	}
	if s.st.Mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// readFolder lists the folder at path through one descriptor (openFolder): each entry's
// name and what fstatat says of it, without following a symlink. Entries gone meanwhile
// are left out.
func readFolder(path string) ([]fs.FileInfo, error) {
	fd, err := openFolder(path)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, 0, len(names))
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); errors.Is(err, unix.ENOENT) {
			continue
		} else if err != nil {
			return nil, &os.PathError{Op: "stat", Path: filepath.Join(path, n), Err: err}
		}
		s := &statInfo{name: n}
		s.st.Dev, s.st.Ino, s.st.Mode, s.st.Nlink, s.st.Uid, s.st.Gid, s.st.Size = st.Dev, st.Ino, st.Mode, st.Nlink, st.Uid, st.Gid, st.Size
		s.st.Mtim = syscall.Timespec(st.Mtim)
		s.st.Ctim = syscall.Timespec(st.Ctim)
		out = append(out, s)
	}
	return out, nil
}
