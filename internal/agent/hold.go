package agent

import (
	"fmt"
	"slices"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/hostpolicy"
	"github.com/hotchain/hotchain/internal/agent/report"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// What holds a pending hotfix back on this host: the waiting period (MIN_AGE_DAYS: a hotfix
// installs once it was published that many days ago; CANARY=yes hosts do not wait) and the
// install window (INSTALL_WINDOW: no install starts outside it; checks and downloads happen
// at any time). The decisions take the time from Options.Now, which is time.Now in the
// product and a clock of their own in the tests.

// publishTimes tells when the vendor published each hotfix, from signed metadata: the
// signed rollout policy (hotchain policy; internal/agent/hostpolicy) gives, per hotfix
// version, the Published time the vendor signed. Without one (nil, or no time for a
// version), a hotfix counts as published at its package's build time, which the vendor's
// package signature covers; it is never a file's mtime.
type publishTimes interface {
	Published(v hotfix.Version) (time.Time, bool)
}

// publishedAt is when p was published: the signed policy's time, else its build time.
func publishedAt(p dnf.Package, pub publishTimes) (time.Time, bool) {
	if pub != nil {
		if t, ok := pub.Published(p.Hotfix); ok {
			return t, true
		}
	}
	return p.BuildTime, !p.BuildTime.IsZero()
}

// waitingPeriod holds back, of pending (in chain order), the first hotfix that was published
// less than minAgeDays whole days before now, or whose publish time is unknown, and every
// hotfix after it: hotfix N installs only on top of N-1. The times in the reasons are shown
// in now's zone.
func waitingPeriod(pending []dnf.Package, minAgeDays int, now time.Time, pub publishTimes) []report.Held {
	if minAgeDays <= 0 {
		return nil
	}
	age := time.Duration(minAgeDays) * 24 * time.Hour
	var held []report.Held
	for _, p := range pending {
		at, known := publishedAt(p, pub)
		h := report.Held{Version: p.Hotfix}
		switch {
		case !known:
			h.Reason = fmt.Sprintf("MIN_AGE_DAYS=%d: no signed publish time (the repository has no rollout policy and the package manager gives no build time; hotchain policy writes one)", minAgeDays)
		case now.Sub(at) < age:
			h.Due = at.Add(age).In(now.Location())
			h.Reason = fmt.Sprintf("MIN_AGE_DAYS=%d: published %s", minAgeDays, hoststate.FormatTime(at, now.Location()))
		}
		if n := len(held); n > 0 {
			prev := held[n-1]
			if h.Reason == "" {
				h.Reason = fmt.Sprintf("follows %s", prev.Version)
			} else {
				h.Reason = fmt.Sprintf("follows %s; %s", prev.Version, h.Reason)
			}
			if !known || prev.Due.IsZero() {
				h.Due = time.Time{}
			} else if h.Due.Before(prev.Due) {
				h.Due = prev.Due
			}
		} else if h.Reason == "" {
			continue // old enough, and nothing before it waits
		}
		held = append(held, h)
	}
	return held
}

// holdBack decides what the waiting period holds back of the part of the chain this host
// may install. A secondary host follows the alpha (the installation's version.txt) and does
// not wait itself: the alpha waited, and the installation must not fall apart. An import
// (import.go) does not wait either: the admin chose the signed bundle.
func (r *agentRun) holdBack() {
	cfg := r.Cfg
	if cfg.MinAgeDays == 0 || cfg.Canary || cfg.HostRole == sysconfig.RoleSecondary || r.o.bundle != nil {
		return
	}
	r.Held = mergeHeld(r.Held, waitingPeriod(r.Pending[:len(r.Pending)-len(r.Waiting)], cfg.MinAgeDays, r.o.Now(), publishTimesOf(r.Policy)))
}

// mergeHeld joins what the rollout policy (policy) and the waiting period (wait) hold
// back, in chain order; a hotfix both hold back keeps the policy's reason.
func mergeHeld(policy, wait []report.Held) []report.Held {
	out := slices.Clone(policy)
	for _, h := range wait {
		if !slices.ContainsFunc(out, func(p report.Held) bool { return p.Version.Equal(h.Version) }) {
			out = append(out, h)
		}
	}
	slices.SortStableFunc(out, func(a, b report.Held) int { return a.Version.Compare(b.Version) })
	return out
}

// windowOpen tells whether an install may start now. Outside INSTALL_WINDOW, a nightly run
// holds back what it would install and says when the next window opens; -console installs
// anyway and says that it does.
func (r *agentRun) windowOpen(now []hotfix.Version) bool {
	w := r.Cfg.InstallWindow
	t := r.o.Now()
	if w.Open(t) {
		return true
	}
	if r.o.Mode == ModeConsole {
		fmt.Fprintf(r.out, "==> -console ignores INSTALL_WINDOW (%s), which is closed now: installing anyway\n", w)
		return true
	}
	r.holdOutside(now, t)
	return false
}

// holdOutside records that the install window is closed at t, and holds vs back until it
// opens.
func (r *agentRun) holdOutside(vs []hotfix.Version, t time.Time) {
	w := r.Cfg.InstallWindow
	next := w.NextOpen(t)
	r.Outside = fmt.Sprintf("outside INSTALL_WINDOW (%s): next window opens %s", w, hoststate.FormatTime(next, next.Location()))
	held := make([]report.Held, 0, len(vs)+len(r.Held))
	for _, v := range vs {
		held = append(held, report.Held{Version: v, Reason: "outside INSTALL_WINDOW", Due: next})
	}
	r.Held = append(held, r.Held...)
}

// checkWindow is what -check and CHECK_ONLY runs show of the install window: the hotfixes
// an install now would hold back, and why.
func (r *agentRun) checkWindow() {
	if t := r.o.Now(); !r.Cfg.InstallWindow.Open(t) {
		r.holdOutside(r.installable(), t)
	}
}

// publishTimesOf is the policy's publish times, nil when there is no policy (a nil
// *hostpolicy.Policy in the interface would not compare equal to nil).
func publishTimesOf(hp *hostpolicy.Policy) publishTimes {
	if hp == nil {
		return nil
	}
	return hp
}
