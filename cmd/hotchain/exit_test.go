package main

import (
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/lock"
)

// TestExitStatus pins the mapping of error kinds to the documented exit statuses.
func TestExitStatus(t *testing.T) {
	held := &lock.HeldError{Path: "/var/lock/shop-hotfix.lock/ts.lock", PID: 42}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"-help", flag.ErrHelp, 0},
		{"plain error", errors.New("dnf: exit 1"), 1},
		{"hinted error", cli.WithHint(errors.New("bad"), "do this"), 1},
		{"usage", cli.UsageError{Err: errors.New("unknown flag")}, 2},
		{"usage with hint", cli.WithHint(cli.UsageError{Err: errors.New("extra words")}, "see -help"), 2},
		{"lock held", held, 3},
		{"lock held, wrapped", agent.LockFailure("another agent run is active", held), 3},
		{"lock file is a directory", agent.LockFailure("another agent run is active", errors.New("lock file /x is not a regular file but a directory")), 1},
		{"held lock only mentioned", fmt.Errorf("still running: %v", held), 1},
		{"report not mailed", cli.ExitError{Code: cli.ExitNotMailed, Err: errors.New("mail: connection refused")}, 4},
		{"pending", cli.SilentExit(cli.ExitPending), 100},
		{"withdrawn hotfix applied", cli.SilentExit(cli.ExitWithdrawn), 6},
		{"service status disabled", cli.SilentExit(cli.LsbDisabled), 3},
		{"hold passes its command's status", cli.ExitError{Code: 42, Err: errors.New("patch exited with status 42")}, 42},
		{"hold could not start its command", cli.ExitError{Code: cli.ExitNotRun, Err: errors.New("run patch: not found")}, 127},
	} {
		if got := exitStatus(tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}
