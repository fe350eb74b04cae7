package hoststate

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/sysconfig"
)

// ByVar is the variable that says who started a command: the hotfix RPMs' scriptlets set
// it to rpm; the agent passes its own (cron, daemon) on to what it starts.
const ByVar = "HOTCHAIN_BY"

// WhoStarted is the history's "by": byVar when set, else fallback (the agent's cron or
// daemon), else the console user: SUDO_USER, LOGNAME or USER, or the uid.
func WhoStarted(environ []string, fallback string) string {
	if v := cli.LookupEnv(environ, ByVar); v != "" {
		return v
	}
	if fallback != "" {
		return fallback
	}
	for _, k := range []string{"SUDO_USER", "LOGNAME", "USER"} {
		if v := cli.LookupEnv(environ, k); v != "" {
			return "user:" + v
		}
	}
	return "uid:" + strconv.Itoa(os.Getuid())
}

// HistorySink appends this process's events to the host's history. A line that cannot be
// written is a warning: the history never fails or blocks a change.
type HistorySink struct {
	log  *history.Log
	by   string
	warn io.Writer
	now  func() time.Time
}

func NewHistory(cfg *sysconfig.Config, environ []string, warn io.Writer, by string) *HistorySink {
	return &HistorySink{
		log:  &history.Log{Dir: history.Dir(cfg.InRoot(cfg.LedgerDir)), Host: cfg.Hostname},
		by:   WhoStarted(environ, by),
		warn: warn,
		now:  time.Now,
	}
}

// Record appends one event that began at started (zero: now) and ended now.
func (s *HistorySink) Record(e history.Event, started time.Time, err error) {
	if s == nil {
		return
	}
	e.Time = s.now()
	if !started.IsZero() {
		e.DurationMS = e.Time.Sub(started).Milliseconds()
	}
	e.By = s.by
	if e.Outcome == "" {
		e.Outcome = history.Success
	}
	if err != nil {
		e.Outcome, e.Error = history.Failure, err.Error()
	}
	if werr := s.log.Append(e); werr != nil && s.warn != nil {
		fmt.Fprintf(s.warn, "hotchain: warning: %v\n", werr)
	}
}

// HotfixEvent is applier.Host.History.
func (s *HistorySink) HotfixEvent(e applier.Event) {
	s.Record(history.Event{Event: e.Kind, Version: e.Version.String(), Detail: e.Detail}, e.Started, e.Err)
}
