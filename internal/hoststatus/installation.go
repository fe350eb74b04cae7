package hoststatus

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/sysconfig"
)

// The installation at a glance (status -installation): every host of a distributed
// installation as the shared LEDGER_DIR shows it: its ledger (<host>.txt), version.txt,
// finalized.txt, and the record each agent run leaves there (<host>.status.json), since a
// host's STATE_DIR is its own.

// Installation is what status -installation shows.
type Installation struct {
	Schema       string             `json:"schema"` // installationSchema
	Product      string             `json:"product"`
	Installation []string           `json:"installation"` // version.txt: what the alpha applied
	Finalized    []string           `json:"finalized"`
	Hosts        []InstallationHost `json:"hosts"`
	Waits        []Wait             `json:"waits"`
}

// InstallationHost is one host as the shared ledger shows it.
type InstallationHost struct {
	Host    string   `json:"host"`
	Role    string   `json:"role"` // as its last run said, or this host's settings; "" unknown
	Applied []string `json:"applied"`
	// Lacking: on a secondary, what the alpha applied and it has not.
	Lacking   []string              `json:"lacking,omitempty"`
	LastRun   *hoststate.HostRecord `json:"last_run,omitempty"`
	RecordErr string                `json:"last_run_error,omitempty"`
}

// Wait is one thing that waits for hosts: a secondary's install for the alpha, the alpha's
// finalize for secondaries.
type Wait struct {
	Host     string   `json:"host"`
	Step     string   `json:"step"` // install or finalize
	Versions []string `json:"versions"`
	For      []string `json:"for"`
}

// GatherInstallation reads LEDGER_DIR.
func GatherInstallation(e *cli.Env, cfg *sysconfig.Config) (*Installation, error) {
	l := hotfix.Ledger{Dir: cfg.InRoot(cfg.LedgerDir)}
	inst, err := l.Read(hotfix.InstallationLedger)
	if err != nil {
		return nil, err
	}
	fin, err := l.Read(hotfix.FinalizedLedger)
	if err != nil {
		return nil, err
	}
	st := &Installation{Schema: hoststate.InstallationSchema, Product: cfg.Product, Installation: hoststate.VersionStrings(inst),
		Finalized: hoststate.VersionStrings(fin), Hosts: []InstallationHost{}, Waits: []Wait{}}
	names := map[string]bool{cfg.Hostname: true}
	for _, s := range cfg.SecondaryHosts {
		names[s] = true
	}
	ents, err := os.ReadDir(l.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the ledger directory: %w", err)
	}
	for _, de := range ents {
		n := de.Name()
		switch {
		case n == hotfix.InstallationLedger || n == hotfix.FinalizedLedger:
		case strings.HasSuffix(n, hoststate.HostRecordSuffix):
			names[strings.TrimSuffix(n, hoststate.HostRecordSuffix)] = true
		case strings.HasSuffix(n, ".txt"):
			names[strings.TrimSuffix(n, ".txt")] = true
		}
	}
	hosts := make([]string, 0, len(names))
	for n := range names {
		hosts = append(hosts, n)
	}
	sort.Strings(hosts)
	for _, n := range hosts {
		h := InstallationHost{Host: n}
		applied, err := l.Read(hotfix.HostFile(n))
		if err != nil {
			return nil, err
		}
		h.Applied = hoststate.VersionStrings(applied)
		if rec, err := hoststate.ReadHostRecord(hoststate.HostRecordFile(cfg, n)); err == nil {
			h.LastRun, h.Role = rec, rec.Role
		} else if !errors.Is(err, os.ErrNotExist) {
			h.RecordErr = err.Error()
			e.Warnf("%v", err)
		}
		switch {
		case n == cfg.Hostname:
			h.Role = string(cfg.HostRole)
		case slices.Contains(cfg.SecondaryHosts, n):
			h.Role = string(sysconfig.RoleSecondary)
		}
		if h.Role == string(sysconfig.RoleSecondary) {
			for _, v := range inst {
				if !slices.ContainsFunc(applied, v.Equal) {
					h.Lacking = append(h.Lacking, v.String())
				}
			}
		}
		st.Hosts = append(st.Hosts, h)
	}
	st.Waits = installationWaits(st, inst, fin)
	return st, nil
}

