package agent

import (
	"reflect"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/repo/dnf"
)

type fixedPublished map[string]time.Time

func (f fixedPublished) Published(v hotfix.Version) (time.Time, bool) {
	t, ok := f[v.String()]
	return t, ok
}

var _ publishTimes = fixedPublished(nil)

func TestWaitingPeriod(t *testing.T) {
	day := 24 * time.Hour
	pkgs := func(built ...time.Duration) []dnf.Package {
		var ps []dnf.Package
		for i, ago := range built {
			p := dnf.Package{Hotfix: mustVersion(t, "6.14.2."+string(rune('1'+i)))}
			if ago >= 0 {
				p.BuildTime = agentNow.Add(-ago)
			}
			ps = append(ps, p)
		}
		return ps
	}
	const unknown = -1
	for _, tc := range []struct {
		name    string
		pending []dnf.Package
		minAge  int
		pub     publishTimes
		want    []string // version: reason; due
	}{
		{"no waiting period", pkgs(0, unknown), 0, nil, nil},
		{"all old enough", pkgs(10*day, 7*day), 7, nil, nil},
		{"the second is young: it and the third wait", pkgs(10*day, 3*day, 20*day), 7, nil, []string{
			"6.14.2.2: MIN_AGE_DAYS=7: published 2026-11-22 04:02 UTC; 2026-11-29 04:02",
			"6.14.2.3: follows 6.14.2.2; 2026-11-29 04:02",
		}},
		{"the third is younger still: its own due date", pkgs(10*day, 3*day, 1*day), 7, nil, []string{
			"6.14.2.2: MIN_AGE_DAYS=7: published 2026-11-22 04:02 UTC; 2026-11-29 04:02",
			"6.14.2.3: follows 6.14.2.2; MIN_AGE_DAYS=7: published 2026-11-24 04:02 UTC; 2026-12-01 04:02",
		}},
		{"a day short by a minute", pkgs(7*day - time.Minute), 7, nil, []string{
			"6.14.2.1: MIN_AGE_DAYS=7: published 2026-11-18 04:03 UTC; 2026-11-25 04:03",
		}},
		{"no publish time: held without a date", pkgs(unknown, 20*day), 1, nil, []string{
			"6.14.2.1: MIN_AGE_DAYS=1: no signed publish time (the repository has no rollout policy and the package manager gives no build time; hotchain policy writes one); -",
			"6.14.2.2: follows 6.14.2.1; -",
		}},
		{"the policy's publish time counts, not the build time", pkgs(30*day, 30*day), 2,
			fixedPublished{"6.14.2.2": agentNow.Add(-day)}, []string{
				"6.14.2.2: MIN_AGE_DAYS=2: published 2026-11-24 04:02 UTC; 2026-11-26 04:02",
			}},
		{"the policy knows a time the package manager does not", pkgs(unknown), 2,
			fixedPublished{"6.14.2.1": agentNow.Add(-3 * day)}, nil},
	} {
		var got []string
		for _, h := range waitingPeriod(tc.pending, tc.minAge, agentNow, tc.pub) {
			due := "-"
			if !h.Due.IsZero() {
				due = h.Due.Format("2006-01-02 15:04")
			}
			got = append(got, h.Version.String()+": "+h.Reason+"; "+due)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// agentNow is a Wednesday 04:02 UTC, the time cmd/hotchain's agent tests run at.
var agentNow = time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC)
