// Package hoststatus is what `hotchain status` shows: this host's chain (the applier's
// Status), whether nightly runs are enabled and an install is running, what the last agent
// run found (internal/hoststate's records), what must still restart, and with
// -installation every host of a distributed installation as the shared LEDGER_DIR shows
// it; as JSON (the schemas hotchain.status/1 and hotchain.installation/1) or as text. It
// only reads: it takes no lock and changes nothing on the host.
package hoststatus

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// Host is what status shows: the host's chain and what the agent knows.
type Host struct {
	Schema string `json:"schema"` // statusSchema
	*state.Status
	Nightly     bool                `json:"nightly_enabled"`
	Installing  bool                `json:"installing"`
	Pending     []string            `json:"pending"` // as the last run saw the repository
	Secondaries map[string][]string `json:"secondaries,omitempty"`
	LastRun     *hoststate.LastRun  `json:"last_run,omitempty"`
	// Withdrawn: applied hotfixes that the vendor withdrew, as the last run saw the policy.
	Withdrawn []hoststate.HeldRecord `json:"withdrawn,omitempty"`
	// Restart: what applied hotfixes asked to restart and is not done yet (restart.go).
	Restart *hoststate.RestartState `json:"restart,omitempty"`
}

// Schema names the shape of status -json; a change that breaks a reader of it gets a
// new number (README, "Status and the installation at a glance").
const Schema = "hotchain.status/1"

// Gather reads what status shows: the ledgers and journals (applier.Host.Status), the
// locks, the last run's record and, on the alpha, the secondaries' chains. h is the host's
// applier, as the commands that change the host make it.
func Gather(ctx context.Context, e *cli.Env, cfg *sysconfig.Config, h *applier.Host) (*Host, error) {
	hs, err := h.Status(ctx)
	if err != nil {
		return nil, err
	}
	st := &Host{Schema: Schema, Status: hs, Nightly: hoststate.NightlyEnabled(cfg), Pending: []string{}}
	st.Restart = GatherRestart(e, cfg)
	if st.Installing, err = lock.IsLocked(cfg.InRoot(cfg.LockTS)); err != nil {
		st.Installing = false
	}
	if st.LastRun, err = hoststate.ReadLastRun(cfg); err != nil {
		e.Warnf("%v", err)
	}
	if st.LastRun != nil {
		// What the last run saw offered, less what is applied since (that run may have
		// installed it).
		applied := map[string]bool{}
		for _, v := range hs.Applied {
			applied[v] = true
		}
		for _, v := range st.LastRun.Pending {
			if !applied[v] {
				st.Pending = append(st.Pending, v)
			}
		}
		for _, w := range st.LastRun.Withdrawn {
			if applied[w.Version] {
				st.Withdrawn = append(st.Withdrawn, w)
			}
		}
	}
	if cfg.HostRole == sysconfig.RoleAlpha {
		r, err := h.Rollout()
		if err != nil {
			return nil, err
		}
		st.Secondaries = map[string][]string{}
		for host, vs := range r.Secondaries {
			for _, v := range vs {
				st.Secondaries[host] = append(st.Secondaries[host], v.String())
			}
			if st.Secondaries[host] == nil {
				st.Secondaries[host] = []string{}
			}
		}
	}
	return st, nil
}

// WriteText prints status for people, times in loc.
func (st *Host) WriteText(w io.Writer, lockTS string, loc *time.Location) {
	pv := st.ProductVersion
	if pv == "" {
		pv = "unknown (" + st.VersionError + ")"
	}
	fmt.Fprintf(w, "product:       %s %s\n", st.Product, pv)
	fmt.Fprintf(w, "host:          %s (%s)\n", st.Host, st.Role)
	fmt.Fprintf(w, "applied here:  %s\n", listOrNone(st.Applied))
	fmt.Fprintf(w, "installation:  %s\n", listOrNone(st.Installation))
	if st.Role == string(sysconfig.RoleAlpha) {
		fmt.Fprintf(w, "finalized:     %s\n", listOrNone(st.Finalized))
	}
	for _, host := range sortedKeys(st.Secondaries) {
		fmt.Fprintf(w, "secondary:     %s has %s\n", host, listOrNone(st.Secondaries[host]))
	}
	nightly := "disabled (hotchain service start enables them)"
	if st.Nightly {
		nightly = "enabled"
	}
	fmt.Fprintf(w, "nightly runs:  %s\n", nightly)
	if st.Installing {
		fmt.Fprintf(w, "installing:    an install or rollback holds %s now\n", lockTS)
	}
	if l := st.LastRun; l != nil {
		fmt.Fprintf(w, "pending:       %s (offered at the last run, not applied)\n", listOrNone(st.Pending))
		fmt.Fprintf(w, "last run:      %s %s, %s: %s\n", l.Time.In(loc).Format("2006-01-02 15:04"), l.Mode, l.Outcome, l.What())
		for _, h := range l.Held {
			if !slices.Contains(st.Pending, h.Version) {
				continue // applied since
			}
			due := "; no date known"
			switch {
			case h.Policy:
				due = ""
			case h.Due != nil:
				due = "; due " + hoststate.FormatTime(*h.Due, loc)
			}
			fmt.Fprintf(w, "held back:     %s (%s%s)\n", h.Version, h.Reason, due)
		}
	} else {
		fmt.Fprintln(w, "last run:      none yet")
	}
	if st.Restart != nil {
		fmt.Fprintf(w, "RESTART:       %s since %s, for %s (hotchain restarted when done)\n", st.Restart.What(), hoststate.FormatTime(st.Restart.Since, loc), strings.Join(st.Restart.Hotfixes, " "))
	}
	for _, h := range st.Withdrawn {
		fmt.Fprintf(w, "WITHDRAWN:     %s is applied, but the vendor withdrew it: %s (AUTO_ROLLBACK=withdrawn rolls it back; hotchain rollback does now)\n", h.Version, h.Reason)
	}
	if len(st.Unpacked) > 0 {
		fmt.Fprintf(w, "unpacked:      %s (unpacked, not applied: the next agent run applies them; hotchain agent -console does now)\n", strings.Join(st.Unpacked, " "))
	}
	for _, u := range st.Interrupted {
		fmt.Fprintf(w, "interrupted:   %s stopped in state %s (%s): run hotchain apply to finish or hotchain rollback to undo\n", u.Version, u.State, u.Journal)
	}
	for _, l := range st.Logs {
		fmt.Fprintf(w, "log:           %s\n", l)
	}
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func listOrNone(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, " ")
}
