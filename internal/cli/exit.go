package cli

// The exit statuses every command shares, as `hotchain help` lists them (cmd/hotchain's
// exit.go, which maps errors to them). Two commands add statuses of their own and say so in
// their -help: `service status` follows the LSB init-script convention (LSBDisabled), and
// `hold` passes on the status of the command it ran (ExitNotRun when it could not start it).

const (
	// ExitOK: done, or nothing to do.
	ExitOK = 0
	// ExitFailure: an error; the message and its hint say which.
	ExitFailure = 1
	// ExitUsage: the command line is wrong (unknown command or flag, missing or extra words).
	ExitUsage = 2
	// ExitLocked: another run holds a lock (LOCK_CRON, LOCK_TS, LOCK_SUBSYS); only a lock
	// that is really held gives it, never a lock file that cannot be opened.
	ExitLocked = 3
	// ExitNotMailed: the run itself worked, but its report could not be mailed or its
	// notification (NOTIFY_URL, NOTIFY_CMD) could not be delivered.
	ExitNotMailed = 4
	// ExitHealth: a hotfix failed its health check (HEALTH_CMD, its Check/ scripts) and was
	// rolled back; the chain stopped there.
	ExitHealth = 5
	// ExitWithdrawn: a hotfix that the vendor withdrew (its rollout policy) is applied on
	// this host, and AUTO_ROLLBACK=withdrawn did not roll it back.
	ExitWithdrawn = 6
	// ExitRestart: agent -check: a restart or reboot that applied hotfixes asked for
	// (restart.txt) is not done yet. 6 wins over it, it wins over 100.
	ExitRestart = 7
	// ExitPending: agent -check found pending hotfixes.
	ExitPending = 100

	// LsbDisabled: `service status` when nightly runs are disabled ("program is not
	// running" in the LSB init-script actions).
	LsbDisabled = 3
	// ExitNotRun: `hold` could not start the command it was given (as a shell's 127).
	ExitNotRun = 127
)
