package packaging

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hotchain/hotchain/internal/atomicfile"
)

// output is one file a build writes: a complete, synced temporary file in the output
// directory (made by writeTemp or finishTemp) and the path it takes once every output of
// the build is complete.
type output struct {
	path string
	temp string
}

// publishOutputs renames every temporary file into place, then syncs dir, so a build that
// fails leaves no file half written and, short of a failing rename, no output without its
// companions. Temporary files not renamed are removed.
func publishOutputs(dir string, outs []output) error {
	defer func() {
		for _, o := range outs {
			if o.temp != "" {
				os.Remove(o.temp)
			}
		}
	}()
	for i, o := range outs {
		if err := os.Rename(o.temp, o.path); err != nil {
			return fmt.Errorf("write %s: %w", o.path, err)
		}
		outs[i].temp = ""
	}
	return atomicfile.SyncDir(dir)
}

// removeTemps removes the temporary files of a build that failed.
func removeTemps(outs []output) {
	for _, o := range outs {
		if o.temp != "" {
			os.Remove(o.temp)
		}
	}
}

// finishTemp gives a temporary file written by a build its mode, syncs and closes it.
func finishTemp(f *os.File, perm os.FileMode) error {
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// writeTemp writes data to a new temporary file in dir, synced, and returns its name.
func writeTemp(dir string, data []byte, perm os.FileMode) (name string, err error) {
	f, err := os.CreateTemp(dir, ".hotchain-tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return "", err
	}
	if err = finishTemp(f, perm); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// writeNew writes data to path atomically, and fails if path exists: keys are never
// overwritten.
func writeNew(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	t, err := writeTemp(dir, data, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(t)
	// A hard link, unlike a rename, refuses to replace an existing file.
	if err := os.Link(t, path); err != nil {
		if os.IsExist(err) {
			return fmt.Errorf("%s already exists: choose another name, or move the old file away first", path)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.SyncDir(dir)
}
