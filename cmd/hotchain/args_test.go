package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCommandsRefuseExtraWords: every command refuses words it does not take with a usage
// error (exit 2), before it reads settings or touches anything.
func TestCommandsRefuseExtraWords(t *testing.T) {
	extra := map[string][]string{
		"build":    {"dir1", "dir2"},
		"apply":    {"dir1", "dir2"},
		"prereq":   {"6.14.2.1", "6.14.2.2"},
		"finalize": {"6.14.2.1", "6.14.2.2"},
		"rollback": {"6.14.2.1", "6.14.2.2"},
		"repo":     {"dir1", "dir2"},
		"import":   {"f1", "f2"},
		"service":  {"status", "extra"},
	}
	for _, c := range commands() {
		if c.name == "hold" { // hold -- CMD ARGS: every word after the flags is the command
			continue
		}
		args, ok := extra[c.name]
		if !ok {
			args = []string{"extra"}
		}
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
				environ: []string{"HOTCHAIN_CONFIG=/nonexistent/settings"}}
			err := run(context.Background(), e, append([]string{c.name}, args...))
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("hotchain %s %s: got %v, want a usage error", c.name, strings.Join(args, " "), err)
			}
			if code := report(&stderr, err); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed %q", stdout.String())
			}
		})
	}
}

// TestLastRunWhat: status's "last run:" line always says something after the colon.
func TestLastRunWhat(t *testing.T) {
	for _, tc := range []struct {
		l    lastRun
		want string
	}{
		{lastRun{Mode: "check", Outcome: "success"}, "nothing to do"},
		{lastRun{Summary: "3 hotfixes installed"}, "3 hotfixes installed"},
		{lastRun{Error: "dnf: exit 1"}, "dnf: exit 1"},
		{lastRun{Summary: "1 hotfix installed", Error: "hotfix 6.14.2.2 is not applied"}, "1 hotfix installed; hotfix 6.14.2.2 is not applied"},
	} {
		if got := tc.l.what(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.l, got, tc.want)
		}
	}
}
