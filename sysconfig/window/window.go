// Package window reads INSTALL_WINDOW, the times the agent may start an install, and
// answers whether a time is inside it and when it opens next, across midnight and daylight
// saving changes, in the zones it names. It is its own package because it is a leaf: it
// knows nothing of the settings file, only the value's syntax and the calendar.
package window

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is INSTALL_WINDOW: when the agent may start an install. The zero Window is always
// open (INSTALL_WINDOW empty).
//
// The value is one or more windows separated by commas, each "DAYS HH:MM-HH:MM [ZONE]":
// DAYS is a day (Sun), a range (Mon-Fri) or a range that wraps (Fri-Mon), or left out for
// every day; the times are wall-clock times in ZONE (an IANA name such as Europe/Berlin,
// read from the system's tzdata; none: the host's local time). A window whose end is not
// after its start crosses midnight: "Sat 22:00-02:00" opens on Saturday 22:00 and closes on
// Sunday 02:00. DAYS are the days a window opens on. 24:00 ends a window at midnight.
type Window struct {
	text  string
	spans []span
}

// span is one window of the list.
type span struct {
	days       [7]bool // by time.Weekday: the days it opens on
	start, end int     // minutes after midnight; end <= start crosses midnight
	loc        *time.Location
	zone       string // as written; "" = local time
}

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// Parse reads an INSTALL_WINDOW value; local is the zone of windows that name none
// (time.Local on a host). The error says which window is wrong and how.
func Parse(s string, local *time.Location) (Window, error) {
	w := Window{text: strings.TrimSpace(s)}
	if w.text == "" {
		return w, nil
	}
	for i, part := range strings.Split(w.text, ",") {
		sp, err := parseSpan(strings.Fields(part), local)
		if err != nil {
			if strings.Count(w.text, ",") > 0 {
				return Window{}, fmt.Errorf("window %d (%q): %w", i+1, strings.TrimSpace(part), err)
			}
			return Window{}, err
		}
		w.spans = append(w.spans, sp)
	}
	return w, nil
}

const windowForm = `write "DAYS HH:MM-HH:MM [ZONE]", e.g. "Sun-Thu 01:00-05:00" or "Sat 22:00-02:00 Europe/Berlin"; separate windows with commas`

func parseSpan(f []string, local *time.Location) (span, error) {
	sp := span{loc: local}
	if len(f) == 0 {
		return sp, errors.New("empty window: " + windowForm)
	}
	if !strings.ContainsRune(f[0], ':') { // DAYS first
		days, err := parseDays(f[0])
		if err != nil {
			return sp, err
		}
		sp.days, f = days, f[1:]
	} else {
		sp.days = [7]bool{true, true, true, true, true, true, true}
	}
	if len(f) == 0 {
		return sp, errors.New("no times: " + windowForm)
	}
	from, to, ok := strings.Cut(f[0], "-")
	if !ok {
		return sp, fmt.Errorf("%q is not HH:MM-HH:MM: %s", f[0], windowForm)
	}
	var err error
	if sp.start, err = parseClock(from, false); err != nil {
		return sp, err
	}
	if sp.end, err = parseClock(to, true); err != nil {
		return sp, err
	}
	if sp.start == sp.end {
		return sp, fmt.Errorf("empty window: %s starts and ends at the same time; for a whole day write 00:00-24:00", f[0])
	}
	if sp.end == 24*60 {
		sp.end = 0 // midnight of the next day: crosses midnight
	}
	switch len(f) {
	case 1:
	case 2:
		loc, err := time.LoadLocation(f[1])
		if err != nil || f[1] == "" {
			return sp, fmt.Errorf("unknown time zone %q (%v): give an IANA name from /usr/share/zoneinfo such as Europe/Berlin or UTC, or none for local time", f[1], err)
		}
		sp.loc, sp.zone = loc, f[1]
	default:
		return sp, fmt.Errorf("%q after the zone: %s", strings.Join(f[2:], " "), windowForm)
	}
	return sp, nil
}

// parseDays reads Mon, Mon-Fri or Fri-Mon (English, any case).
func parseDays(s string) ([7]bool, error) {
	var days [7]bool
	from, to, isRange := strings.Cut(s, "-")
	a, err := parseDay(from)
	if err != nil {
		return days, err
	}
	b := a
	if isRange {
		if b, err = parseDay(to); err != nil {
			return days, err
		}
	}
	for d := a; ; d = (d + 1) % 7 {
		days[d] = true
		if d == b {
			break
		}
	}
	return days, nil
}

func parseDay(s string) (int, error) {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown day %q: use Sun, Mon, Tue, Wed, Thu, Fri, Sat, a range like Mon-Fri or Fri-Mon, or no day for every day", s)
}

// parseClock reads HH:MM (24-hour); 24:00 only as an end.
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	switch {
	case !ok || err1 != nil || err2 != nil || len(m) != 2 || len(h) < 1 || len(h) > 2:
		return 0, fmt.Errorf("bad time %q: write HH:MM, 24-hour, e.g. 01:00 or 22:30", s)
	case end && hh == 24 && mm == 0:
		return 24 * 60, nil
	case hh < 0 || hh > 23 || mm < 0 || mm > 59:
		return 0, fmt.Errorf("bad time %q: hours 00-23, minutes 00-59 (24:00 only as an end)", s)
	}
	return hh*60 + mm, nil
}

// String is the value as written (spaces trimmed).
func (w Window) String() string { return w.text }

// Always reports whether the window is always open (INSTALL_WINDOW empty).
func (w Window) Always() bool { return len(w.spans) == 0 }

// opening is when the span opens on the calendar day y-m-d of its zone, and when it closes;
// ok is false when it does not open that day. A wall-clock time that a DST change skips
// moves forward, as time.Date moves it.
func (sp span) opening(y int, m time.Month, d int) (open, closes time.Time, ok bool) {
	open = time.Date(y, m, d, sp.start/60, sp.start%60, 0, 0, sp.loc)
	if !sp.days[open.Weekday()] {
		return time.Time{}, time.Time{}, false
	}
	ed := d
	if sp.end <= sp.start {
		ed++
	}
	closes = time.Date(y, m, ed, sp.end/60, sp.end%60, 0, 0, sp.loc)
	return open, closes, true
}

// Open reports whether an install may start at t.
func (w Window) Open(t time.Time) bool {
	if w.Always() {
		return true
	}
	for _, sp := range w.spans {
		lt := t.In(sp.loc)
		// A window that contains t opened today or, crossing midnight, yesterday.
		for _, back := range []int{0, -1} {
			day := lt.AddDate(0, 0, back)
			if open, closes, ok := sp.opening(day.Year(), day.Month(), day.Day()); ok && !t.Before(open) && t.Before(closes) {
				return true
			}
		}
	}
	return false
}

// NextOpen is the first moment at or after t when the window is open, in the zone of the
// window that opens then. For an always-open window it is t.
func (w Window) NextOpen(t time.Time) time.Time {
	if w.Open(t) {
		return t
	}
	var next time.Time
	for _, sp := range w.spans {
		lt := t.In(sp.loc)
		for i := 0; i <= 7; i++ {
			day := lt.AddDate(0, 0, i)
			open, _, ok := sp.opening(day.Year(), day.Month(), day.Day())
			if ok && open.After(t) {
				if next.IsZero() || open.Before(next) {
					next = open
				}
				break
			}
		}
	}
	return next
}
