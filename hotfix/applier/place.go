package applier

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/ordered"
)

// place lays every entry of the hotfix over its target: first the directories it adds, in
// path order (a parent before its children), then its files and symlinks, several at a
// time (inOrder); then it carries out the hotfix's removals (removeEntries). The order
// matters for nothing else: an interrupted apply does the whole state again.
func (h *Host) place(d *hotfix.Dir, j *journal.Journal, out io.Writer) (err error) {
	roots, err := plan.TreeRoots(h.Cfg)
	if err != nil {
		return err
	}
	// One write per line would be 10,000 writes to the log and the console for a hotfix of
	// 10,000 files; 8 KiB at a time is a hundred lines, which is all an apply killed meanwhile
	// can leave out of its log (the next apply does the state again, and says so).
	bw := bufio.NewWriterSize(out, 8<<10)
	defer func() {
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
	}()
	// The tree may have changed since the plan (a resumed apply): check again.
	inside := func(o journal.Op) error {
		tr := roots[o.Tree]
		if err := plan.CheckInside(tr.Base, tr.Real, h.Cfg.InRoot(o.Target), o.Kind == journal.KindDir); err != nil {
			return fmt.Errorf("%s/%s: %w", o.Tree, o.Rel, err)
		}
		return nil
	}
	var entries []journal.Op
	for _, o := range j.Ops {
		full := h.Cfg.InRoot(o.Target)
		switch {
		case o.Remove:
			// removeEntries, once everything is placed.
		case o.Kind == journal.KindDir && o.Existed == "":
			if err := inside(o); err != nil {
				return err
			}
			if err := os.Mkdir(full, o.Mode.Perm()); err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("create directory %s: %w", full, err)
			}
			if fi, err := os.Lstat(full); err != nil || !fi.IsDir() {
				return fmt.Errorf("create directory %s: something else is there now (%v)", full, err)
			}
			if err := os.Chmod(full, o.Mode); err != nil {
				return err
			}
			if uid, gid, ok := fileops.OwnerOf(filepath.Dir(full)); ok && os.Geteuid() == 0 {
				if err := os.Lchown(full, uid, gid); err != nil {
					return err
				}
			}
			fmt.Fprintf(bw, "    mkdir   %s\n", hotfix.ShownName(o.Target))
			h.step("place " + o.Target)
		case o.Kind == journal.KindDir:
			if err := inside(o); err != nil {
				return err
			}
		default:
			entries = append(entries, o)
		}
	}
	// For a file or symlink, plan.CheckInside looks at the directories on the way (the entry
	// itself may be a symlink): the same for every entry of a directory, so each directory
	// is checked once, as plan.CheckInside of the directory itself would.
	checked := map[string]bool{}
	for _, o := range entries {
		tr := roots[o.Tree]
		dir := filepath.Dir(h.Cfg.InRoot(o.Target))
		if checked[dir] || dir == tr.Base {
			continue
		}
		if err := plan.CheckInside(tr.Base, tr.Real, dir, true); err != nil {
			return fmt.Errorf("%s/%s: %w", o.Tree, o.Rel, err)
		}
		checked[dir] = true
	}
	err = inOrder(len(entries), func(i int) error {
		o := entries[i]
		return place(o.In(d.Path), h.Cfg.InRoot(o.Target), o)
	}, func(i int) {
		o := entries[i]
		verb := "replace"
		if o.Existed == "" {
			verb = "add    "
		}
		fmt.Fprintf(bw, "    %s %s\n", verb, hotfix.ShownName(o.Target))
		h.step("place " + o.Target)
	})
	if err != nil {
		return err
	}
	return h.removeEntries(d, j, roots, bw)
}

// fileWorkers is how many entries backup and place work on at once. The work is system
// calls (create, copy, link, rename, set owner, mode and time) that the kernel runs on
// every core; more workers than cores only contend in the file system (on two cores,
// 10,000 files: one worker 4.1 s, two 3.6 s, four 3.8 s; see bench/RESULTS.md).
var fileWorkers = min(max(runtime.GOMAXPROCS(0), 2), 8)

// inOrder runs do(i) for i in [0, n) on fileWorkers goroutines and calls done(i) in order
// of i (ordered.InOrder), so that the steps an apply reports (StepHook, the log) come in a
// fixed order.
func inOrder(n int, do func(i int) error, done func(i int)) error {
	return ordered.InOrder(n, fileWorkers, do, done)
}

// place puts the hotfix entry src at target: written beside it under a fixed temporary name,
// then renamed over it. A crash leaves the old entry or the new one, plus at most the
// temporary, which recovery removes.
func place(src, target string, o journal.Op) error {
	if o.Kind == journal.KindFile {
		return fileops.PlaceFile(src, target, o.Mode)
	}
	return fileops.PlaceEntry(src, target)
}
