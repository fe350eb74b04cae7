package main

import (
	"io"

	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/sysconfig"
)

// METRICS_FILE (internal/hoststate writes it): the agent run's hook and apply's.

// afterChange rewrites METRICS_FILE after `hotchain apply` or `hotchain rollback` from the
// command line (err is theirs, returned as it is): the applied chain changed since the
// last agent run. A file that cannot be written is a warning.
func afterChange(e *cli.Env, cfg *sysconfig.Config, err error) error {
	if cfg.MetricsFile == "" {
		return err
	}
	last, lerr := hoststate.ReadLastRun(cfg)
	if lerr != nil {
		last = nil // a torn record: what the ledger says still counts
	}
	if werr := hoststate.WriteMetricsFile(cfg, &applier.Host{Cfg: cfg, Out: io.Discard, Environ: e.Environ}, last, hoststate.RestartRequired(cfg)); werr != nil {
		e.Warnf("%v (check METRICS_FILE in %s)", werr, cfg.File)
	}
	return err
}
