package repo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// A repo run writes its new metadata into DIR/.repodata.tmp-<digits> (os.MkdirTemp) and
// swaps it with DIR/repodata in one rename (publish), so a run killed at any moment leaves
// either the old or the new metadata, complete and signed, in repodata/, and its temporary
// directory behind. The next run removes such directories, and only them: it holds
// DIR/.repodata.lock (flock) while it runs, so it never takes a running one's directory
// for debris; a second run on one directory waits for the first.

// lockName is the lock file in the repository directory: hidden, so neither listed nor
// served.
const lockName = ".repodata.lock"

// tmpPrefix starts the name of a run's temporary directory (tmp-<digits>) and of the old
// metadata it moves aside on file systems without an atomic exchange (tmp-<digits>.old).
const tmpPrefix = ".repodata.tmp-"

// lockRepo takes the repository's lock, waiting while another run holds it, and removes
// what killed runs left. The caller unlocks.
func lockRepo(ctx context.Context, dir string, log io.Writer) (*flock.Flock, error) {
	fl := flock.New(filepath.Join(dir, lockName), flock.SetPermissions(0o644))
	ok, err := fl.TryLock()
	if err == nil && !ok {
		fmt.Fprintf(log, "waiting for another hotchain repo run on %s (it holds %s)\n", dir, fl.Path())
		ok, err = fl.TryLockContext(ctx, 100*time.Millisecond)
	}
	if err != nil || !ok {
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %w", fl.Path(), err)
	}
	if err := removeDebris(dir, log); err != nil {
		fl.Unlock()
		return nil, err
	}
	return fl, nil
}

// isDebrisName reports whether name is that of a run's temporary directory.
func isDebrisName(name string) bool {
	rest, ok := strings.CutPrefix(name, tmpPrefix)
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, ".old")
	if rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeDebris removes the temporary directories of killed runs from dir.
func removeDebris(dir string, log io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("repository directory: %w", err)
	}
	for _, e := range entries {
		// A directory of ours, not a symlink or file that happens to have the name.
		if !isDebrisName(e.Name()) || e.Type() != os.ModeDir {
			continue
		}
		path := filepath.Join(dir, e.Name())
		repodata := filepath.Join(dir, "repodata")
		if _, err := os.Lstat(repodata); os.IsNotExist(err) && strings.HasSuffix(e.Name(), ".old") {
			// Killed between the two renames of exchangeByRenames: this is the old
			// metadata, complete, and nothing took its place yet.
			if err := os.Rename(path, repodata); err != nil {
				return fmt.Errorf("restore %s from %s, left by an interrupted run: %w", repodata, path, err)
			}
			fmt.Fprintf(log, "restored %s from %s, left by an interrupted run\n", repodata, path)
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("remove %s, left by an interrupted run: %w", path, err)
		}
		fmt.Fprintf(log, "removed %s, left by an interrupted run\n", path)
	}
	return nil
}
