// Package daemon is `hotchain agent -daemon`, for hosts without crond: it runs the agent's
// nightly run (internal/agent's Run) on SCHEDULE and, with DROP_DIR, watches the drop folder
// with inotify and starts a run as soon as a pair in it is complete. It only schedules: what
// a run does is the agent's, and how an error is printed and which status it has is the
// command line's (Options.Report). Runs never overlap.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/robfig/cron/v3"
)

// Run is `agent -daemon`, for hosts without crond: it runs the nightly run on
// SCHEDULE until SIGTERM (ctx ends). A run in progress then finishes its install (the run
// stops its random wait but never interrupts dnf) and no new run starts. Runs never
// overlap: a run still going when the schedule fires again makes the schedule skip.
// With DROP_DIR it also watches the drop folder (watchDrop) and takes a pair as soon as it
// is complete.
func Run(ctx context.Context, o agent.Options) error {
	cfg := o.Config
	sched, err := cron.ParseStandard(cfg.Schedule)
	if err != nil {
		// sysconfig checked it already; this is the same parser.
		return fmt.Errorf("SCHEDULE=%q in %s is not a cron expression: %v", cfg.Schedule, cfg.File, err)
	}
	o.Mode, o.By = agent.ModeCron, "daemon"
	o.FillDefaults()
	var runMu sync.Mutex // the scheduled run and the drop folder's runs take turns
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	c.Schedule(sched, cron.FuncJob(func() {
		if ctx.Err() != nil {
			return
		}
		runMu.Lock()
		err := agent.Run(ctx, o)
		runMu.Unlock()
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // stopped in its random wait: nothing to tell
		}
		if code := o.Report(o.Stderr, err); code != 0 {
			fmt.Fprintf(o.Stderr, "hotchain: the scheduled run ended with exit status %d\n", code)
		}
	}))
	fmt.Fprintf(o.Stdout, "hotchain agent -daemon: runs on SCHEDULE %q, next at %s\n", cfg.Schedule, sched.Next(time.Now()).Format(time.DateTime))
	c.Start()
	var watchErr error
	watchDone := make(chan struct{})
	if cfg.DropDir != "" {
		fmt.Fprintf(o.Stdout, "hotchain agent -daemon: watches DROP_DIR %s\n", cfg.DropDir)
		go func() { defer close(watchDone); watchErr = watchDrop(ctx, o, &runMu) }()
	} else {
		close(watchDone)
	}
	select {
	case <-ctx.Done():
	case <-watchDone:
		// The scheduled runs go on (and report DROP_DIR's trouble every night): a drop
		// folder that cannot be watched must not stop the nightly runs.
		if watchErr != nil {
			o.Report(o.Stderr, fmt.Errorf("agent -daemon does not watch the drop folder: %w", watchErr))
		}
		<-ctx.Done()
	}
	fmt.Fprintln(o.Stdout, "hotchain agent -daemon: stopping, a run in progress finishes first")
	<-c.Stop().Done()
	<-watchDone // a drop run in progress finishes too
	fmt.Fprintln(o.Stdout, "hotchain agent -daemon: stopped")
	return nil
}
