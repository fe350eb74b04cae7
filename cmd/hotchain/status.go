package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "status", "", "Shows the product version, the chain applied on this host and the installation, and interrupted applies.")
	asJSON := fs.Bool("json", false, "print JSON for programs")
	installation := fs.Bool("installation", false, "show every host of the installation from the shared LEDGER_DIR: chain, last run, waits, health, drift, restarts")
	settings := loadSettings(e, fs)
	cfg, err := parseSettingsOnly(fs, args, settings)
	if err != nil {
		return err
	}
	if *installation {
		st, err := gatherInstallation(e, cfg)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, st)
		}
		st.writeText(e.stdout, time.Local)
		return nil
	}
	st, err := gatherStatus(ctx, e, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, st)
	}
	st.writeText(e.stdout, cfg.LockTS, time.Local)
	return nil
}

// hostStatus is what status shows: the host's chain and what the agent knows.
type hostStatus struct {
	Schema string `json:"schema"` // statusSchema
	*state.Status
	Nightly     bool                `json:"nightly_enabled"`
	Installing  bool                `json:"installing"`
	Pending     []string            `json:"pending"` // as the last run saw the repository
	Secondaries map[string][]string `json:"secondaries,omitempty"`
	LastRun     *lastRun            `json:"last_run,omitempty"`
	// Withdrawn: applied hotfixes that the vendor withdrew, as the last run saw the policy.
	Withdrawn []heldRecord `json:"withdrawn,omitempty"`
	// Restart: what applied hotfixes asked to restart and is not done yet (restart.go).
	Restart *restartState `json:"restart,omitempty"`
}

// statusSchema names the shape of status -json; a change that breaks a reader of it gets a
// new number (README, "Status and the installation at a glance").
const statusSchema = "hotchain.status/1"

// gatherStatus reads what status shows: the ledgers and journals (applier.Host.Status), the
// locks, the last run's record and, on the alpha, the secondaries' chains.
func gatherStatus(ctx context.Context, e *env, cfg *sysconfig.Config) (*hostStatus, error) {
	h := newHost(e, cfg)
	hs, err := h.Status(ctx)
	if err != nil {
		return nil, err
	}
	st := &hostStatus{Schema: statusSchema, Status: hs, Nightly: nightlyEnabled(cfg), Pending: []string{}}
	st.Restart = gatherRestart(e, cfg)
	if st.Installing, err = lock.IsLocked(cfg.InRoot(cfg.LockTS)); err != nil {
		st.Installing = false
	}
	if st.LastRun, err = readLastRun(cfg); err != nil {
		e.warnf("%v", err)
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

// writeText prints status for people, times in loc.
func (st *hostStatus) writeText(w io.Writer, lockTS string, loc *time.Location) {
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
		fmt.Fprintf(w, "last run:      %s %s, %s: %s\n", l.Time.In(loc).Format("2006-01-02 15:04"), l.Mode, l.Outcome, l.what())
		for _, h := range l.Held {
			if !slices.Contains(st.Pending, h.Version) {
				continue // applied since
			}
			due := "; no date known"
			switch {
			case h.Policy:
				due = ""
			case h.Due != nil:
				due = "; due " + formatTime(*h.Due, loc)
			}
			fmt.Fprintf(w, "held back:     %s (%s%s)\n", h.Version, h.Reason, due)
		}
	} else {
		fmt.Fprintln(w, "last run:      none yet")
	}
	if st.Restart != nil {
		fmt.Fprintf(w, "RESTART:       %s since %s, for %s (hotchain restarted when done)\n", st.Restart.what(), formatTime(st.Restart.Since, loc), strings.Join(st.Restart.Hotfixes, " "))
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

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
