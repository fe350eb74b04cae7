package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/lock"
)

// runHold is `hotchain hold -- CMD ARGS`: what a product patch wraps itself in. It stops
// the nightly runs as `service stop` does, keeps LOCK_TS while CMD runs (so no hotfix install
// can start beside the patch), and starts the nightly runs again afterwards, also when CMD
// fails. CMD gets the lock's token in lock.EnvVar, so a `hotchain repo-file` or
// `hotchain apply` inside it works under the held lock.
func runHold(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "hold", "-- CMD [ARGS...]", `Stops the nightly hotfix runs (as hotchain service stop does, waiting for a running
install), runs CMD (a product patch) while holding the install lock, then starts the
nightly runs again, also when CMD fails. Exits with CMD's exit status.`)
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return cli.WithHint(cli.UsageError{Err: errors.New("hold needs a command to run")}, "hotchain hold -- /path/to/patch ARGS")
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	hist, started := hoststate.NewHistory(cfg, e.Environ, e.Stderr, ""), time.Now()
	ts, err := stopNightly(ctx, e, cfg)
	hist.Record(history.Event{Event: history.HoldStart, Detail: argv[0]}, time.Time{}, err)
	if err != nil {
		return err
	}
	// Not CommandContext: a SIGTERM to hold must not kill a patch halfway; the patch gets the
	// signal itself when it is sent to the process group, and hold starts the runs again.
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string(nil), e.Environ...), lock.EnvVar+"="+ts.Token())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.Stdin, e.Stdout, e.Stderr
	// CMD gets the lock's open file (as fd 3): a flock belongs to the open file, so when hold
	// is killed the patch, which goes on, keeps LOCK_TS held until it ends, and no install
	// starts beside it. CMD stays in hold's process group (no Setpgid, no Pdeathsig): it may
	// talk to the terminal, and a killed hold must not cut a product patch short.
	if f := ts.File(); f != nil {
		cmd.ExtraFiles = []*os.File{f}
	}
	runErr := cmd.Run()
	startErr := startNightly(e.Stdout, cfg)
	hist.Record(history.Event{Event: history.HoldEnd, Detail: argv[0]}, started, errors.Join(runErr, startErr))
	if err := ts.Unlock(); err != nil && startErr == nil {
		startErr = err
	}
	if runErr == nil {
		return startErr
	}
	if startErr != nil {
		e.Warnf("%v", startErr)
	}
	var x *exec.ExitError
	if errors.As(runErr, &x) {
		code := x.ExitCode()
		if ws, ok := x.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
			return cli.ExitError{Code: code, Err: fmt.Errorf("%s was killed by signal %v", argv[0], ws.Signal())}
		}
		return cli.ExitError{Code: code, Err: fmt.Errorf("%s exited with status %d", argv[0], code)}
	}
	return cli.ExitError{Code: cli.ExitNotRun, Err: fmt.Errorf("run %s: %w", argv[0], runErr)}
}
