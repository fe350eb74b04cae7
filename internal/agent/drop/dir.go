package drop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Dir{Path: path, fd: fd}, nil
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
// archive's name, else NAME.1, NAME.2, ...: nothing there is ever replaced), and writes
// reason to BASE.reason when it is not empty. It returns the base name.
func (d *Dir) Move(sub string, p *Pair, reason string) (string, error) {
	sfd, err := d.sub(sub)
	if err != nil {
		return "", err
	}
	defer unix.Close(sfd)
	free := func(name string) bool {
		var st unix.Stat_t
		return errors.Is(unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW), unix.ENOENT)
	}
	base := p.Archive
	for n := 1; !free(base) || !free(base+".sig") || !free(base+".reason"); n++ {
		base = fmt.Sprintf("%s.%d", p.Archive, n)
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
