package agent

import (
	"context"
	"fmt"

	"github.com/hotchain/hotchain/internal/hoststate"
)

// restartAfterInstall records what the hotfixes this run applied ask to restart and runs
// RESTART_CMD for them (restarter.after).
func (r *agentRun) restartAfterInstall(ctx context.Context) {
	if len(r.Installed) == 0 {
		return
	}
	var dirs []string
	for _, v := range r.Installed {
		dirs = append(dirs, r.Host.HotfixDir(v))
	}
	rs := hoststate.Restarter{Config: r.Cfg, Environ: r.environ, Out: r.out, BootID: r.o.BootID, Now: r.o.Now, History: r.hist}
	if _, err := rs.After(ctx, dirs); err != nil {
		r.Fail("%v", err)
	}
}

// readRestartState is what must still restart, for the end of the run; a run that ends
// after a reboot clears what the reboot did.
func (r *agentRun) readRestartState() {
	boot, err := r.o.BootID()
	if err != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: warning: read the boot id: %v\n", err)
	}
	if r.Restart, err = hoststate.ReadRestart(r.Cfg, boot); err != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: warning: %v\n", err)
	}
}
