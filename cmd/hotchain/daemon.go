package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// runDaemon is `agent -daemon`, for hosts without crond: it runs the nightly run on
// SCHEDULE until SIGTERM (ctx ends). A run in progress then finishes its install (the run
// stops its random wait but never interrupts dnf) and no new run starts. Runs never
// overlap: a run still going when the schedule fires again makes the schedule skip.
// With DROP_DIR it also watches the drop folder (watchDrop) and takes a pair as soon as it
// is complete.
func runDaemon(ctx context.Context, o agentOptions) error {
	cfg := o.cfg
	sched, err := cron.ParseStandard(cfg.Schedule)
	if err != nil {
		// sysconfig checked it already; this is the same parser.
		return fmt.Errorf("SCHEDULE=%q in %s is not a cron expression: %v", cfg.Schedule, cfg.File, err)
	}
	o.mode, o.by = modeCron, "daemon"
	o.fillDefaults()
	var runMu sync.Mutex // the scheduled run and the drop folder's runs take turns
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	c.Schedule(sched, cron.FuncJob(func() {
		if ctx.Err() != nil {
			return
		}
		runMu.Lock()
		err := runAgentWithDrop(ctx, o)
		runMu.Unlock()
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // stopped in its random wait: nothing to tell
		}
		if code := report(o.stderr, err); code != 0 {
			fmt.Fprintf(o.stderr, "hotchain: the scheduled run ended with exit status %d\n", code)
		}
	}))
	fmt.Fprintf(o.stdout, "hotchain agent -daemon: runs on SCHEDULE %q, next at %s\n", cfg.Schedule, sched.Next(time.Now()).Format(time.DateTime))
	c.Start()
	var watchErr error
	watchDone := make(chan struct{})
	if cfg.DropDir != "" {
		fmt.Fprintf(o.stdout, "hotchain agent -daemon: watches DROP_DIR %s\n", cfg.DropDir)
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
			report(o.stderr, fmt.Errorf("agent -daemon does not watch the drop folder: %w", watchErr))
		}
		<-ctx.Done()
	}
	fmt.Fprintln(o.stdout, "hotchain agent -daemon: stopping, a run in progress finishes first")
	<-c.Stop().Done()
	<-watchDone // a drop run in progress finishes too
	fmt.Fprintln(o.stdout, "hotchain agent -daemon: stopped")
	return nil
}
