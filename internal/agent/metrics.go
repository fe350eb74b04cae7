package agent

import (
	"fmt"
	"time"

	"github.com/hotchain/hotchain/internal/hoststate"
)

// writeMetrics is the end of an agent run's hook: METRICS_FILE from this run's record.
func (r *agentRun) writeMetrics(last *hoststate.LastRun) {
	if r.cfg.MetricsFile == "" {
		return
	}
	if err := hoststate.WriteMetricsFile(r.cfg, r.host, last, r.restart != nil); err != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: warning: %v\nhint: check METRICS_FILE in %s\n", err, r.cfg.File)
	}
}

// metadataIssued is when the vendor signed the rollout policy the run accepted; nil
// without one.
func (r *agentRun) metadataIssued() *time.Time {
	if r.policy == nil || r.policy.Policy == nil || r.policy.Issued.IsZero() {
		return nil
	}
	t := r.policy.Issued.UTC()
	return &t
}
