package drop

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hotchain/hotchain/hotfix"
)

// Result is what a run did with the drop folder, for its report (internal/agent/report).
type Result struct {
	Dir     string   // DROP_DIR as the settings name it
	Taken   []string // "NAME: 6.14.2.3 applied", moved to done/
	Refused []string // "NAME: why", moved to refused/
	Waiting []string // "NAME: waits for NAME.sig": left alone, not a problem (yet)
	Left    []string // "NAME: why": complete, left for the next run
	Ready   []string // -check: complete pairs an install run would take now
	Pending int      // -check: how many of ready would install something
	Stale   bool     // a file waits for its partner for more than Stale
}

// MaxRefusals is how many pairs with a name that can never be taken a run refuses; the
// next run refuses more. MaxLines is how many lines of each list the report shows.
const (
	MaxRefusals = 50
	MaxLines    = 100
)

// CapLists keeps at most MaxLines lines of each list, and says how many it left out:
// thousands of files in the folder make no report of megabytes.
func (d *Result) CapLists() {
	for _, l := range []*[]string{&d.Taken, &d.Refused, &d.Waiting, &d.Left, &d.Ready} {
		if n := len(*l); n > MaxLines {
			*l = append((*l)[:MaxLines-1:MaxLines-1], fmt.Sprintf("... and %d more", n-MaxLines+1))
		}
	}
}

// Busy reports whether the run has something to say about the folder.
func (d *Result) Busy() bool {
	return d != nil && (len(d.Taken) > 0 || len(d.Refused) > 0 || len(d.Left) > 0 || d.Stale)
}

// PendingCount is how many complete pairs an install run would install from (-check).
func (d *Result) PendingCount() int {
	if d == nil {
		return 0
	}
	return d.Pending
}

// List notes what an install run would do with the pairs of a scan of dir (Ready, with
// Pending those that would install something: a tarball of a hotfix not in applied, a
// bundle) and what waits. It reads only: no settle wait, nothing moved.
func (d *Result) List(dir string, pairs []*Pair, applied []hotfix.Version, now time.Time) {
	for _, p := range pairs {
		why, stale, _ := PairState(dir, p, now)
		switch {
		case why != "":
			d.Waiting = append(d.Waiting, p.Shown()+": "+why)
			d.Stale = d.Stale || stale
		case p.Bad != "":
			d.Ready = append(d.Ready, p.Shown()+": to be refused: "+p.Bad)
		case p.Kind == Tarball && slices.ContainsFunc(applied, p.Version.Equal):
			d.Ready = append(d.Ready, p.Shown()+": "+p.Version.String()+" is applied already")
		default:
			d.Ready = append(d.Ready, p.Shown())
			d.Pending++
		}
	}
}

// SettledPair is a pair of the scan and, when it cannot be taken now, why.
type SettledPair struct {
	*Pair
	Why   string // "" when complete
	Stale bool
	Wait  time.Duration
}

// SettledPairs scans dir and checks each pair for completeness (the daemon finds out when
// to look again with Look). When pairs are complete but for their
// settle time and wait is set, it sleeps for them once (at most Settle), so that a cron run
// started right after a copy still takes it.
func (d *Result) SettledPairs(ctx context.Context, dir, product string, wait bool, sleep func(context.Context, time.Duration) error) ([]SettledPair, error) {
	for try := 0; ; try++ {
		pairs, err := Scan(dir, product)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		var out []SettledPair
		var longest time.Duration
		for _, p := range pairs {
			sp := SettledPair{Pair: p}
			sp.Why, sp.Stale, sp.Wait = PairState(dir, p, now)
			longest = max(longest, sp.Wait)
			out = append(out, sp)
		}
		if longest == 0 || try > 0 || !wait {
			return out, nil
		}
		if err := sleep(ctx, min(longest, Settle)+100*time.Millisecond); err != nil {
			return out, nil
		}
	}
}
