// Package report holds what an agent run found and did (Outcome, which the run embeds and
// fills in as it goes) and what is said about it at the end: the syslog line (LogLine),
// the console listing (WriteConsole), the nightly report's subject and body (Subject,
// Body), the run's records (WriteRecords: the state file `hotchain status` reads, the host
// record in LEDGER_DIR, METRICS_FILE), the history's run-end event (RunEnd) and the
// notification document (Notification). It reads the outcome, the settings and the host's
// ledger; it writes only those records. It must not change the host (no dnf, no apply, no
// lock), deliver anything (mail, syslog, NOTIFY_URL and NOTIFY_CMD are the agent's), or
// import the agent or the vendor side (repo, packaging).
package report

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/dryrun"
	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/agent/hostpolicy"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// Mode is what the command line asked the agent for.
type Mode string

const (
	ModeCron     Mode = "cron"     // the bare nightly run: gates, wait, CHECK_ONLY/DOWNLOAD_ONLY, report
	ModeCheck    Mode = "check"    // -check: list what is pending
	ModeDownload Mode = "download" // -download: fetch what is pending into dnf's cache
	ModeConsole  Mode = "console"  // -console: install now, output on the console
)

// Outcome is what an agent run found and did, field by field as the run fills it in.
type Outcome struct {
	Cfg    *sysconfig.Config
	Mode   Mode
	Now    func() time.Time // the run's clock (Options.Now)
	Host   *applier.Host
	Output *LockedBuffer // cron runs: what dnf, hooks and scripts printed, for the report

	Recovered []string // what recover finished or undid, one line each

	Failed      bool     // the check, the download or the install failed
	Problems    []string // what went wrong, one sentence each
	Pending     []dnf.Package
	Unpacked    []hotfix.Version // installed, unpacked and not applied, before the install
	ApplyErr    error            // why the apply of ApplyFailed failed
	ApplyFailed hotfix.Version
	// HealthFailed is the hotfix that failed its health check and was rolled back.
	HealthFailed hotfix.Version
	Waiting      []hotfix.Version // pending, waiting for the alpha (secondary)
	Download     []string         // package names downloaded
	Installed    []hotfix.Version // applied by this run
	WasClosed    bool             // PRE_HOOK ran: the product was closed
	Closed       time.Duration    // how long: PRE_HOOK to the end of POST_HOOK
	UnpackFailed bool             // the dnf install failed
	Finalized    []hotfix.Version
	FinWait      string      // on the alpha: which finalize waits for which hosts
	CheckOnly    bool        // the run only checked (-check, CHECK_ONLY)
	Hint         string      // the next step for the first failure that has one
	Plans        []CheckPlan // -check -v: what each pending hotfix's apply would do

	// Held is what the rollout policy, the waiting period or the install window holds
	// back; Outside says that the install window was closed, and when it opens.
	Held    []Held
	Outside string

	Policy           *hostpolicy.Policy // the vendor's rollout policy (internal/agent/hostpolicy)
	Overrides        []string           // what -console installs against the policy
	WithdrawnApplied []Held             // applied here, withdrawn by the vendor
	RolledBack       []hotfix.Version
	Dropped          hotfix.Version          // withdrawn, unpacked and never applied: removed from rpm
	Restart          *hoststate.RestartState // what must still restart; nil: nothing
	Drop             *drop.Result            // what the run did with DROP_DIR; nil: not looked at
}

// JoinVersions is the versions, separated by spaces.
func JoinVersions(vs []hotfix.Version) string { return strings.Join(hoststate.VersionStrings(vs), " ") }

// Held is a pending hotfix that this run does not install, and why.
type Held struct {
	Version hotfix.Version
	Reason  string
	Due     time.Time // when it may install; zero when no date is known
	// Policy: the vendor's rollout policy holds it back (the agent's decide.go): it becomes due
	// when the vendor says so, never by a date.
	Policy bool
}

// PolicyHeld is how many pending hotfixes the rollout policy holds back.
func (r *Outcome) PolicyHeld() int {
	n := 0
	for _, h := range r.Held {
		if h.Policy {
			n++
		}
	}
	return n
}

// CheckPlan is one pending hotfix as -check -v shows it: a plan, or why there is none.
type CheckPlan struct {
	Version hotfix.Version
	Pkg     string
	Plan    *dryrun.Plan
	None    string // why there is no plan
}

// LockedBuffer collects the output of commands that write from several goroutines.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Fail marks the run failed, with what went wrong as one sentence (format and args as
// fmt.Sprintf's), and keeps the first hint an error among args carries.
func (r *Outcome) Fail(format string, args ...any) {
	r.Failed = true
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	// The first hint of an error among args (dnf's command line, say) tells the console
	// user what to do next.
	for _, a := range args {
		if err, ok := a.(error); ok && r.Hint == "" {
			r.Hint = hint.Of(err)
		}
	}
}
