package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/testutil"
)

// history is this host's history, one "event [mode] version outcome by" line per event,
// and the warnings reading it gave.
func (h *agentHost) history() []string {
	h.t.Helper()
	l := &history.Log{Dir: history.Dir(h.cfg.InRoot(h.cfg.LedgerDir)), Host: h.cfg.Hostname}
	lines, warnings, err := history.Read(l.Files())
	if err != nil || len(warnings) > 0 {
		h.t.Fatalf("read the history: %v %q", err, warnings)
	}
	var out []string
	for _, l := range lines {
		s := l.Event.Event
		if l.Mode != "" {
			s += " " + l.Mode
		}
		if l.Version != "" {
			s += " " + l.Version
		}
		out = append(out, s+" "+l.Outcome+" "+l.By)
	}
	return out
}

// wantHistory checks this host's history against want, line by line.
func (h *agentHost) wantHistory(want ...string) {
	h.t.Helper()
	if got := h.history(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		h.t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// runHistoryCmd runs `hotchain history ARGS` in-process on h's root.
func (h *agentHost) runHistoryCmd(args ...string) (int, string, string) {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	e := &cli.Env{Stdout: &stdout, Stderr: &stderr, Environ: h.environ}
	args = append([]string{"history", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}, args...)
	code := report(&stderr, run(context.Background(), e, args))
	return code, stdout.String(), stderr.String()
}

// fillHistory writes the histories of host1 (this host) and host2, interleaved in time.
func (h *agentHost) fillHistory() {
	h.t.Helper()
	dir := history.Dir(h.cfg.InRoot(h.cfg.LedgerDir))
	at := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
	for _, e := range []history.Event{
		{Time: at(24, 4), Host: "host1", Event: history.RunStart, Mode: "cron", Outcome: history.Success, By: "cron"},
		{Time: at(24, 4), Host: "host1", Event: history.Apply, Version: "6.14.2.1", Outcome: history.Success, DurationMS: 1500, By: "cron"},
		{Time: at(24, 5), Host: "host2", Event: history.Apply, Version: "6.14.2.1", Outcome: history.Success, DurationMS: 900, By: "rpm"},
		{Time: at(25, 4), Host: "host1", Event: history.Apply, Version: "6.14.2.2", Outcome: history.Failure, DurationMS: 20, By: "user:alice", Error: "install script Install/01.sh failed:\nexit status 1"},
		{Time: at(25, 6), Host: "host2", Event: history.ServiceStop, Outcome: history.Success, By: "user:bob"},
		{Time: at(26, 4), Host: "host1", Event: history.RunEnd, Mode: "cron", Outcome: history.Failure, DurationMS: 61000, By: "cron", Detail: "nothing installed"},
	} {
		if err := (&history.Log{Dir: dir, Host: e.Host}).Append(e); err != nil {
			h.t.Fatal(err)
		}
	}
}

func TestHistoryCommandFilters(t *testing.T) {
	h := newAgentHost(t)
	h.fillHistory()
	for _, tc := range []struct {
		name string
		args []string
		want []string // event and version (or host) of each line
	}{
		{"this host", nil, []string{"run-start", "apply 6.14.2.1", "apply 6.14.2.2", "run-end"}},
		{"another host", []string{"-host", "host2"}, []string{"apply 6.14.2.1", "service-stop"}},
		{"all hosts by time", []string{"-all"}, []string{"run-start", "apply 6.14.2.1", "apply 6.14.2.1", "apply 6.14.2.2", "service-stop", "run-end"}},
		{"since a date", []string{"-all", "-since", "2026-11-25"}, []string{"apply 6.14.2.2", "service-stop", "run-end"}},
		{"since a time", []string{"-all", "-since", "2026-11-25T05:00:00Z"}, []string{"service-stop", "run-end"}},
		{"one version", []string{"-all", "-version", "6.14.2.1"}, []string{"apply 6.14.2.1", "apply 6.14.2.1"}},
		{"a host without history", []string{"-host", "host9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := h.runHistoryCmd(append([]string{"-json"}, tc.args...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
				if line == "" {
					continue
				}
				var e history.Event
				if err := json.Unmarshal([]byte(line), &e); err != nil || e.Schema != history.Schema {
					t.Fatalf("line %q: %v, schema %q", line, err, e.Schema)
				}
				got = append(got, strings.TrimSpace(e.Event+" "+e.Version))
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The text output: one aligned line per event, a multi-line error on its line.
func TestHistoryCommandText(t *testing.T) {
	h := newAgentHost(t)
	h.fillHistory()
	code, stdout, stderr := h.runHistoryCmd("-all")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	testutil.Golden(t, "testdata/history-all.golden", []byte(stdout))
}

// -json prints the stored lines byte for byte, and a torn last line is a warning.
func TestHistoryCommandJSONAndTornLine(t *testing.T) {
	h := newAgentHost(t)
	h.fillHistory()
	l := &history.Log{Dir: history.Dir(h.cfg.InRoot(h.cfg.LedgerDir)), Host: "host1"}
	stored, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"schema":"hotchain.hist`)
	f.Close()
	code, stdout, stderr := h.runHistoryCmd("-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != string(stored) {
		t.Errorf("-json:\n%s\nwant the stored lines:\n%s", stdout, stored)
	}
	if !strings.HasPrefix(stderr, "hotchain: warning: ") || !strings.Contains(stderr, "host1.jsonl:5: skipped a torn last line") {
		t.Errorf("stderr %q, want a warning about the torn line 5", stderr)
	}
}

func TestHistoryCommandUsage(t *testing.T) {
	h := newAgentHost(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-all", "-host", "host2"}, "-host and -all exclude each other"},
		{[]string{"-since", "yesterday"}, `-since "yesterday" is neither a date`},
		{[]string{"-host", "../host2"}, `-host "../host2" is not a host name`},
		{[]string{"-version", "6.14"}, "-version"},
		{[]string{"extra"}, "history takes no arguments"},
	} {
		code, _, stderr := h.runHistoryCmd(tc.args...)
		if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, cli.ExitUsage, tc.want)
		}
	}
}

func TestWhoStarted(t *testing.T) {
	uid := "uid:" + strconv.Itoa(os.Getuid())
	for _, tc := range []struct {
		environ  []string
		fallback string
		want     string
	}{
		{[]string{"HOTCHAIN_BY=rpm", "SUDO_USER=alice"}, "cron", "rpm"},
		{[]string{"SUDO_USER=alice", "LOGNAME=root"}, "cron", "cron"},
		{[]string{"SUDO_USER=alice", "LOGNAME=root"}, "", "user:alice"},
		{[]string{"LOGNAME=bob", "USER=carol"}, "", "user:bob"},
		{[]string{"USER=carol"}, "", "user:carol"},
		{[]string{"SUDO_USER="}, "", uid},
	} {
		if got := hoststate.WhoStarted(tc.environ, tc.fallback); got != tc.want {
			t.Errorf("whoStarted(%q, %q) = %q, want %q", tc.environ, tc.fallback, got, tc.want)
		}
	}
}

// service stop and start, and a hold around a command that fails, are in the history.
func TestServiceAndHoldHistory(t *testing.T) {
	h := newAgentHost(t)
	h.environ = append(h.environ, "SUDO_USER=alice")
	var out bytes.Buffer
	e := &cli.Env{Stdout: &out, Stderr: &out, Environ: h.environ}
	cfg := []string{"-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}
	for _, args := range [][]string{
		append([]string{"service", "stop"}, cfg...),
		append([]string{"service", "start"}, cfg...),
		append(append([]string{"hold"}, cfg...), "--", "sh", "-c", "exit 3"),
	} {
		run(context.Background(), e, args)
	}
	h.wantHistory("service-stop success user:alice", "service-start success user:alice",
		"hold-start success user:alice", "hold-end failure user:alice")
	lines, _, _ := history.Read((&history.Log{Dir: history.Dir(h.cfg.InRoot(h.cfg.LedgerDir)), Host: "host1"}).Files())
	if last := lines[len(lines)-1]; last.Detail != "sh" || last.Error != "exit status 3" {
		t.Errorf("hold-end: detail %q, error %q; want sh and exit status 3\n%s", last.Detail, last.Error, out.String())
	}
}

// A nightly run that finds nightly runs disabled is a skipped run; a -check run says its mode.
func TestSkippedRunHistory(t *testing.T) {
	h := newAgentHost(t)
	if err := os.Remove(h.path("var/lock/subsys/shop-hotfix")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := h.run(h.options(agent.ModeCron)); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	h.run(h.options(agent.ModeCheck))
	h.wantHistory("run-start cron success cron", "run-end cron skipped cron",
		"run-start check success uid:"+strconv.Itoa(os.Getuid()), "run-end check success uid:"+strconv.Itoa(os.Getuid()))
}

// Durations are measured by the clock even when the run's day is fixed (o.now): never
// negative, and the run's covers its applies.
func TestHistoryDurations(t *testing.T) {
	h := newAgentHost(t, `HEALTH_CMD="sleep 0.05"`)
	h.run(h.options(agent.ModeCron))
	l := &history.Log{Dir: history.Dir(h.cfg.InRoot(h.cfg.LedgerDir)), Host: "host1"}
	lines, _, err := history.Read(l.Files())
	if err != nil || len(lines) < 4 {
		t.Fatalf("%d lines: %v", len(lines), err)
	}
	var applies int64
	for _, ln := range lines {
		if ln.DurationMS < 0 || time.Since(ln.Time) > time.Minute {
			t.Errorf("%s: time %s, duration %dms", ln.Event.Event, ln.Time, ln.DurationMS)
		}
		if ln.Event.Event == history.Apply {
			applies += ln.DurationMS
		}
	}
	if end := lines[len(lines)-1]; end.Event.Event != history.RunEnd || end.DurationMS < applies || applies < 3*50 {
		t.Errorf("run-end %s took %dms, the applies %dms (3 health checks of 50ms)", end.Event.Event, end.DurationMS, applies)
	}
}

// A notification that is not delivered is in the history, before the run's end.
func TestNotifyFailureInHistory(t *testing.T) {
	h := newAgentHost(t, `NOTIFY_CMD="sh -c 'cat >/dev/null; echo pager down >&2; exit 3'"`, "NOTIFY_ON=always")
	h.run(h.options(agent.ModeCron))
	got := h.history()
	if len(got) < 2 || got[len(got)-2] != "notify failure cron" || got[len(got)-1] != "run-end cron success cron" {
		t.Fatalf("history ends %q, want a failed notify, then the run's end", got)
	}
	lines, _, _ := history.Read((&history.Log{Dir: history.Dir(h.cfg.InRoot(h.cfg.LedgerDir)), Host: "host1"}).Files())
	if e := lines[len(lines)-2].Error; !strings.Contains(e, "pager down") {
		t.Errorf("notify error %q, want the command's stderr", e)
	}
}

// A restart that is only recorded, a RESTART_CMD that fails and hotchain restarted are in
// the history.
func TestRestartHistory(t *testing.T) {
	h := newAgentHost(t)
	h.environ = append(h.environ, "SUDO_USER=alice")
	restartTxt(h, 1, "product\n")
	o := h.options(agent.ModeConsole)
	o.BootID = bootOf("boot-1")
	h.run(o)
	h.cliAt("boot-1", "restarted")
	h.write("etc/sysconfig/shop-hotfix", agentSettings+restartCmd(h, 3)+"\n")
	h.load()
	restartTxt(h, 4, "services shop-web\n")
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	o = h.options(agent.ModeConsole)
	o.BootID = bootOf("boot-1")
	h.run(o)
	var got []string
	lines, _, _ := history.Read((&history.Log{Dir: history.Dir(h.cfg.InRoot(h.cfg.LedgerDir)), Host: "host1"}).Files())
	for _, l := range lines {
		if strings.HasPrefix(l.Event.Event, "restart") {
			got = append(got, l.Event.Event+" "+l.Outcome+": "+l.Detail)
		}
	}
	want := []string{
		"restart-required skipped: product restart required (6.14.2.1)",
		"restarted success: product restart required (6.14.2.1)",
		"restart failure: services shop-web",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
