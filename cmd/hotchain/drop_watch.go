package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// watchDrop is -daemon's eye on DROP_DIR: inotify tells it when a file there was written
// and closed (IN_CLOSE_WRITE) or renamed into it (IN_MOVED_TO, how rsync and most transfer
// tools finish), and it looks at the folder then, at start (what came while it was down),
// and when a file it saw settling may have settled. Only when a pair is complete does it
// start a run, which takes the folder alone (dropOnly) under the usual locks; runMu keeps
// it from overlapping the scheduled run. A run that finds another run holding the lock is
// tried again a minute later. What waits for something else (INSTALL_WINDOW, the alpha, a
// bundle this hotchain cannot import) is taken by the scheduled run, or the next drop.
func watchDrop(ctx context.Context, o agentOptions, runMu *sync.Mutex) error {
	cfg := o.cfg
	dir := cfg.InRoot(cfg.DropDir)
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("watch DROP_DIR %s: inotify: %w", cfg.DropDir, err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: reads go through the runtime's poller
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		f.Close()
		return withHint(fmt.Errorf("watch DROP_DIR %s: %w", dir, err), "create the drop folder (mkdir "+cfg.DropDir+") and start the daemon again")
	}
	events := make(chan struct{}, 1)
	go func() {
		defer close(events)
		buf := make([]byte, 64<<10)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			select {
			case events <- struct{}{}:
			default:
			}
		}
	}()
	defer f.Close()

	o.dropOnly, o.noSettleWait = true, true
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				return nil
			}
			timer.Reset(0)
			continue
		case <-timer.C:
		}
		complete, next := lookAtDrop(dir, cfg.Product)
		if complete {
			runMu.Lock()
			err := runAgentWithDrop(ctx, o)
			runMu.Unlock()
			if ctx.Err() != nil {
				return nil
			}
			if code := report(o.stderr, err); code == exitLocked {
				next = time.Minute
			} else if code != 0 {
				fmt.Fprintf(o.stderr, "hotchain: the drop folder's run ended with exit status %d\n", code)
			}
			if _, n := lookAtDrop(dir, cfg.Product); n > 0 && (next == 0 || n < next) {
				next = n
			}
		}
		if next > 0 {
			timer.Reset(next + 100*time.Millisecond)
		}
	}
}

// lookAtDrop reports whether DROP_DIR holds a pair that a run would act on now, and how
// long until a file that is settling there may have settled (0: none is). It takes no lock
// and writes nothing.
func lookAtDrop(dir, product string) (complete bool, next time.Duration) {
	pairs, err := scanDrop(dir, product)
	if err != nil {
		return false, 0
	}
	now := time.Now()
	for _, p := range pairs {
		why, _, wait := pairState(dir, p, now)
		if why == "" {
			complete = true
		}
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	return complete, next
}
