package agent

import (
	"context"
	"fmt"

	"github.com/hotchain/hotchain/internal/hoststate"
)

// restartAfterInstall records what the hotfixes this run applied ask to restart and runs
// RESTART_CMD for them (restarter.after).
func (r *agentRun) restartAfterInstall(ctx context.Context) {
	if len(r.installed) == 0 {
		return
	}
	var dirs []string
	for _, v := range r.installed {
		dirs = append(dirs, r.host.HotfixDir(v))
	}
	rs := hoststate.Restarter{Config: r.cfg, Environ: r.environ, Out: r.out, BootID: r.o.BootID, Now: r.o.Now, History: r.hist}
	if _, err := rs.After(ctx, dirs); err != nil {
		r.fail("%v", err)
	}
}

// readRestartState is what must still restart, for the end of the run; a run that ends
// after a reboot clears what the reboot did.
func (r *agentRun) readRestartState() {
	boot, err := r.o.BootID()
	if err != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: warning: read the boot id: %v\n", err)
	}
	if r.restart, err = hoststate.ReadRestart(r.cfg, boot); err != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: warning: %v\n", err)
	}
}
