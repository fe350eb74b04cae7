package daemon

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/cli"
	"golang.org/x/sys/unix"
)

// watchDrop is -daemon's eye on DROP_DIR: inotify tells it when a file there that may be
// the product's archive or signature was written and closed (IN_CLOSE_WRITE) or renamed
// into it (IN_MOVED_TO, how rsync and most transfer tools finish), and it looks at the
// folder then, at start (what came while it was down),
// and when a file it saw settling may have settled. Only when the complete pairs differ from those the last run left (drop.Watcher),
// and at most once a drop.RunGap (a minute), does it start a run, which takes the folder alone (dropOnly) under the usual locks; runMu keeps
// it from overlapping the scheduled run. A run that finds another run holding the lock is
// tried again a minute later. A folder that goes away (removed, renamed) is watched again
// once it is back. What waits for something else (INSTALL_WINDOW, the alpha, LOCK_SUBSYS)
// is taken by the scheduled run, or after the next drop.
func watchDrop(ctx context.Context, o agent.Options, runMu *sync.Mutex) error {
	cfg := o.Config
	dir := cfg.InRoot(cfg.DropDir)
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("watch DROP_DIR %s: inotify: %w", cfg.DropDir, err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: reads go through the runtime's poller
	defer f.Close()
	// The folder itself going (removed, renamed: IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED)
	// ends the watch: it is set again on the path every dropRewatch until it works.
	add := func() (int32, error) {
		wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW)
		return int32(wd), err
	}
	wd, err := add()
	if err != nil {
		return cli.WithHint(fmt.Errorf("watch DROP_DIR %s: %w", dir, err), "create the drop folder (mkdir "+cfg.DropDir+") and start the daemon again")
	}
	changed, lost := make(chan struct{}, 1), make(chan int32, 16)
	go drop.ReadInotify(f, cfg.Product, changed, lost)

	o.DropOnly, o.NoSettleWait = true, true
	var watcher drop.Watcher
	timer := time.NewTimer(0) // a first look: what came while the daemon was down
	defer timer.Stop()
	var rewatch <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-changed:
			if !ok {
				return nil
			}
			timer.Reset(0)
			continue
		case w := <-lost:
			if w == wd && rewatch == nil {
				_, _ = unix.InotifyRmWatch(fd, uint32(wd))
				fmt.Fprintf(o.Stderr, "hotchain: agent -daemon: the drop folder %s is gone; it is watched again once it is back\n", cfg.DropDir)
				rewatch = time.After(dropRewatch)
			}
			continue
		case <-rewatch:
			if wd, err = add(); err != nil {
				rewatch = time.After(dropRewatch)
				continue
			}
			rewatch = nil
			fmt.Fprintf(o.Stdout, "hotchain agent -daemon: watches DROP_DIR %s again\n", cfg.DropDir)
			timer.Reset(0)
			continue
		case <-timer.C:
		}
		complete, next := drop.Look(dir, cfg.Product)
		start := time.Now()
		run, wait := watcher.Decide(complete, start)
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
		if run {
			runMu.Lock()
			err := agent.Run(ctx, o)
			runMu.Unlock()
			if ctx.Err() != nil {
				return nil
			}
			left, n := drop.Look(dir, cfg.Product)
			if code := o.Report(o.Stderr, err); code == cli.ExitLocked {
				next, left = time.Minute, ""
			} else if code != 0 {
				fmt.Fprintf(o.Stderr, "hotchain: the drop folder's run ended with exit status %d\n", code)
			}
			watcher.Ran(start, left)
			if n > 0 && (next == 0 || n < next) {
				next = n
			}
		}
		if next > 0 {
			timer.Reset(next + 100*time.Millisecond)
		}
	}
}

// dropRewatch is how often -daemon tries to watch a drop folder again that went away.
var dropRewatch = 5 * time.Second
