package history

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// MaxSize is the size at which a host's log is rotated: the next append renames it to
// <host>.jsonl.1 (and .1 to .2, up to Generations) and starts a new file. A host's history
// therefore never takes more than (Generations+1) * (MaxSize + MaxLine) bytes.
const MaxSize = 1 << 20

// Generations is how many rotated logs are kept beside the current one.
const Generations = 3

// Subdir is the directory under LEDGER_DIR that holds the logs.
const Subdir = "history"

// Log is one host's history: LEDGER_DIR/history/<host>.jsonl, its rotated generations
// <host>.jsonl.1 (newest) to .<Generations>, and <host>.jsonl.lock, whose flock orders the
// rotation against the appends (shared for an append, exclusive for a rotation), also
// between hosts on shared storage (NFS turns flock into its own locks).
type Log struct {
	// Dir is the history directory (LEDGER_DIR/history, inside -root).
	Dir  string
	Host string
	// MaxSize is the rotation size; 0 means MaxSize. Tests make it small.
	MaxSize int64
}

// Path is the current log file.
func (l *Log) Path() string { return filepath.Join(l.Dir, l.Host+".jsonl") }

func (l *Log) maxSize() int64 {
	if l.MaxSize > 0 {
		return l.MaxSize
	}
	return MaxSize
}

// Append writes e as one line (Marshal) to the end of the log, rotating it first when the
// line would take it over the rotation size. The line goes out in one write(2) to a file
// opened O_APPEND, so concurrent appenders (processes of this host, or the agent and a
// scriptlet's apply) never mix their lines. A log whose last line was torn (power loss) gets
// a newline first, so that only the torn line is lost.
func (l *Log) Append(e Event) error {
	if e.Host == "" {
		e.Host = l.Host
	}
	line, err := Marshal(e)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	lk, err := os.OpenFile(l.Path()+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer lk.Close()
	if fi, err := os.Stat(l.Path()); err == nil && fi.Size()+int64(len(line)) > l.maxSize() {
		if err := l.rotate(lk, int64(len(line))); err != nil {
			return err
		}
	}
	if err := flock(lk, unix.LOCK_SH); err != nil {
		return err
	}
	defer flock(lk, unix.LOCK_UN)
	f, err := os.OpenFile(l.Path(), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if torn(f) {
		line = append([]byte{'\n'}, line...)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("history: append to %s: %w", l.Path(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("history: append to %s: %w", l.Path(), err)
	}
	return nil
}

// torn reports whether the file does not end in a newline.
func torn(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false
	}
	b := make([]byte, 1)
	n, err := f.ReadAt(b, fi.Size()-1)
	return err == nil && n == 1 && b[0] != '\n'
}

// rotate renames the generations up by one, under the exclusive lock, unless another
// appender rotated while this one waited for the lock.
func (l *Log) rotate(lk *os.File, need int64) error {
	if err := flock(lk, unix.LOCK_EX); err != nil {
		return err
	}
	defer flock(lk, unix.LOCK_UN)
	fi, err := os.Stat(l.Path())
	if err != nil || fi.Size()+need <= l.maxSize() {
		return nil
	}
	for g := Generations - 1; g >= 1; g-- {
		err := os.Rename(l.generation(g), l.generation(g+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("history: rotate: %w", err)
		}
	}
	if err := os.Rename(l.Path(), l.generation(1)); err != nil {
		return fmt.Errorf("history: rotate: %w", err)
	}
	return nil
}

// generation is rotated log g (1 is the newest); 0 is the current one.
func (l *Log) generation(g int) string {
	if g == 0 {
		return l.Path()
	}
	return l.Path() + "." + strconv.Itoa(g)
}

// Files is the log's files that exist, oldest first.
func (l *Log) Files() []string {
	var out []string
	for g := Generations; g >= 0; g-- {
		if _, err := os.Stat(l.generation(g)); err == nil {
			out = append(out, l.generation(g))
		}
	}
	return out
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("history: lock %s: %w", f.Name(), err)
		}
		return nil
	}
}