// installationWaits lists what waits for what: each secondary's install that waits for the
// alpha (as its last run saw it), and the alpha's first finalize that waits for secondaries.
func installationWaits(st *Installation, inst, fin []hotfix.Version) []Wait {
	waits := []Wait{}
	var alpha string
	var secondaries []InstallationHost
	for _, h := range st.Hosts {
		switch h.Role {
		case string(sysconfig.RoleAlpha):
			alpha = h.Host
		case string(sysconfig.RoleSecondary):
			secondaries = append(secondaries, h)
		}
	}
	alphaName := alpha
	if alphaName == "" {
		alphaName = "the alpha"
	}
	for _, h := range secondaries {
		if h.LastRun != nil && len(h.LastRun.Waiting) > 0 {
			waits = append(waits, Wait{Host: h.Host, Step: "install", Versions: h.LastRun.Waiting, For: []string{alphaName}})
		}
	}
	for _, v := range inst {
		if slices.ContainsFunc(fin, v.Equal) {
			continue
		}
		var lacking []string
		for _, h := range secondaries {
			if slices.Contains(h.Lacking, v.String()) {
				lacking = append(lacking, h.Host)
			}
		}
		if len(lacking) > 0 {
			waits = append(waits, Wait{Host: alphaName, Step: "finalize", Versions: []string{v.String()}, For: lacking})
		}
		break // the -final scripts run in chain order: the first not finalized holds the rest
	}
	return waits
}

// WriteText prints the installation for people, times in loc.
func (st *Installation) WriteText(w io.Writer, loc *time.Location) {
	fmt.Fprintf(w, "installation:  %s %s (version.txt)\n", st.Product, listOrNone(st.Installation))
	fmt.Fprintf(w, "finalized:     %s\n", listOrNone(st.Finalized))
	for _, h := range st.Hosts {
		role := h.Role
		if role == "" {
			role = "role unknown"
		}
		fmt.Fprintf(w, "\nhost %s (%s)\n", h.Host, role)
		fmt.Fprintf(w, "  applied:     %s\n", listOrNone(h.Applied))
		if len(h.Lacking) > 0 {
			fmt.Fprintf(w, "  lacking:     %s (the alpha has applied them)\n", strings.Join(h.Lacking, " "))
		}
		r := h.LastRun
		switch {
		case h.RecordErr != "":
			fmt.Fprintf(w, "  last run:    unreadable: %s\n", h.RecordErr)
			continue
		case r == nil:
			fmt.Fprintf(w, "  last run:    none recorded\n")
			continue
		}
		l := hoststate.LastRun{Summary: r.Summary, Error: r.Error}
		fmt.Fprintf(w, "  last run:    %s %s, %s: %s\n", r.Time.In(loc).Format("2006-01-02 15:04"), r.Mode, r.Outcome, l.What())
		if len(r.Pending) > 0 {
			fmt.Fprintf(w, "  pending:     %s\n", strings.Join(r.Pending, " "))
		}
		if r.HealthFailed != "" {
			fmt.Fprintf(w, "  HEALTH:      %s failed its health check and was rolled back\n", r.HealthFailed)
		}
		switch {
		case r.Drift == nil:
			fmt.Fprintf(w, "  drift:       not counted yet (install runs count it)\n")
		case *r.Drift > 0:
			fmt.Fprintf(w, "  DRIFT:       %s changed since applied (hotchain verify on %s lists them)\n", hoststate.CountOf(*r.Drift, "file", "files"), h.Host)
		default:
			fmt.Fprintf(w, "  drift:       none\n")
		}
		if r.Restart != nil {
			fmt.Fprintf(w, "  RESTART:     %s since %s, for %s\n", r.Restart.What(), hoststate.FormatTime(r.Restart.Since, loc), strings.Join(r.Restart.Hotfixes, " "))
		}
	}
	if len(st.Waits) > 0 {
		fmt.Fprintln(w)
	}
	for _, wt := range st.Waits {
		verb := "installs"
		if wt.Step == "finalize" {
			verb = "finalizes"
		}
		fmt.Fprintf(w, "waits:         %s %s %s after %s\n", wt.Host, verb, strings.Join(wt.Versions, " "), strings.Join(wt.For, ", "))
	}
}
