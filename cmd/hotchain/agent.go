package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/agent/daemon"
	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/sysconfig"
)

// The agent's command line: `hotchain agent` keeps the flags of the original cron script
// (/etc/cron.daily/PRODUCT-hotfix is `exec hotchain agent -config FILE "$@"`). The run itself
// is package internal/agent (Run, Daemon).

const agentExitStatus = `
Exit status:
  0    done, or nothing to do (also: not a day in DAYS_OF_WEEK, nightly runs disabled)
  100  -check: hotfixes are pending
       and some may be installed now (not all held back by the vendor's rollout policy)
  1    error (repository unreachable, dnf failed, an install left the chain incomplete,
       a file in DROP_DIR refused or left for the next run, ...)
  2    usage error
  3    another run holds the lock
  4    the run itself worked but its report could not be mailed, or its notification delivered
  5    a hotfix failed its health check (HEALTH_CMD, its Check/ scripts) and was rolled back
  6    a hotfix that the vendor withdrew is applied on this host (see AUTO_ROLLBACK); it
       wins over 7 and 100
  7    -check: a restart or reboot that an applied hotfix asked for (restart.txt) is not
       done yet (RESTART_CMD is not set or failed; hotchain restarted says it is done);
       wins over 100
`

func runAgent(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "agent", "[-check|-download|-console|-daemon]", "")
	check := fs.Bool("check", false, "list the pending hotfixes (exit 100 when there are some); install nothing")
	download := fs.Bool("download", false, "download the pending hotfixes into the package manager's cache; install nothing")
	console := fs.Bool("console", false, "install the pending hotfixes now, with the output on the console: no random wait, no DAYS_OF_WEEK, no INSTALL_WINDOW")
	asDaemon := fs.Bool("daemon", false, "stay up and run the nightly run on SCHEDULE (for hosts without crond)")
	plans := fs.Bool("v", false, "with -check: also list, per pending hotfix, what its apply would do (as apply -dry-run), writing nothing")
	verbose := fs.Bool("verbose", false, "also say on standard error when syslog cannot be written")
	help := fs.Bool("help", false, "show this help")
	fs.BoolVar(help, "h", false, "show this help")
	settings := loadSettings(e, fs)
	fs.Usage = func() { agentUsage(fs.Output(), e, fs) }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *help {
		agentUsage(e.Stdout, e, fs)
		return nil
	}
	if err := noArgs(fs, "flags come first; see hotchain agent -help"); err != nil {
		return err
	}
	mode, n := agent.ModeCron, 0
	for _, m := range []struct {
		on   bool
		mode agent.Mode
	}{{*check, agent.ModeCheck}, {*download, agent.ModeDownload}, {*console, agent.ModeConsole}, {*asDaemon, agent.ModeCron}} {
		if m.on {
			mode, n = m.mode, n+1
		}
	}
	if n > 1 {
		return cli.WithHint(cli.UsageError{Err: errors.New("-check, -download, -console and -daemon exclude each other")}, "give one of them, or none for the nightly run")
	}
	if *plans && mode != agent.ModeCheck {
		return cli.WithHint(cli.UsageError{Err: errors.New("-v goes with -check")}, "hotchain agent -check -v lists what each pending hotfix's apply would do")
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	if v := cli.LookupEnv(e.Environ, drop.SettleEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return cli.UsageError{Err: fmt.Errorf("%s=%q: %v", drop.SettleEnv, v, err)}
		}
		drop.Settle = d
	}
	o := agent.Options{Config: cfg, Mode: mode, Verbose: *verbose, Plans: *plans, Stdout: e.Stdout, Stderr: e.Stderr, Environ: e.Environ, Report: report}
	if *asDaemon {
		return daemon.Run(ctx, o)
	}
	return agent.Run(ctx, o)
}

// agentUsage is the original script's help, with where the settings come from and the exit
// status.
func agentUsage(w io.Writer, e *cli.Env, fs *flag.FlagSet) {
	conf := fs.Lookup("config").Value.String()
	if conf == "" {
		if p, err := sysconfig.Locate(fs.Lookup("root").Value.String(), e.Environ); err == nil {
			conf = p
		} else {
			conf = "/etc/sysconfig/PRODUCT-hotfix"
		}
	}
	fmt.Fprintf(w, `Check if new hotfixes are available:
  hotchain agent -check
If new hotfixes are available, download them (do not install):
  hotchain agent -download
Install new hotfixes and show the output on the console:
  hotchain agent -console
Install new hotfixes silently, send an e-mail (used by the cron job):
  hotchain agent
Stay up and do what the cron job does on SCHEDULE (for hosts without crond):
  hotchain agent -daemon
The agent gets configuration values from (see there):
  %s
/etc/cron.daily/PRODUCT-hotfix runs hotchain agent with this file and passes its flags on.

Settings come from -config FILE, else $HOTCHAIN_CONFIG, else the one /etc/sysconfig/*-hotfix
file that sets PRODUCT; an environment variable named like a setting overrides it (but
HOSTNAME and MAILTO, which shells and crond set for their own ends). With
-root DIR the file and every path in it are taken inside DIR, and dnf, yum and rpm get
--installroot DIR.

The nightly run acts only on the days of DAYS_OF_WEEK and while nightly runs are enabled
(hotchain service start|stop), waits 1 to RANDOMWAIT minutes, then checks, downloads or
installs as CHECK_ONLY and DOWNLOAD_ONLY say. An install starts only inside INSTALL_WINDOW
(checked when the run gets to it, after the waits), and a hotfix installs only once it was
published MIN_AGE_DAYS ago (not on CANARY=yes hosts); -check lists what they hold back and
when it is due. The run is quiet unless it did something, failed or found the window
closed; then its report goes to MAILTO, or to standard output for crond to mail.

With DROP_DIR set, the nightly run and -console also take the signed tarballs (and
bundles) copied into that folder, each once it and its .sig are complete, and move them to
done/ or refused/ (with a .reason file); -daemon takes them as soon as they are complete.

Flags:
`, conf)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
	fmt.Fprint(w, agentExitStatus)
}
