package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/notify"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
)

// The host's history (internal/history): what writes it, and `hotchain history`.

func runHistory(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "history", "[-json] [-host H|-all] [-since DATE] [-version V]", `Prints the history of this host (or of host H, or of every host of the installation): one
line per agent run and per change (install, apply, health check, rollback, recovery,
finalize, service stop and start, hold), from LEDGER_DIR/history/HOST.jsonl and its rotated
generations, oldest first. -json prints the lines as they are stored (schema
hotchain.history/1, see the README). A torn last line (a host that lost power while it
wrote) is skipped with a warning.`)
	asJSON := fs.Bool("json", false, "print the stored JSON lines")
	host := fs.String("host", "", "the host whose history to print (default: this host)")
	all := fs.Bool("all", false, "print the history of every host, merged by time")
	since := fs.String("since", "", "only events at or after DATE (2006-01-02, or RFC 3339 2006-01-02T15:04:05Z)")
	version := fs.String("version", "", "only events of hotfix V")
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.UsageError{Err: fmt.Errorf("history takes no arguments, got %q", fs.Args())}
	}
	if *all && *host != "" {
		return cli.UsageError{Err: errors.New("-host and -all exclude each other")}
	}
	var from time.Time
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return cli.WithHint(cli.UsageError{Err: err}, "give -since a date (2026-11-26) or a time (2026-11-26T10:00:00Z)")
		}
		from = t
	}
	if *version != "" {
		v, err := hotfix.ParseHotfixVersion(*version)
		if err != nil {
			return cli.UsageError{Err: fmt.Errorf("-version: %w", err)}
		}
		*version = v.String()
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	dir := history.Dir(cfg.InRoot(cfg.LedgerDir))
	hosts := []string{cfg.Hostname}
	switch {
	case *all:
		if hosts, err = history.Hosts(dir); err != nil {
			return err
		}
	case *host != "":
		if strings.ContainsAny(*host, "/\x00") || *host == "." || *host == ".." {
			return cli.UsageError{Err: fmt.Errorf("-host %q is not a host name", *host)}
		}
		hosts = []string{*host}
	}
	var lines []history.Line
	for _, h := range hosts {
		l := &history.Log{Dir: dir, Host: h}
		ls, warnings, err := history.Read(l.Files())
		for _, w := range warnings {
			e.Warnf("%s", w)
		}
		if err != nil {
			return err
		}
		lines = append(lines, ls...)
	}
	if len(hosts) > 1 {
		history.Merge(lines)
	}
	var shown []history.Line
	for _, l := range lines {
		if (!from.IsZero() && l.Time.Before(from)) || (*version != "" && l.Version != *version) {
			continue
		}
		shown = append(shown, l)
	}
	if *asJSON {
		for _, l := range shown {
			e.Stdout.Write(append(l.Raw, '\n'))
		}
		return nil
	}
	return printHistory(e.Stdout, shown)
}

// parseSince reads -since: a date (midnight UTC) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-since %q is neither a date (2006-01-02) nor an RFC 3339 time", s)
	}
	return t, nil
}

// printHistory prints one aligned line per event: time, host, event, version, outcome,
// duration, who, and the detail and error.
func printHistory(w io.Writer, lines []history.Line) error {
	if len(lines) == 0 {
		return nil
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tHOST\tEVENT\tVERSION\tOUTCOME\tDURATION\tBY\tDETAIL")
	for _, l := range lines {
		what := l.Event.Event
		if l.Mode != "" {
			what += " (" + l.Mode + ")"
		}
		v := l.Version
		if v == "" {
			v = "-"
		}
		text := l.Detail
		if l.Error != "" {
			if text != "" {
				text += ": "
			}
			text += l.Error
		}
		dur := "-"
		if l.Event.Event != history.RunStart && l.Event.Event != history.HoldStart {
			dur = (time.Duration(l.DurationMS) * time.Millisecond).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Time.UTC().Format(time.RFC3339), l.Host, what, v, l.Outcome, dur, l.By, notify.OneLine(text))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
				return err
			}
		}
	}
	return nil
}
