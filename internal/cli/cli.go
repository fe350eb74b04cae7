// Package cli holds what hotchain's commands share below cmd/hotchain: the process
// environment a command may touch (Env), and the error kinds that cmd/hotchain's exit.go
// maps to exit statuses (UsageError, ExitError, SilentExit) or prints with a hint line
// (WithHint). It decides no exit status itself and prints nothing but warnings: the one
// mapping of errors to statuses stays in cmd/hotchain (exit.go). A leaf: it imports only the
// standard library.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/hint"
)

// Env is what a command may touch of the process: tests hand in their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Environ        []string
	BootID         func() (string, error) // the running boot's id; nil: the kernel's (hoststate.ReadBootID)
}

// Getenv looks a variable up in e.Environ.
func (e *Env) Getenv(key string) string { return LookupEnv(e.Environ, key) }

// LookupEnv looks a variable up in environ with sysconfig.LookupEnv's rule: the last
// assignment wins (as for the settings file's environment overrides). It is written out here
// so that this leaf imports no package of hotchain.
func LookupEnv(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// Warnf prints a warning that does not stop the command.
func (e *Env) Warnf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "hotchain: warning: "+format+"\n", args...)
}

// UsageError is a mistake on the command line: exit status 2.
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// WithHint adds the next step to an error (hint.With).
func WithHint(err error, h string) error { return hint.With(err, h) }

// FileExists is os.Stat without the error detail, for optional files.
func FileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ExitError carries an exit status other than the one an error's kind gives: hold's
// pass-through, a report that could not be mailed.
type ExitError struct {
	Code int
	Err  error
}

func (x ExitError) Error() string { return x.Err.Error() }
func (x ExitError) Unwrap() error { return x.Err }

// SilentExit ends a command with a status and no message (agent -check's 100, service
// status's 3, a nightly run whose report already told the story).
type SilentExit int

func (s SilentExit) Error() string { return "exit status " + strconv.Itoa(int(s)) }

// SleepCtx waits d or until ctx ends (then it returns ctx's error): the agent's random wait
// and the webhook's backoff between tries.
func SleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
