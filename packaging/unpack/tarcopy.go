package unpack

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/hint"
)

// MaxTarballSize is the largest hotfix tarball hotchain reads (compressed, as it lies on
// disk): a hotfix is a few files, the largest seen some hundreds of MB. A bigger input is
// refused before it fills the disk with its private copy.
const MaxTarballSize = 4 << 30

// tarballCopy is a tarball read exactly once, bounded, into an unlinked file in a private
// directory, and mapped into memory: the bytes the signature is checked over are the bytes
// that are unpacked, whatever happens to the file at the tarball's path meanwhile (replaced
// by a rename, rewritten in place, a FIFO that serves other bytes to a second reader).
type tarballCopy struct {
	data []byte // the mapped copy; nil for an empty file
}

// openTarball opens the tarball at path for one read and refuses anything but a regular
// file: a named pipe or a device gives other bytes to each reader, so what was checked
// would not be what is used. O_NONBLOCK keeps the open of a FIFO without a writer from
// hanging; it does nothing for a regular file.
func openTarball(what, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	if err := checkRegular(what, f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkRegular refuses an open input that is not a regular file.
func checkRegular(what string, f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	if !fi.Mode().IsRegular() {
		return hint.With(
			fmt.Errorf("%s %s is a %s, not a regular file: hotchain checks and unpacks a %s only from a regular file", what, path, hotfix.KindOf(fi.Mode()), what),
			"copy the "+what+" and its .sig into a directory and pass the copy",
		)
	}
	return nil
}

// copyTarball reads the tarball (what: or bundle) in (opened from path by openTarball) once
// into a new file that has no name, near dir (see unlinkedFile), and maps it.
func copyTarball(what string, in *os.File, path, dir string) (c *tarballCopy, err error) {
	out, err := unlinkedFile(dir)
	if err != nil {
		return nil, fmt.Errorf("copy %s %s: %w", what, path, err)
	}
	defer out.Close() // the mapping outlives the descriptor
	r := &boundedio.Reader{R: in, What: what, Path: path, Limit: MaxTarballSize}
	n, err := io.Copy(out, r)
	if err != nil {
		if boundedio.IsTooLarge(err) {
			return nil, err
		}
		return nil, fmt.Errorf("copy %s %s: %w", what, path, err)
	}
	c = &tarballCopy{}
	if n > 0 {
		if c.data, err = unix.Mmap(int(out.Fd()), 0, int(n), unix.PROT_READ, unix.MAP_SHARED); err != nil {
			return nil, fmt.Errorf("map the copy of %s %s: %w", what, path, err)
		}
	}
	return c, nil
}

// unlinkedFile makes a file that has no name, so no other process can open, change or
// replace it: O_TMPFILE|O_EXCL in dir, or in its nearest existing parent (the same file
// system as the unpacked hotfix, and no directory changes, not even its mtime); where the
// file system has no O_TMPFILE, a temporary file in a new 0700 directory in the system's
// temporary directory, both removed at once.
func unlinkedFile(dir string) (*os.File, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dir = d
			break
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), filepath.Join(dir, "(unnamed copy)")), nil
	}
	private, err := os.MkdirTemp("", "hotchain-tarball-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(private)
	f, err := os.CreateTemp(private, "copy-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (c *tarballCopy) Close() error {
	if c == nil || c.data == nil {
		return nil
	}
	err := unix.Munmap(c.data)
	c.data = nil
	return err
}

// unpackHooks lets a test act at fixed points of VerifiedTarball; nil outside tests.
type unpackHooks interface {
	// verified runs after the signature was checked and before anything is unpacked.
	verified(tarPath string)
}

var hooks unpackHooks
