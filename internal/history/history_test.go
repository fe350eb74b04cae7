package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotchain/hotchain/internal/testutil"
)

// The test binary appends for TestAppendsFromManyProcesses when this is set.
const appendEnv = "HISTORY_TEST_APPEND"

func TestMain(m *testing.M) {
	if spec := os.Getenv(appendEnv); spec != "" {
		// DIR HOST N MAXSIZE
		f := strings.Fields(spec)
		n, _ := strconv.Atoi(f[2])
		max, _ := strconv.ParseInt(f[3], 10, 64)
		appendMany(&Log{Dir: f[0], Host: f[1], MaxSize: max}, "proc"+strconv.Itoa(os.Getpid()), n)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func appendMany(l *Log, who string, n int) error {
	for i := range n {
		// Lines of different lengths, some near MaxLine.
		e := Event{Time: time.Now(), Event: Apply, Version: "6.14.2.1", Outcome: Success, By: who,
			Detail: fmt.Sprintf("%d %s", i, strings.Repeat("x", (i*397)%(MaxLine-200)))}
		if err := l.Append(e); err != nil {
			return err
		}
	}
	return nil
}

// readAll reads every generation and fails on a warning: the appends must leave whole lines.
func readAll(t *testing.T, l *Log) []Line {
	t.Helper()
	lines, warnings, err := Read(l.Files())
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("warnings: %q", warnings)
	}
	return lines
}

func TestAppendsFromManyGoroutinesAndProcesses(t *testing.T) {
	dir := t.TempDir()
	l := &Log{Dir: dir, Host: "host1", MaxSize: 64 << 20} // no rotation: every line stays
	const goroutines, procs, each = 8, 3, 60
	var wg sync.WaitGroup
	errs := make(chan error, goroutines+procs)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- appendMany(&Log{Dir: dir, Host: "host1", MaxSize: l.MaxSize}, "g"+strconv.Itoa(g), each)
		}()
	}
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s host1 %d %d", appendEnv, dir, each, l.MaxSize))
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, out)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	lines := readAll(t, l)
	if len(lines) != (goroutines+procs)*each {
		t.Fatalf("%d lines, want %d", len(lines), (goroutines+procs)*each)
	}
	// Each writer's lines are all there, in its order.
	next := map[string]int{}
	for _, ln := range lines {
		i, _ := strconv.Atoi(strings.Fields(ln.Detail)[0])
		if i != next[ln.By] {
			t.Fatalf("%s: line %d after %d", ln.By, i, next[ln.By]-1)
		}
		next[ln.By]++
	}
	if len(next) != goroutines+procs {
		t.Errorf("%d writers in the log, want %d", len(next), goroutines+procs)
	}
}

