package main

import (
	"errors"
	"flag"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/lock"
)

// The exit statuses every command shares, as `hotchain help` lists them. Two commands add
// statuses of their own and say so in their -help: `service status` follows the LSB
// init-script convention (lsbDisabled), and `hold` passes on the status of the command it
// ran (exitNotRun when it could not start it).
const (
	// exitOK: done, or nothing to do.
	exitOK = 0
	// exitFailure: an error; the message and its hint say which.
	exitFailure = 1
	// exitUsage: the command line is wrong (unknown command or flag, missing or extra words).
	exitUsage = 2
	// exitLocked: another run holds a lock (LOCK_CRON, LOCK_TS, LOCK_SUBSYS); only a lock
	// that is really held gives it, never a lock file that cannot be opened.
	exitLocked = 3
	// exitNotMailed: the run itself worked, but its report could not be mailed or its
	// notification (NOTIFY_URL, NOTIFY_CMD) could not be delivered.
	exitNotMailed = 4
	// exitHealth: a hotfix failed its health check (HEALTH_CMD, its Check/ scripts) and was
	// rolled back; the chain stopped there.
	exitHealth = 5
	// exitWithdrawn: a hotfix that the vendor withdrew (its rollout policy) is applied on
	// this host, and AUTO_ROLLBACK=withdrawn did not roll it back.
	exitWithdrawn = 6
	// exitRestart: agent -check: a restart or reboot that applied hotfixes asked for
	// (restart.txt) is not done yet. 6 wins over it, it wins over 100.
	exitRestart = 7
	// exitPending: agent -check found pending hotfixes.
	exitPending = 100

	// lsbDisabled: `service status` when nightly runs are disabled ("program is not
	// running" in the LSB init-script actions).
	lsbDisabled = 3
	// exitNotRun: `hold` could not start the command it was given (as a shell's 127).
	exitNotRun = 127
)

const exitStatusHelp = `
Exit status:
  0    done, or nothing to do
  1    error
  2    usage error
  3    another run holds the lock
  4    the run worked but its report could not be mailed, or its notification delivered
  5    a hotfix failed its health check and was rolled back
  6    a hotfix that the vendor withdrew is applied on this host
  7    agent -check: a restart or reboot is required (hotchain status says which)
  100  agent -check: hotfixes are pending
`

// exitStatus maps an error to the process's exit status: the one place that does.
func exitStatus(err error) int {
	var s cli.SilentExit
	var x cli.ExitError
	var u cli.UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &s):
		return int(s)
	case errors.As(err, &x):
		return x.Code
	case errors.As(err, &u):
		return exitUsage
	case lock.IsHeld(err):
		return exitLocked
	}
	return exitFailure
}
