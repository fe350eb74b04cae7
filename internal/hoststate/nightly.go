package hoststate

import (
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/sysconfig"
)

// NightlyEnabled reports whether LOCK_SUBSYS exists: `hotchain service start` creates it.
func NightlyEnabled(cfg *sysconfig.Config) bool {
	return cli.FileExists(cfg.InRoot(cfg.LockSubsys))
}