func TestRotationBoundsTheSize(t *testing.T) {
	dir := t.TempDir()
	const max = 32 << 10
	const writers, each = 4, 200 // about 4 * 200 * 2 KiB: many rotations
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := appendMany(&Log{Dir: dir, Host: "host1", MaxSize: max}, "w"+strconv.Itoa(w), each); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l := &Log{Dir: dir, Host: "host1", MaxSize: max}
	files := l.Files()
	if len(files) != Generations+1 {
		t.Errorf("files %q, want the log and %d generations", files, Generations)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != Generations+2 { // the lock file too
		t.Errorf("%d files in %s, want %d", len(ents), dir, Generations+2)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		// An appender that checked the size just before another's rotation adds its line.
		if fi.Size() > max+writers*MaxLine {
			t.Errorf("%s has %d bytes, the bound is %d", f, fi.Size(), max+writers*MaxLine)
		}
	}
	lines := readAll(t, l)
	if len(lines) == 0 || len(lines) >= writers*each {
		t.Errorf("%d lines kept of %d written: the oldest should be gone", len(lines), writers*each)
	}
}

func TestMarshalCutsLongText(t *testing.T) {
	for _, tc := range []struct {
		name          string
		detail, error string
	}{
		{"long error", "", strings.Repeat("e", 10000)},
		{"quotes escape to two bytes", "", strings.Repeat(`"`, 5000)},
		{"control characters to six", strings.Repeat("\x01", 3000), "short"},
		{"multibyte runes", strings.Repeat("ü", 3000), strings.Repeat("€", 3000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Marshal(Event{Time: time.Unix(0, 0), Host: "h", Event: Apply, Outcome: Failure, Detail: tc.detail, Error: tc.error})
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxLine || b[len(b)-1] != '\n' || bytes.Count(b, []byte("\n")) != 1 {
				t.Fatalf("%d bytes, want at most %d on one line", len(b), MaxLine)
			}
			var e Event
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			cutOne := false
			for _, f := range []struct{ got, was string }{{e.Detail, tc.detail}, {e.Error, tc.error}} {
				if f.got == f.was {
					continue
				}
				cutOne = true
				if !strings.HasSuffix(f.got, TruncatedMark) || !strings.HasPrefix(f.was, strings.TrimSuffix(f.got, TruncatedMark)) || !utf8.ValidString(f.got) {
					t.Errorf("cut to %.40q..., want a prefix of the text and %q", f.got, TruncatedMark)
				}
			}
			if !cutOne {
				t.Error("nothing was cut")
			}
		})
	}
	short := Event{Time: time.Unix(0, 0), Host: "h", Event: Apply, Outcome: Failure, Error: "exit status 1"}
	if b, _ := Marshal(short); strings.Contains(string(b), TruncatedMark) {
		t.Errorf("a short line was cut: %s", b)
	}
}

// TestSchemaGolden pins the line format of hotchain.history/1: a change to it shows here
// and needs a new Schema when it removes, renames or changes a field.
func TestSchemaGolden(t *testing.T) {
	at := time.Date(2026, 11, 25, 4, 2, 7, 250e6, time.FixedZone("CET", 3600))
	var out []byte
	for _, e := range []Event{
		{Time: at, Host: "host1", Event: RunStart, Mode: "cron", Outcome: Success, By: "cron"},
		{Time: at, Host: "host1", Event: Install, Version: "6.14.2.3", Outcome: Success, DurationMS: 5120, By: "cron", Detail: "shop-hotfix-6_14_2_3"},
		{Time: at, Host: "host1", Event: Health, Version: "6.14.2.3", Outcome: Failure, DurationMS: 812, By: "cron", Error: "hotfix 6.14.2.3 failed its health check"},
		{Time: at, Host: "host2", Event: Rollback, Version: "6.14.2.3", Outcome: Success, DurationMS: 40, By: "rpm"},
		{Time: at, Host: "host1", Event: RunEnd, Mode: "console", Outcome: Skipped, DurationMS: 1, By: "user:alice"},
	} {
		b, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	testutil.Golden(t, "testdata/schema.golden", out)
}

func TestTornLastLineIsSkippedWithAWarning(t *testing.T) {
	dir := t.TempDir()
	l := &Log{Dir: dir, Host: "host1"}
	for i := range 3 {
		if err := l.Append(Event{Time: time.Unix(int64(i), 0), Event: Apply, Outcome: Success, Detail: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	whole, _ := os.ReadFile(l.Path())
	// Power lost in the middle of the fourth line.
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"schema":"hotchain.history/1","time":"2026-`)
	f.Close()
	lines, warnings, err := Read(l.Files())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || len(warnings) != 1 || !strings.Contains(warnings[0], "host1.jsonl:4: skipped a torn last line") {
		t.Fatalf("%d lines, warnings %q; want 3 and one about the torn line 4", len(lines), warnings)
	}
	// The next append starts on a line of its own: only the torn line is lost.
	if err := l.Append(Event{Time: time.Unix(9, 0), Event: RunEnd, Outcome: Success}); err != nil {
		t.Fatal(err)
	}
	lines, warnings, err = Read(l.Files())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 4 || lines[3].Event.Event != RunEnd || len(warnings) != 1 || !strings.Contains(warnings[0], ":4: skipped a line that is not a history event") {
		t.Fatalf("%d lines, warnings %q; want 4 and one about line 4", len(lines), warnings)
	}
	if !bytes.Equal(lines[0].Raw, bytes.SplitN(whole, []byte("\n"), 2)[0]) {
		t.Errorf("Raw is not the stored line: %s", lines[0].Raw)
	}
}

func TestReadSkipsWhatIsNotAnEvent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.jsonl")
	good, _ := Marshal(Event{Time: time.Unix(1, 0), Host: "h", Event: Apply, Outcome: Success})
	content := string(good) +
		strings.Repeat("y", 3*MaxLine) + "\n" +
		`{"schema":"hotchain.history/9","event":"apply"}` + "\n" +
		"\n" +
		string(good)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, warnings, err := Read([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Errorf("%d lines, want the 2 good ones", len(lines))
	}
	want := []string{"h.jsonl:2: skipped a line longer than 4096 bytes", `h.jsonl:3: skipped a line of schema "hotchain.history/9"`}
	if len(warnings) != len(want) {
		t.Fatalf("warnings %q, want %q", warnings, want)
	}
	for i, w := range want {
		if !strings.Contains(warnings[i], w) {
			t.Errorf("warning %q, want %q", warnings[i], w)
		}
	}
}

func TestHosts(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.jsonl", "a.jsonl.1", "a.jsonl.lock", "b.jsonl.2", "c.txt", ".x.jsonl"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got, err := Hosts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "a b" {
		t.Errorf("hosts %q, want a b", got)
	}
	if got, err := Hosts(filepath.Join(dir, "none")); err != nil || got != nil {
		t.Errorf("no directory: %q, %v; want none and no error", got, err)
	}
}
