package hotfix

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
)

// The files of a hotfix directory (SPEC section 2).
const (
	VersionFile  = "version.txt"
	FilelistFile = "filelist.txt"
	InstallDir   = "Install"
	// The documents of a hotfix (optional): the installation guide, the solved issues (the
	// package's description), the files of each issue.
	InstallGuideFile = "install.txt"
	FixedBugsFile    = "fixed-bugs.txt"
	FixedFilesFile   = "fixed-files.txt"
)

// ReservedName reports whether name, one entry at the top of a hotfix directory, is one the
// format gives a meaning other than a change tree: its files (version.txt, filelist.txt,
// FileRemovals, restart.txt, the documents), Install, and what a host writes there
// (Backup-*, .hotchain-*, install logs) or hides (any dot name).
func ReservedName(name string) bool {
	switch name {
	case VersionFile, FilelistFile, InstallDir, RemovalsFile, RestartFile, InstallGuideFile, FixedBugsFile, FixedFilesFile:
		return true
	}
	return strings.HasPrefix(name, ".") || hostWritten(name)
}

// Entry is one file, directory or symlink of a hotfix directory.
type Entry struct {
	Rel     string // slash-separated, relative to the hotfix directory
	Mode    fs.FileMode
	Size    int64
	SHA256  string // hex, regular files only
	Link    string // symlink target, symlinks only
	ModTime time.Time

	stamp stamp // what ReadDir saw, for Recheck
}

// stamp is what a cheap second look at a file compares: a file rewritten in place has a new
// ctime (which no system call sets back), a file renamed over it a new inode.
type stamp struct {
	ino, size int64
	ctime     int64 // nanoseconds
}

func stampOf(fi fs.FileInfo) stamp {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return stamp{}
	}
	return stamp{ino: int64(st.Ino), size: st.Size, ctime: st.Ctim.Nano()}
}

// IsDir reports whether e is a directory.
func (e Entry) IsDir() bool { return e.Mode.IsDir() }

// IsLink reports whether e is a symbolic link.
func (e Entry) IsLink() bool { return e.Mode&fs.ModeSymlink != 0 }

// Dir is a validated hotfix directory.
type Dir struct {
	Path        string
	Version     Version
	Entries     []Entry // byte order of Rel
	HasFilelist bool
	// Removals is what the hotfix removes from the product (FileRemovals), in the file's
	// order; nil when it has no FileRemovals.
	Removals []Removal
}

// hostWritten reports whether rel is something a host writes into the hotfix directory
// (install logs, backups, the apply journal): never part of the hotfix itself.
func hostWritten(rel string) bool {
	top, _, _ := strings.Cut(rel, "/")
	return strings.HasPrefix(top, "Backup-") ||
		strings.HasPrefix(top, ".hotchain-") ||
		(strings.Contains(top, "-install-") && strings.HasSuffix(top, ".log"))
}

