package hoststatus

import (
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/sysconfig"
)

// GatherRestart is what status shows of the restart requirement; problems are warnings.
func GatherRestart(e *cli.Env, cfg *sysconfig.Config) *hoststate.RestartState {
	boot, err := RunningBoot(e)
	if err != nil {
		e.Warnf("read the boot id: %v", err)
	}
	s, err := hoststate.ReadRestart(cfg, boot)
	if err != nil {
		e.Warnf("%v", err)
	}
	return s
}

// RunningBoot is the running boot's id: the one e hands in (tests), else the kernel's.
func RunningBoot(e *cli.Env) (string, error) {
	if e.BootID != nil {
		return e.BootID()
	}
	return hoststate.ReadBootID()
}
