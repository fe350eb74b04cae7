package window

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no tzdata for %s: %v", name, err)
	}
	return loc
}

func TestParseWindowErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Sun-Thu", "no times"},
		{"Son 01:00-05:00", `unknown day "Son"`},
		{"Mon-Fry 01:00-05:00", `unknown day "Fry"`},
		{"Mon 1-5", `bad time "1"`},
		{"Mon 01:00", `"01:00" is not HH:MM-HH:MM`},
		{"Mon 25:00-05:00", `bad time "25:00"`},
		{"Mon 01:60-05:00", `bad time "01:60"`},
		{"Mon 01:0-05:00", `bad time "01:0"`},
		{"Mon 24:00-05:00", `bad time "24:00"`},
		{"Mon 01:00-xx", `bad time "xx"`},
		{"Mon 01:00-01:00", "empty window: 01:00-01:00 starts and ends at the same time"},
		{"Mon 01:00-05:00 Mars/Olympus", `unknown time zone "Mars/Olympus"`},
		{"Mon 01:00-05:00 UTC extra", `"extra" after the zone`},
		{"Mon 01:00-05:00,", `window 2 (""): empty window`},
		{"Mon 01:00-05:00,,Tue 01:00-02:00", `window 2 (""): empty window`},
		{" , ", `window 1 (""): empty window`},
	} {
		_, err := Parse(tc.in, time.UTC)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func TestWindowOpen(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	ny := mustZone(t, "America/New_York")
	// 2026-11-25 is a Wednesday.
	at := func(loc *time.Location, d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, loc) }
	for _, tc := range []struct {
		window string
		local  *time.Location
		t      time.Time
		open   bool
		next   time.Time // when closed
	}{
		{"", time.UTC, at(time.UTC, 25, 12, 0), true, time.Time{}},
		{"Sun-Thu 01:00-05:00", time.UTC, at(time.UTC, 25, 4, 59), true, time.Time{}},
		{"Sun-Thu 01:00-05:00", time.UTC, at(time.UTC, 25, 5, 0), false, at(time.UTC, 26, 1, 0)},
		{"Sun-Thu 01:00-05:00", time.UTC, at(time.UTC, 25, 0, 59), false, at(time.UTC, 25, 1, 0)},
		// Thursday after the window: the next opens on Sunday.
		{"Sun-Thu 01:00-05:00", time.UTC, at(time.UTC, 26, 6, 0), false, at(time.UTC, 29, 1, 0)},
		// A range that wraps: Fri-Mon; Wednesday is outside it.
		{"Fri-Mon 01:00-05:00", time.UTC, at(time.UTC, 25, 2, 0), false, at(time.UTC, 27, 1, 0)},
		{"Fri-Mon 01:00-05:00", time.UTC, at(time.UTC, 30, 2, 0), true, time.Time{}},
		{"wed 01:00-05:00", time.UTC, at(time.UTC, 25, 2, 0), true, time.Time{}},
		{"01:00-05:00", time.UTC, at(time.UTC, 28, 2, 0), true, time.Time{}},
		// Crossing midnight: Saturday 22:00 to Sunday 02:00 (2026-11-28 is a Saturday).
		{"Sat 22:00-02:00", time.UTC, at(time.UTC, 29, 1, 30), true, time.Time{}},
		{"Sat 22:00-02:00", time.UTC, at(time.UTC, 28, 23, 0), true, time.Time{}},
		{"Sat 22:00-02:00", time.UTC, at(time.UTC, 29, 2, 0), false, at(time.UTC, 35, 22, 0)},
		{"Sat 22:00-02:00", time.UTC, at(time.UTC, 28, 1, 30), false, at(time.UTC, 28, 22, 0)},
		{"Sat 22:00-24:00", time.UTC, at(time.UTC, 28, 23, 59), true, time.Time{}},
		{"Sat 22:00-24:00", time.UTC, at(time.UTC, 29, 0, 0), false, at(time.UTC, 35, 22, 0)},
		// Another zone: 01:00-05:00 in Berlin (CET, UTC+1) is 00:00-04:00 UTC.
		{"Sun-Thu 01:00-05:00 Europe/Berlin", time.UTC, at(time.UTC, 25, 0, 30), true, time.Time{}},
		{"Sun-Thu 01:00-05:00 Europe/Berlin", time.UTC, at(time.UTC, 25, 4, 30), false, at(berlin, 26, 1, 0)},
		// No zone: the local zone given.
		{"Sun-Thu 01:00-05:00", ny, at(time.UTC, 25, 8, 0), true, time.Time{}},
		{"Sun-Thu 01:00-05:00", ny, at(time.UTC, 25, 4, 30), false, at(ny, 25, 1, 0)},
		// Several windows: the first that opens.
		{"Mon 01:00-02:00, Fri 03:00-04:00 Europe/Berlin", time.UTC, at(time.UTC, 25, 12, 0), false, at(berlin, 27, 3, 0)},
		{"Mon 01:00-02:00, Fri 03:00-04:00 Europe/Berlin", time.UTC, at(time.UTC, 30, 1, 15), true, time.Time{}},
	} {
		w, err := Parse(tc.window, tc.local)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.window, err)
		}
		if got := w.Open(tc.t); got != tc.open {
			t.Errorf("%q.Open(%s) = %v, want %v", tc.window, tc.t, got, tc.open)
		}
		next := w.NextOpen(tc.t)
		if tc.open && !next.Equal(tc.t) || !tc.open && !next.Equal(tc.next) {
			t.Errorf("%q.NextOpen(%s) = %s, want %s", tc.window, tc.t, next, tc.next)
		}
		if !tc.open && next.Location().String() != tc.next.Location().String() {
			t.Errorf("%q.NextOpen(%s) is in %s, want the window's zone %s", tc.window, tc.t, next.Location(), tc.next.Location())
		}
	}
}

// A window across the change from summer to winter time (Europe/Berlin, 2026-10-25 03:00
// CEST -> 02:00 CET) keeps its wall-clock times.
func TestWindowDST(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	w, err := Parse("Sat-Sun 01:00-04:00", berlin)
	if err != nil {
		t.Fatal(err)
	}
	if open := time.Date(2026, 10, 25, 3, 30, 0, 0, berlin); !w.Open(open) {
		t.Errorf("closed at %s", open)
	}
	if closed := time.Date(2026, 10, 25, 4, 0, 0, 0, berlin); w.Open(closed) {
		t.Errorf("open at %s", closed)
	}
}
