package hoststate

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// A record's writer keeps it within what its reader takes (maxLastRunSize,
// maxHostRecordSize): a run that refused thousands of dropped files, or failed with a long
// error, shortens its lists and texts, more at each try, until the record fits. The run's
// report keeps the whole text.

// capLevels is how long a text and how many entries of a list each try keeps.
var capLevels = []struct{ text, entry, list int }{{64 << 10, 4 << 10, 200}, {8 << 10, 1 << 10, 50}, {1 << 10, 256, 10}, {256, 128, 3}}

// capText keeps at most n bytes of s (at a character boundary), and says how much it left out.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d bytes more in the run's report)", len(s)-cut)
}

// capList keeps at most n entries of l, each at most entry bytes, and says how many it
// left out.
func capList(l []string, n, entry int) []string {
	if l == nil {
		return nil
	}
	out := make([]string, 0, min(len(l), n)+1)
	for _, s := range l[:min(len(l), n)] {
		out = append(out, capText(s, entry))
	}
	if len(l) > n {
		out = append(out, fmt.Sprintf("... and %d more (in the run's report)", len(l)-n))
	}
	return out
}

// marshalWithin marshals v (indented); while the result is larger than limit it calls
// shrink with the next level's caps on a copy and tries again.
func marshalWithin[T any](v *T, limit int, shrink func(c *T, text, entry, list int)) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	for _, l := range capLevels {
		if err != nil || len(data) < limit {
			break
		}
		c := *v
		shrink(&c, l.text, l.entry, l.list)
		data, err = json.MarshalIndent(&c, "", "  ")
	}
	if err == nil && len(data) >= limit {
		err = fmt.Errorf("the record is %d bytes even shortened, more than its reader's %d", len(data), limit)
	}
	return data, err
}

// Marshal is the record as WriteLastRun writes it: within maxLastRunSize.
func (l *LastRun) Marshal() ([]byte, error) {
	return marshalWithin(l, maxLastRunSize, func(c *LastRun, text, entry, list int) {
		c.Summary, c.Error = capText(c.Summary, text), capText(c.Error, text)
		for _, p := range []*[]string{&c.Recovered, &c.Installed, &c.Pending, &c.Waiting, &c.Finalized, &c.RolledBack} {
			*p = capList(*p, list, entry)
		}
		for _, p := range []*[]HeldRecord{&c.Held, &c.Withdrawn} {
			*p = slices.Clone((*p)[:min(len(*p), list)]) // the caller's record stays as it was
			for i := range *p {
				(*p)[i].Reason = capText((*p)[i].Reason, entry)
			}
		}
	})
}

// Marshal is the record as the agent writes it: within maxHostRecordSize.
func (r *HostRecord) Marshal() ([]byte, error) {
	return marshalWithin(r, maxHostRecordSize, func(c *HostRecord, text, entry, list int) {
		c.Summary, c.Error = capText(c.Summary, text), capText(c.Error, text)
		c.Pending, c.Waiting = capList(c.Pending, list, entry), capList(c.Waiting, list, entry)
	})
}
