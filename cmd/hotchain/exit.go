package main

import (
	"errors"
	"flag"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/lock"
)

// exitStatusHelp lists the exit statuses every command shares (internal/cli's Exit*
// constants); exitStatus below is the one place that maps an error to one of them.
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
		return cli.ExitOK
	case errors.As(err, &s):
		return int(s)
	case errors.As(err, &x):
		return x.Code
	case errors.As(err, &u):
		return cli.ExitUsage
	case lock.IsHeld(err):
		return cli.ExitLocked
	}
	return cli.ExitFailure
}
