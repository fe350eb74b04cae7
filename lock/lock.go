// Package lock holds the host-side locks of hotchain (LOCK_CRON, LOCK_TS): flock(2) locks on
// files that the kernel releases when the holding process dies (and with it every child that it
// gave the lock's file to, see Lock.File), so a killed run never leaves a stale lock behind. The pid and token written into a lock file are for people and for child
// processes to read; the lock itself is the flock, never the file's content or existence.
//
// It must not remove lock files (removing a flock file while another process waits on it lets
// two runs hold "the same" lock on different inodes), and lock files belong on a local
// filesystem such as /run/lock: on NFS flock is emulated with fcntl locks, which a process loses
// when it closes any descriptor of the file.
package lock

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// HeldError reports that another run holds the lock. PID is the holder's pid as written in the
// lock file, 0 when unknown (the file was empty or the holder had not written it yet).
type HeldError struct {
	Path string
	PID  int
	// Orphaned is true when the process PID is gone but the lock is still held: a child it
	// gave the lock to (File) runs on, a script or a product patch under `hotchain hold`.
	Orphaned bool
}

func (e *HeldError) Error() string {
	if e.Orphaned {
		return fmt.Sprintf("lock %s is held by a process that run pid %d started; pid %d has died, what it started still runs", e.Path, e.PID, e.PID)
	}
	if e.PID > 0 {
		return fmt.Sprintf("lock %s is held by another run (pid %d)", e.Path, e.PID)
	}
	return fmt.Sprintf("lock %s is held by another run", e.Path)
}

// Hint tells the user what to do next; the command line prints it below the error.
func (e *HeldError) Hint() string {
	if e.Orphaned {
		return fmt.Sprintf("wait for it to finish; fuser -v %s lists the processes that hold the lock", e.Path)
	}
	return "wait for that run to finish (see hotchain status); the lock is released as soon as its process exits, so there is no file to delete"
}

// IsHeld reports whether err is, or wraps, a *HeldError.
func IsHeld(err error) bool {
	var h *HeldError
	return errors.As(err, &h)
}

// pollInterval is how often LockTimeout retries: short enough that a waiting `service stop`
// notices a finished install at once, long enough to cost nothing.
const pollInterval = 50 * time.Millisecond

// Lock is one lock file. The zero value is not usable: call New or Acquire.
type Lock struct {
	path string

	mu        sync.Mutex
	f         *os.File // non-nil while held by this Lock
	token     string
	inherited bool
}

// New returns an unlocked lock on path. Nothing touches the filesystem until the lock is taken.
func New(path string) *Lock {
	return &Lock{path: path}
}

// Path returns the lock file's path as given to New.
func (l *Lock) Path() string { return l.path }

// Token returns the random token written on the lock file's second line while the lock is
// held (32 hex digits), or "" when it is not held. Export it to child processes as EnvVar.
func (l *Lock) Token() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

// Inherited reports whether this Lock stands for a lock that a parent process holds (see Acquire).
func (l *Lock) Inherited() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inherited
}

// TryLock takes the lock at once or returns a *HeldError naming the holder's pid. Once taken,
// the file holds "<pid>\n<token>\n".
func (l *Lock) TryLock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil || l.inherited {
		return fmt.Errorf("lock %s is already held by this process", l.path)
	}
	if err := ensureParent(l.path); err != nil {
		return err
	}
	if fi, err := os.Lstat(l.path); err == nil && !fi.Mode().IsRegular() {
		kind := "a special file"
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			kind = "a symbolic link"
		case fi.IsDir():
			kind = "a directory"
		}
		return fmt.Errorf("lock file %s is not a regular file but %s: remove it, hotchain creates the file itself", l.path, kind)
	}
	// O_NOFOLLOW: a symlink planted at the lock path must not make us create or lock another
	// file. Readable by all so that `hotchain status` run by any user can show the holder.
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDONLY|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := holderPID(l.path)
			return &HeldError{Path: l.path, PID: pid, Orphaned: pid > 0 && !alive(pid)}
		}
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	token, err := newToken()
	if err == nil {
		err = writeHolder(f, l.path, fmt.Sprintf("%d\n%s\n", os.Getpid(), token))
	}
	if err != nil {
		f.Close() // releases the lock
		return err
	}
	l.f, l.token = f, token
	return nil
}

// File returns the open file that holds the lock, nil when this Lock does not hold it itself
// (not taken, or inherited). Give it to a child process (exec.Cmd.ExtraFiles) that must keep
// the lock held as long as it runs: a flock belongs to the open file description, so the lock
// stays held while any process has the file open, also after this one was killed. Unlock
// releases it for all of them.
func (l *Lock) File() *os.File {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f
}

// alive reports whether process pid runs: it exists and is not a zombie that its parent has
// not reaped yet.
func alive(pid int) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	// "pid (comm) S ...": the state follows the last parenthesis.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// pidWait is how long a run that finds the lock held waits for the holder to write its pid:
// a holder writes it right after taking the flock, so a file still empty at that moment
// (a new lock file, or one emptied by the previous holder's Unlock) gets it within
// microseconds; twenty agents started at once showed losers reading it empty.
const pidWait = 100 * time.Millisecond

// holderPID is the pid in the lock file of a held lock, read again for up to pidWait while
// the file holds none; 0 if it still holds none (a holder that is not hotchain).
func holderPID(path string) int {
	deadline := time.Now().Add(pidWait)
	for {
		pid := ReadPID(path)
		if pid > 0 || time.Now().After(deadline) {
			return pid
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// LockTimeout waits up to d for the lock, retrying every pollInterval, and returns a *HeldError
// when d passes, or ctx's error (wrapped) when ctx ends first.
func (l *Lock) LockTimeout(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		err := l.TryLock()
		if err == nil || !IsHeld(err) {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return err
		}
		timer.Reset(min(left, pollInterval))
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lock %s: %w", l.path, ctx.Err())
		case <-timer.C:
		}
	}
}

// Unlock empties the lock file and releases the lock. It does nothing for a lock that is not
// held or that is inherited (the parent releases it).
func (l *Lock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inherited || l.f == nil {
		return nil
	}
	// Empty the file while still holding the lock, so that no reader takes our pid for a live
	// holder afterwards. LOCK_UN, not just a close: children given the file (File) share the
	// open file description and would keep the lock.
	clearErr := writeHolder(l.f, l.path, "")
	err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.f, l.token = nil, ""
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return clearErr
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make lock token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
