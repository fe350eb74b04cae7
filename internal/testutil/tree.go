package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TreeEntry is what tests compare of one entry of a tree: kind, mode, owner, content (the
// SHA-256 of a file, the target of a symlink) and modification time.
type TreeEntry struct {
	Kind    string // "file", "dir", "link" or "other"
	Mode    fs.FileMode
	UID     uint32
	GID     uint32
	Content string
	MTime   time.Time
}

// ReadTree records every entry under each of rels (relative to root; "." for root itself),
// keyed by its path relative to root. withDirTimes keeps directories' mtimes; without it
// they read as zero, for states where a directory's time legitimately differs.
func ReadTree(root string, withDirTimes bool, rels ...string) (map[string]TreeEntry, error) {
	m := map[string]TreeEntry{}
	for _, rel := range rels {
		base := filepath.Join(root, rel)
		if _, err := os.Lstat(base); os.IsNotExist(err) {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			st := fi.Sys().(*syscall.Stat_t)
			e := TreeEntry{Kind: "other", Mode: fi.Mode(), UID: st.Uid, GID: st.Gid, MTime: fi.ModTime()}
			switch {
			case fi.Mode().IsRegular():
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(data)
				e.Kind, e.Content = "file", hex.EncodeToString(sum[:])
			case fi.Mode()&fs.ModeSymlink != 0:
				e.Kind = "link"
				e.Content, _ = os.Readlink(p)
			case fi.IsDir():
				e.Kind = "dir"
				if !withDirTimes {
					e.MTime = time.Time{}
				}
			}
			r, _ := filepath.Rel(root, p)
			m[r] = e
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Snapshot is ReadTree that fails the test on an error.
func Snapshot(t testing.TB, root string, withDirTimes bool, rels ...string) map[string]TreeEntry {
	t.Helper()
	m, err := ReadTree(root, withDirTimes, rels...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// DiffTrees describes how b differs from a, at most a few lines, or returns "".
func DiffTrees(a, b map[string]TreeEntry) string {
	var diffs []string
	for p, ea := range a {
		eb, ok := b[p]
		switch {
		case !ok:
			diffs = append(diffs, "missing "+p)
		case ea != eb:
			diffs = append(diffs, fmt.Sprintf("%s: %+v != %+v", p, ea, eb))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, "extra "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 8 {
		diffs = append(diffs[:8], fmt.Sprintf("... %d more", len(diffs)-8))
	}
	return strings.Join(diffs, "\n")
}
