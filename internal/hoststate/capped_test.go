package hoststate

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRecordsStayWithinTheirReadersLimit: a run with thousands of long lines writes
// records its readers still take, saying what it left out.
func TestRecordsStayWithinTheirReadersLimit(t *testing.T) {
	var many []string
	for range 2000 {
		many = append(many, strings.Repeat("shop-hotfix-x.rpm: refused ", 30))
	}
	long := strings.Repeat("drop folder: refused x; ", 60000)
	l := &LastRun{Mode: "cron", Outcome: "failure", Error: long, Waiting: many, Installed: []string{"6.14.2.1"}}
	data, err := l.Marshal()
	if err != nil || len(data) >= maxLastRunSize {
		t.Fatalf("last run: %d bytes, %v; want less than %d", len(data), err, maxLastRunSize)
	}
	var back LastRun
	if err := json.Unmarshal(data, &back); err != nil || !strings.Contains(back.Waiting[len(back.Waiting)-1], "more") || back.Installed[0] != "6.14.2.1" {
		t.Fatalf("read back: %v, waiting ends %q", err, back.Waiting[len(back.Waiting)-1])
	}
	if len(l.Error) != len(long) || len(l.Waiting) != 2000 {
		t.Error("Marshal changed the record it was given")
	}
	r := &HostRecord{Schema: HostRecordSchema, Error: long, Pending: many, Waiting: many}
	data, err = r.Marshal()
	if err != nil || len(data) >= maxHostRecordSize {
		t.Fatalf("host record: %d bytes, %v; want less than %d", len(data), err, maxHostRecordSize)
	}
	// A small record is written as it is.
	small := &LastRun{Mode: "cron", Outcome: "success", Installed: []string{"6.14.2.1"}}
	want, _ := json.MarshalIndent(small, "", "  ")
	if got, _ := small.Marshal(); string(got) != string(want) {
		t.Errorf("a small record changed:\n%s", got)
	}
}
