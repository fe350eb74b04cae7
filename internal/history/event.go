// Package history keeps the per-host history of hotchain: one JSON line per run and per
// change (install, apply, health check, rollback, recovery, finalize, service stop and
// start, hold) in an append-only log under LEDGER_DIR/history/, so that every host of an
// installation, the alpha included, can read every other host's. It writes and reads the
// log only: it knows nothing of hotfixes, the agent or the ledgers, and the applier reaches
// it through a hook the command line sets (applier.Host.History).
package history

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Schema names the version of the line format; it is the first field of every line. A
// change that removes or renames a field, or changes a field's meaning, takes a new version;
// a new optional field does not.
const Schema = "hotchain.history/1"

// Event is one line of the history.
type Event struct {
	Schema string `json:"schema"`
	// Time is when the event ended (for run-start and hold-start: when it began), in UTC.
	Time time.Time `json:"time"`
	Host string    `json:"host"`
	// Event is what happened: one of the Kind constants.
	Event string `json:"event"`
	// Mode is the agent's mode (cron, check, download, console) for run-start and run-end.
	Mode string `json:"mode,omitempty"`
	// Version is the hotfix version the event is about, when it is about one.
	Version string `json:"version,omitempty"`
	// Outcome is success, failure, or skipped (a run that found nothing to do because
	// nightly runs are disabled, the day is not in DAYS_OF_WEEK, or another run holds the lock).
	Outcome string `json:"outcome"`
	// DurationMS is how long it took, in milliseconds (0 for run-start and hold-start).
	DurationMS int64 `json:"duration_ms"`
	// By is who started it: cron, daemon, rpm (a package's scriptlet), boot (the recovery
	// unit), or user:NAME (the
	// console user, from SUDO_USER, LOGNAME or USER) or uid:N when no name is known.
	By string `json:"by"`
	// Detail says more in a few words (what a run installed, what a recovery did, the
	// command a hold ran).
	Detail string `json:"detail,omitempty"`
	// Error is the error, when the outcome is failure.
	Error string `json:"error,omitempty"`
}

// The events.
const (
	RunStart     = "run-start"
	RunEnd       = "run-end"
	Install      = "install" // the package manager's transaction
	Apply        = "apply"
	Health       = "health" // the health check of an apply
	Rollback     = "rollback"
	Recover      = "recover"
	Finalize     = "finalize"
	Remove       = "remove" // packages left unapplied taken out of the rpm database
	ServiceStart = "service-start"
	ServiceStop  = "service-stop"
	HoldStart    = "hold-start"
	HoldEnd      = "hold-end"
	Notify       = "notify" // NOTIFY_URL and NOTIFY_CMD at the end of a run
	// Restart is a run of RESTART_CMD; RestartRequired a restart or reboot that hotfixes
	// ask for and that is not done (outcome skipped); Restarted is `hotchain restarted`.
	Restart         = "restart"
	RestartRequired = "restart-required"
	Restarted       = "restarted"
)

// The outcomes.
const (
	Success = "success"
	Failure = "failure"
	Skipped = "skipped"
)

// MaxLine is the largest line the log holds, newline included. A line this size is written
// with one write(2) on a file opened O_APPEND, so that concurrent appenders never interleave
// (Linux holds the inode lock for a regular file's write). Longer error or detail text is
// cut and ends in TruncatedMark.
const MaxLine = 4096

// TruncatedMark ends an error or detail that was cut to fit MaxLine.
const TruncatedMark = "...[truncated]"

// Marshal is the line of e, newline included, at most MaxLine bytes: Schema is filled in,
// Time is taken to UTC, and an error or detail too long is cut (the error keeps more).
func Marshal(e Event) ([]byte, error) {
	e.Schema = Schema
	e.Time = e.Time.UTC()
	for {
		b, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		b = append(b, '\n')
		over := len(b) - MaxLine
		if over <= 0 {
			return b, nil
		}
		// Cut the detail first, then the error; escaping may make a cut byte count more
		// than once, so go round until it fits.
		switch {
		case len(e.Detail) > len(TruncatedMark) && (len(e.Detail) > len(e.Error) || len(e.Detail) > MaxLine/4):
			e.Detail = cut(e.Detail, over)
		case len(e.Error) > len(TruncatedMark):
			e.Error = cut(e.Error, over)
		default:
			// Only the short fields are left: they never come near MaxLine from the CLI.
			e.Host, e.Version, e.By, e.Mode = cut(e.Host, over), cut(e.Version, over), cut(e.By, over), cut(e.Mode, over)
		}
	}
}

// cut shortens s by at least over bytes plus the mark, at a rune boundary, and marks it.
func cut(s string, over int) string {
	s = trimMark(s)
	n := len(s) - over - len(TruncatedMark)
	if n <= 0 {
		return TruncatedMark
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + TruncatedMark
}

func trimMark(s string) string {
	if len(s) >= len(TruncatedMark) && s[len(s)-len(TruncatedMark):] == TruncatedMark {
		return s[:len(s)-len(TruncatedMark)]
	}
	return s
}
