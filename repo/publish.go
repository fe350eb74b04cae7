package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hotchain/hotchain/internal/atomicfile"
)

// publish puts files into dir: the metadata files into dir/repodata, the others beside
// it. tmp is a temporary directory in dir (dir/.repodata.tmp-*) that already holds the
// compressed metadata; the metadata files are written and synced there too; then the .repo
// file and key are renamed into place and tmp takes the old repodata's place. A failure
// before that last step leaves the old metadata untouched. The caller removes tmp, which
// then holds the old metadata or no longer exists.
func publish(dir, tmp string, files []outFile, mtime time.Time) error {
	var beside []outFile
	for _, f := range files {
		if !f.meta {
			beside = append(beside, f)
			continue
		}
		if err := writeSynced(filepath.Join(tmp, f.name), f.data, 0o644, mtime); err != nil {
			return fmt.Errorf("write metadata: %w", err)
		}
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	for _, f := range beside {
		path := filepath.Join(dir, f.name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.data) {
			continue // unchanged: keep its mtime, for mirrors and caches
		}
		if err := atomicfile.Update(path, f.data, 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}

	repodata := filepath.Join(dir, "repodata")
	if _, err := os.Lstat(repodata); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, repodata); err != nil {
			return fmt.Errorf("write metadata: %w", err)
		}
		return atomicfile.SyncDir(dir)
	}
	if err := exchange(tmp, repodata); err != nil {
		return fmt.Errorf("replace %s: %w", repodata, err)
	}
	return atomicfile.SyncDir(dir)
}

// exchangeByRenames swaps two directories with two renames, for file systems without an
// atomic exchange: for a moment there is no repodata, and a client then gets a 404 and
// tries again, never a mix of old and new files.
func exchangeByRenames(newDir, cur string) error {
	aside := newDir + ".old"
	if err := os.Rename(cur, aside); err != nil {
		return err
	}
	if err := os.Rename(newDir, cur); err != nil {
		if rerr := os.Rename(aside, cur); rerr != nil {
			return fmt.Errorf("%w (and moving the old metadata back from %s failed: %v)", err, aside, rerr)
		}
		return err
	}
	return os.Rename(aside, newDir)
}

// writeSynced writes a new file and syncs it, with the given mtime.
func writeSynced(path string, data []byte, mode os.FileMode, mtime time.Time) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chtimes(path, mtime, mtime)
}
