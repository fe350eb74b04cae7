package agent

import (
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/lock"
)

// runOutcome is the run-end line of an agent run: run is nil when the run stopped at a gate
// or a lock, before it did anything.
func runOutcome(run *agentRun, err error) (e history.Event, failure error) {
	e = history.Event{Event: history.RunEnd}
	switch {
	case run == nil && err == nil:
		e.Outcome = history.Skipped
	case run == nil && lock.IsHeld(err):
		e.Outcome, e.Detail = history.Skipped, err.Error()
	case run == nil:
		failure = err
	default:
		return run.RunEnd()
	}
	return e, failure
}
