package lock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gofrs/flock"
)

// maxContent bounds what we read from a lock file: it holds a pid and a token, anything longer
// is not ours.
const maxContent = 256

// writeHolder replaces the content of the lock file that locked holds. The lock is taken on a
// read-only descriptor, so the file is opened a second time for writing; the checks make sure
// that second open reached the very file we locked and that no other user owns it (who could
// then rewrite the token).
func writeHolder(locked *os.File, path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("write lock file %s: %w", path, err)
	}
	defer f.Close()
	mine, err := f.Stat()
	if err != nil {
		return fmt.Errorf("write lock file %s: %w", path, err)
	}
	lockedInfo, err := locked.Stat()
	if err != nil {
		return fmt.Errorf("write lock file %s: %w", path, err)
	}
	if !os.SameFile(mine, lockedInfo) {
		return fmt.Errorf("lock file %s was replaced while being locked: check who else writes to %s", path, path)
	}
	if uid, ok := ownerOf(mine); ok && uid != 0 && uid != os.Geteuid() {
		return fmt.Errorf("lock file %s belongs to uid %d, not to this user (uid %d) or root: remove it and let hotchain create it", path, uid, os.Geteuid())
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("write lock file %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		return fmt.Errorf("write lock file %s: %w", path, err)
	}
	return nil
}

// readContent returns the first two lines of a lock file: the pid and the token.
func readContent(path string) (pid int, token string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxContent))
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if len(lines) > 0 {
		if n, err := strconv.Atoi(lines[0]); err == nil && n > 0 {
			pid = n
		}
	}
	if len(lines) > 1 {
		token = lines[1]
	}
	return pid, token, sc.Err()
}

// ReadPID reads the pid written in a lock file, 0 if there is none or the file cannot be read.
// A pid alone does not mean the lock is held (a killed holder leaves its pid behind): ask
// IsLocked first.
func ReadPID(path string) int {
	pid, _, _ := readContent(path)
	return pid
}

// IsLocked reports whether some open file description holds the lock, this process's own
// included. It probes with a shared lock that it drops at once, so two probes never disturb
// each other; a run that tries the lock during that instant sees it held. A lock file that does
// not exist is not locked, and IsLocked does not create it.
func IsLocked(path string) (bool, error) {
	fl := flock.New(path, flock.SetFlag(os.O_RDONLY))
	ok, err := fl.TryRLock()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("probe lock %s: %w", path, err)
	}
	if !ok {
		return true, nil
	}
	if err := fl.Unlock(); err != nil {
		return false, fmt.Errorf("probe lock %s: %w", path, err)
	}
	return false, nil
}

func ownerOf(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
