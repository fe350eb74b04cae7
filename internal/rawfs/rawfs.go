// Package rawfs holds the file-system calls of a walk over large trees (hotchain diff
// compares two trees of 100,000 files): fstatat, openat, read and close made without the Go
// scheduler's bookkeeping, and the extended attributes of an entry. It is a leaf and knows
// nothing of hotfixes; it writes nothing.
package rawfs

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// A comparison makes four system calls for each entry of each tree (fstatat, openat,
// read, close), on what is most often in the page cache, where each takes a few
// microseconds. Made the ordinary way, each also tells the Go scheduler that it may block,
// and the scheduler's monitor hands the thread's processor to another thread when one takes
// longer than 20 µs: over 100,000 files, those hand-offs (futex wake-ups, spinning threads)
// cost the kernel more than the calls themselves. The calls below skip that bookkeeping
// (RawSyscall). A call that does block (a cold cache) holds its processor meanwhile, which
// costs the comparison nothing: its workers are as many as the processors.

// Fstatat is fstatat(2) of name in dirfd, not following a symlink.
func Fstatat(dirfd int, name string, st *unix.Stat_t) error {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	for {
		_, _, e := unix.RawSyscall6(sysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// Openat is openat(2) of name in dirfd.
func Openat(dirfd int, name string, flags int) (int, error) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(fd), nil
	}
}

// Read is read(2).
func Read(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Close is close(2), its error ignored (the files are only read).
func Close(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}
