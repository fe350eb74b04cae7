// Package boundedio reads files that hotchain does not control (settings, ledgers,
// journals, version.txt, tarballs) with a limit on how much it reads, so that a huge or
// endless file costs at most the limit in memory and time instead of killing the process.
//
// It is a leaf: it imports nothing of hotchain, so every package can use it. It only reads;
// each caller names its own limit as a documented constant.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// TooLargeError is the error for input over its limit: What (e.g. "settings file") at Path
// holds more than Limit bytes.
type TooLargeError struct {
	What  string
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s %s is larger than %s, the most hotchain reads of it: refused", e.What, e.Path, Size(e.Limit))
}

// Hint says what to do next.
func (e *TooLargeError) Hint() string {
	return fmt.Sprintf("check that %s is the right file and has not been damaged or replaced", e.Path)
}

// IsTooLarge reports whether err is or wraps a *TooLargeError.
func IsTooLarge(err error) bool {
	var t *TooLargeError
	return errors.As(err, &t)
}

// Size formats a limit for messages: "64 KiB", "16 MiB", "4 GiB", else bytes.
func Size(n int64) string {
	for _, u := range []struct {
		unit string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.unit)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadFile reads the regular file at path, refusing it with a *TooLargeError when it holds
// more than limit bytes. It reads at most limit+1 bytes and allocates at most about limit,
// so a file that grows while it is read costs no more. Anything but a regular file (a named
// pipe, a device, a socket, a directory) is refused with a *NotRegularError before a byte
// is read: the open does not wait (O_NONBLOCK), so a named pipe without a writer cannot
// hang the caller, and /dev/zero or a pipe's endless stream is never read. Every file
// hotchain reads this way (settings, ledgers, journals, version files, keys, signatures,
// /proc files, which are regular) is a regular file. Open errors are returned as os.ReadFile
// returns them (os.IsNotExist works).
func ReadFile(path, what string, limit int64) ([]byte, error) {
	f, err := Open(path, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, path, what, limit)
}

// Open opens the regular file at path (what names it in messages) for reading, as ReadFile
// does, for a caller that checks the open file before it reads it with ReadAll: anything
// but a regular file is refused with a *NotRegularError, without waiting for a named
// pipe's writer.
func Open(path, what string) (*os.File, error) {
	// O_NONBLOCK changes nothing for a regular file, which is all that is read.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) { // a socket cannot be opened: say what it is
		if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
			return nil, &NotRegularError{What: what, Path: path, Mode: fi.Mode()}
		}
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{What: what, Path: path, Mode: fi.Mode()}
	}
	return f, nil
}

// NotRegularError is the error for a file that ReadFile refuses because it is not a
// regular file: What (e.g. "tarball signature") at Path is of the type in Mode.
type NotRegularError struct {
	What string
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s %s is a %s, not a regular file: refused", e.What, e.Path, Kind(e.Mode))
}

// Hint says what to do next.
func (e *NotRegularError) Hint() string {
	return fmt.Sprintf("put a regular file at %s (copy the content there; a named pipe or a device gives other bytes to each reader)", e.Path)
}

// IsNotRegular reports whether err is or wraps a *NotRegularError.
func IsNotRegular(err error) bool {
	var n *NotRegularError
	return errors.As(err, &n)
}

// Kind names the kind of a file that is not a regular file, for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file"
}

// ReadAll reads r to its end like io.ReadAll, refusing more than limit bytes with a
// *TooLargeError naming what and path. When r is an *os.File of a regular file, its size
// refuses a file that is too large before anything is read, and sizes the buffer, so a
// small file costs one allocation; a file that grows meanwhile is still cut at the limit.
// Refusing costs at most about three times the limit in allocations (the buffer grows by
// doubling, up to the limit).
func ReadAll(r io.Reader, path, what string, limit int64) ([]byte, error) {
	size := int64(512)
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if fi.Size() > limit {
				return nil, &TooLargeError{What: what, Path: path, Limit: limit}
			}
			size = fi.Size() + 1 // +1: ReadAll needs room to see EOF
		}
	}
	size = min(size, limit+1)
	buf := make([]byte, 0, size)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(buf) == cap(buf) { // grow, but never past what the limit needs
			grown := make([]byte, len(buf), min(2*int64(cap(buf))+512, limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, &TooLargeError{What: what, Path: path, Limit: limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// Reader reads from R and fails with a *TooLargeError once more than Limit bytes came
// through: a stream consumer (a scanner, a decompressor, a copy) stops there instead of
// going on. Read reports the bytes up to the limit first, then the error.
type Reader struct {
	R     io.Reader
	What  string
	Path  string
	Limit int64
	n     int64
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.n > r.Limit {
		return 0, &TooLargeError{What: r.What, Path: r.Path, Limit: r.Limit}
	}
	if left := r.Limit + 1 - r.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.R.Read(p)
	r.n += int64(n)
	if r.n > r.Limit {
		return n - int(r.n-r.Limit), &TooLargeError{What: r.What, Path: r.Path, Limit: r.Limit}
	}
	return n, err
}
