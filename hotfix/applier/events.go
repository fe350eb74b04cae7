package applier

import (
	"time"

	"github.com/hotchain/hotchain/hotfix"
)

// Event is one change the applier made on this host, for the host's history: Host.History
// gets it when the change ends. The applier knows nothing of the history's format.
type Event struct {
	// Kind is one of EventApply, EventHealth, EventRollback, EventRecover, EventFinalize.
	Kind    string
	Version hotfix.Version
	Started time.Time
	// Detail says more: what a recovery did, "after a failed health check" for the
	// rollback that follows one.
	Detail string
	Err    error
}

// The kinds of Event.
const (
	EventApply    = "apply"
	EventHealth   = "health"
	EventRollback = "rollback"
	EventRecover  = "recover"
	EventFinalize = "finalize"
)

// record tells Host.History of a change that began at started; err is its outcome.
func (h *Host) record(kind string, v hotfix.Version, started time.Time, detail string, err error) {
	if h.History != nil && v != nil {
		h.History(Event{Kind: kind, Version: v, Started: started, Detail: detail, Err: err})
	}
}
