package packaging

import (
	"fmt"
	"os"
	"path/filepath"
)

// output is one file a build writes.
type output struct {
	path string
	data []byte
	perm os.FileMode
}

// writeOutputs writes every output to a temporary file in dir (created if missing), syncs
// them, and only then renames them into place, so a build that fails leaves no file half
// written and, short of a failing rename, no output without its companions. Temporary files
// are removed on failure.
func writeOutputs(dir string, outs []output) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	var temps []string
	defer func() {
		for _, t := range temps {
			if t != "" {
				os.Remove(t)
			}
		}
	}()
	for _, o := range outs {
		t, err := writeTemp(dir, o.data, o.perm)
		if err != nil {
			return fmt.Errorf("write %s: %w", o.path, err)
		}
		temps = append(temps, t)
	}
	for i, o := range outs {
		if err := os.Rename(temps[i], o.path); err != nil {
			return fmt.Errorf("write %s: %w", o.path, err)
		}
		temps[i] = ""
	}
	return syncDir(dir)
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
	if err = f.Chmod(perm); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
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
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