// ReadDir validates the hotfix directory at p and lists its entries: version.txt must hold a
// hotfix version; device files, sockets and pipes are refused; a symlink must not point out
// of the directory. It reads every regular file to compute its SHA-256.
func ReadDir(p string) (*Dir, error) {
	// Work on the real, clean path: "DIR/", "./DIR" and a symlink to DIR are the same
	// hotfix, and a walk of an unclean path would find nothing in it.
	abs, err := filepath.Abs(p)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("hotfix directory: %w", err)
	}
	p = abs
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("hotfix directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("hotfix directory %s is not a directory", p)
	}
	v, err := ReadVersionFile(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s has no %s: a hotfix directory names its version there, one line like 6.14.2.3", p, VersionFile)
		}
		return nil, err
	}
	d := &Dir{Path: p, Version: v}
	err = filepath.WalkDir(p, func(full string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if full == p {
			return nil
		}
		r, err := filepath.Rel(p, full)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(r)
		if hostWritten(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(path.Base(rel), fileops.TempPrefix) {
			return fmt.Errorf("%s: %s: names starting with %s are hotchain's temporary files: rename it", p, rel, fileops.TempPrefix)
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		e := Entry{Rel: rel, Mode: info.Mode(), ModTime: info.ModTime(), stamp: stampOf(info)}
		switch {
		case info.Mode().IsRegular():
			e.Size = info.Size()
			if e.SHA256, err = FileSHA256(full); err != nil {
				return err
			}
		case info.IsDir():
		case info.Mode()&fs.ModeSymlink != 0:
			if e.Link, err = os.Readlink(full); err != nil {
				return err
			}
			if !linkStaysInside(rel, e.Link) {
				return fmt.Errorf("%s: symlink %s -> %s points out of the hotfix directory: make it relative and inside", p, rel, e.Link)
			}
		default:
			return fmt.Errorf("%s: %s is a %s: a hotfix holds only files, directories and symlinks", p, rel, KindOf(info.Mode()))
		}
		d.Entries = append(d.Entries, e)
		if rel == FilelistFile {
			d.HasFilelist = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read hotfix directory: %w", err)
	}
	sort.Slice(d.Entries, func(i, j int) bool { return d.Entries[i].Rel < d.Entries[j].Rel })
	if err := d.readRemovals(); err != nil {
		return nil, err
	}
	return d, nil
}

// Recheck makes sure, cheaply, that the hotfix directory is still what ReadDir read (and
// CheckFilelist checked): the same entries with the same kind, mode, size, modification
// time, inode and change time, one lstat each and no file read. The agent reads and checks
// every hotfix of a run before PRE_HOOK closes the product and rechecks them in the closed
// window. A file rewritten in place changes its ctime and one renamed over it its inode, so
// the bytes placed are the bytes hashed.
func (d *Dir) Recheck() error {
	changed := func(rel, why string) error {
		return hint.With(fmt.Errorf("hotfix directory %s changed since it was checked: %s %s", d.Path, rel, why),
			"something writes into the hotfix directory; find out what, then run again (the hotfix is read and checked afresh)")
	}
	seen := 0
	err := filepath.WalkDir(d.Path, func(full string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if full == d.Path {
			return nil
		}
		r, err := filepath.Rel(d.Path, full)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(r)
		if hostWritten(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		e, ok := d.entry(rel)
		if !ok {
			return changed(rel, "was added")
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		if fi.Mode() != e.Mode || !fi.ModTime().Equal(e.ModTime) || (!fi.IsDir() && stampOf(fi) != e.stamp) {
			return changed(rel, "was modified or replaced")
		}
		seen++
		return nil
	})
	if err != nil {
		var h interface{ Hint() string }
		if errors.As(err, &h) {
			return err
		}
		return fmt.Errorf("recheck hotfix directory: %w", err)
	}
	if seen != len(d.Entries) {
		return changed("an entry", "was removed")
	}
	return nil
}

// linkStaysInside reports whether a symlink at rel with the given target resolves, lexically,
// to a path inside the directory that holds rel's root.
func linkStaysInside(rel, target string) bool {
	if path.IsAbs(target) {
		return false
	}
	joined := path.Join(path.Dir(rel), target)
	return joined != ".." && !strings.HasPrefix(joined, "../")
}

// ReadVersionFile reads the hotfix version that the hotfix directory dir names in its
// version.txt (bounded by MaxVersionFileSize); a missing file is an os.IsNotExist error.
func ReadVersionFile(dir string) (Version, error) {
	raw, err := boundedio.ReadFile(filepath.Join(dir, VersionFile), "hotfix version file", MaxVersionFileSize)
	if os.IsNotExist(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read hotfix version: %w", err)
	}
	v, err := ParseHotfixVersion(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, VersionFile), err)
	}
	return v, nil
}

// KindOf names the kind of an entry that is not a regular file, for messages.
func KindOf(m fs.FileMode) string { return boundedio.Kind(m) }

// FileSHA256 is the SHA-256, in hex, of the content of the file at p.
func FileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Filelist is the content of filelist.txt for d: one line per regular file but filelist.txt
// itself, in sha256sum format ("<hex>  <path>"), so `sha256sum -c filelist.txt` checks it too.
// A path with a backslash, newline or carriage return is escaped as sha256sum does it
// and its line starts with a backslash (EscapeName).
func (d *Dir) Filelist() []byte {
	var b bytes.Buffer
	for _, e := range d.Entries {
		if e.Mode.IsRegular() && e.Rel != FilelistFile {
			name, escaped := EscapeName(e.Rel)
			if escaped {
				b.WriteByte('\\')
			}
			fmt.Fprintf(&b, "%s  %s\n", e.SHA256, name)
		}
	}
	return b.Bytes()
}

// FilelistMismatchError lists how filelist.txt and the content of a hotfix differ.
type FilelistMismatchError struct {
	Dir                       string
	Changed, Missing, Unknown []string
}

func (e *FilelistMismatchError) Error() string {
	var parts []string
	add := func(what string, list []string) {
		if len(list) == 0 {
			return
		}
		parts = append(parts, what+": "+strings.Join(ShortList(list, 5), ", "))
	}
	add("content differs", e.Changed)
	add("listed but missing", e.Missing)
	add("present but not listed", e.Unknown)
	return fmt.Sprintf("%s/%s does not match the hotfix content (%s)", e.Dir, FilelistFile, strings.Join(parts, "; "))
}

// Hint says what to do about a mismatch.
func (e *FilelistMismatchError) Hint() string {
	return "the hotfix is damaged or was changed after it was built; get it again from the vendor (or, when building, remove filelist.txt to have it written anew)"
}

// CheckFilelist compares filelist.txt with the content of d.
func (d *Dir) CheckFilelist() error {
	f, err := os.Open(filepath.Join(d.Path, FilelistFile))
	if err != nil {
		return fmt.Errorf("read file list: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > MaxFilelistSize {
		return &boundedio.TooLargeError{What: "file list", Path: f.Name(), Limit: MaxFilelistSize}
	}
	listed := map[string]string{}
	sc := bufio.NewScanner(&boundedio.Reader{R: f, What: "file list", Path: f.Name(), Limit: MaxFilelistSize})
	for n := 1; sc.Scan(); n++ {
		line := sc.Text() // without the newline and one carriage return before it, as sha256sum -c reads it
		if strings.TrimSpace(line) == "" {
			continue
		}
		escaped, unescaped := strings.HasPrefix(line, "\\"), error(nil)
		sum, name, ok := strings.Cut(strings.TrimPrefix(line, "\\"), "  ")
		if escaped {
			name, unescaped = UnescapeName(name)
		}
		if !ok || len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" || name == "" || unescaped != nil {
			why := ""
			if unescaped != nil {
				why = " (" + unescaped.Error() + ")"
			}
			return fmt.Errorf("%s/%s:%d: want \"<sha256>  <path>\" as sha256sum writes it, got %q%s", d.Path, FilelistFile, n, line, why)
		}
		listed[name] = sum
	}
	if err := sc.Err(); err != nil {
		if boundedio.IsTooLarge(err) {
			return err
		}
		return fmt.Errorf("read file list: %w", err)
	}
	mm := &FilelistMismatchError{Dir: d.Path}
	for _, e := range d.Entries {
		if !e.Mode.IsRegular() || e.Rel == FilelistFile {
			continue
		}
		sum, ok := listed[e.Rel]
		switch {
		case !ok:
			mm.Unknown = append(mm.Unknown, e.Rel)
		case sum != e.SHA256:
			mm.Changed = append(mm.Changed, e.Rel)
		}
		delete(listed, e.Rel)
	}
	for name := range listed {
		mm.Missing = append(mm.Missing, name)
	}
	sort.Strings(mm.Missing)
	if len(mm.Changed)+len(mm.Missing)+len(mm.Unknown) > 0 {
		return mm
	}
	return nil
}
