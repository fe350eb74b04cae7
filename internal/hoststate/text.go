package hoststate

import (
	"fmt"
	"time"
)

// The few words the records are shown with, by the agent's report and by status.

// FormatTime shows a time to the minute, with its zone's abbreviation, in loc.
func FormatTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// CountOf is n with the noun for one or for many: "1 hotfix", "3 hotfixes".
func CountOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
