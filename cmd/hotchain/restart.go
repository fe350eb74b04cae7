package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/hoststatus"
	"github.com/hotchain/hotchain/sysconfig"
)

// restartAfterApply is hotchain apply's part: record what the hotfix at dir asks to restart
// and run RESTART_CMD for it, but not from an RPM's %post (scriptlet): rpm's transaction is
// no place to restart the product, so it is only recorded there.
func restartAfterApply(ctx context.Context, e *cli.Env, cfg *sysconfig.Config, dir string, scriptlet bool) error {
	c := *cfg
	if scriptlet {
		c.RestartCmd = ""
	}
	rs := hoststate.Restarter{Config: &c, Environ: e.Environ, Out: e.Stdout, BootID: func() (string, error) { return hoststatus.RunningBoot(e) }, Now: time.Now, History: hoststate.NewHistory(cfg, e.Environ, e.Stderr, "")}
	s, err := rs.After(ctx, []string{dir})
	if err != nil {
		return err
	}
	if s != nil {
		fmt.Fprintf(e.Stderr, "hotchain: %s (%s)\nhint: do it, then run hotchain restarted\n", s.What(), strings.Join(s.Hotfixes, " "))
	}
	return nil
}

func runRestarted(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "restarted", "", `Says that the restart or reboot that applied hotfixes asked for (their restart.txt) is done:
clears what hotchain status shows as required and what makes agent -check exit 7. A reboot
clears a requirement by itself.`)
	settings := loadSettings(e, fs)
	cfg, err := parseSettingsOnly(fs, args, settings)
	if err != nil {
		return err
	}
	boot, err := hoststatus.RunningBoot(e)
	if err != nil {
		return err
	}
	s, err := hoststate.ReadRestart(cfg, boot)
	if err != nil {
		e.Warnf("%v", err) // a damaged record is cleared all the same
	}
	if err := hoststate.WriteRestart(cfg, nil); err != nil {
		return err
	}
	if s == nil {
		fmt.Fprintln(e.Stdout, "no restart was required")
	} else {
		hoststate.NewHistory(cfg, e.Environ, e.Stderr, "").Record(history.Event{Event: history.Restarted, Detail: s.What() + " (" + strings.Join(s.Hotfixes, " ") + ")"}, time.Time{}, nil)
		fmt.Fprintf(e.Stdout, "cleared: %s (%s)\n", s.What(), strings.Join(s.Hotfixes, " "))
	}
	return afterChange(e, cfg, nil) // metrics.go (METRICS_FILE)
}
