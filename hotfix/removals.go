package hotfix

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/hint"
)

// RemovalsFile lists what a hotfix removes from the product. One entry a line,
//
//	file:<SHA-256 of the content>  FileChanges/lib/obsolete.jar
//	link:<SHA-256 of the link target>  FileChanges/bin/old-tool
//	dir  FileChanges/lib/obsolete
//
// the path relative to the hotfix directory: a change tree, then the path below that tree's
// target root. A file or symlink is removed only while it still is what the line says, so a
// file that drifted since the vendor saw it is not removed silently; a directory only when
// the removal leaves it empty. Blank lines and lines starting with '#' are comments. A line
// whose path holds a backslash, newline or carriage return starts with '\' and has them
// escaped as in filelist.txt.
const RemovalsFile = "FileRemovals"

// MaxRemovalsSize bounds FileRemovals as MaxFilelistSize bounds filelist.txt.
const MaxRemovalsSize = MaxFilelistSize

// MaxRemovals is the most entries FileRemovals lists: as many as a tarball may hold. Each
// is an op of the apply journal, which must stay readable (journal.MaxSize).
const MaxRemovals = MaxEntries

// Removal is one line of FileRemovals.
type Removal struct {
	Path   string // slash-separated, relative to the hotfix directory: <change tree>/<path>
	Kind   string // RemoveFile, RemoveLink or RemoveDir
	SHA256 string // hex: of the content (file) or of the target (link); "" for a directory
}

// Tree is the change tree the removal belongs to (FileChanges).
func (r Removal) Tree() string { t, _, _ := strings.Cut(r.Path, "/"); return t }

// Rel is the path below the change tree's target root.
func (r Removal) Rel() string { _, rel, _ := strings.Cut(r.Path, "/"); return rel }

// Removal kinds as FileRemovals spells them.
// They are the applier's entry kinds too (KindOf).
const (
	RemoveFile = "file"
	RemoveLink = "link"
	RemoveDir  = "dir"
)

// LinkSHA256 is what FileRemovals records for a symlink: the SHA-256 of its target.
func LinkSHA256(target string) string {
	s := sha256.Sum256([]byte(target))
	return hex.EncodeToString(s[:])
}

// FormatRemovals is the content of FileRemovals for rs: sorted by path, one a line, after a
// comment that says what the file is.
func FormatRemovals(rs []Removal) []byte {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Removal) int { return strings.Compare(a.Path, b.Path) })
	var b bytes.Buffer
	b.WriteString("# What this hotfix removes from the product: file:<sha256>, link:<sha256 of the target> or dir, two blanks, the path.\n")
	for _, r := range rs {
		name, escaped := EscapeName(r.Path)
		if escaped {
			b.WriteByte('\\')
		}
		b.WriteString(r.Kind)
		if r.Kind != RemoveDir {
			b.WriteString(":" + r.SHA256)
		}
		b.WriteString("  " + name + "\n")
	}
	return b.Bytes()
}

// ReadRemovals reads FileRemovals in the hotfix directory dir: nil without error when there
// is none.
func ReadRemovals(dir string) ([]Removal, error) {
	p := filepath.Join(dir, RemovalsFile)
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RemovalsFile, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file but a %s", p, KindOf(fi.Mode()))
	} else if fi.Size() > MaxRemovalsSize {
		return nil, &boundedio.TooLargeError{What: RemovalsFile, Path: p, Limit: MaxRemovalsSize}
	}
	return ParseRemovals(&boundedio.Reader{R: f, What: RemovalsFile, Path: p, Limit: MaxRemovalsSize}, p)
}

// ParseRemovals reads FileRemovals from r; name is where it comes from, for errors. Every
// path must be clean and relative, name a change tree and something below it, and appear
// once.
func ParseRemovals(r io.Reader, name string) ([]Removal, error) {
	var rs []Removal
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("%s:%d: %s: want \"file:<sha256>  <tree>/<path>\", \"link:<sha256 of the target>  <tree>/<path>\" or \"dir  <tree>/<path>\", got %q", name, n, why, line)
		}
		escaped := strings.HasPrefix(line, `\`)
		what, p, ok := strings.Cut(strings.TrimPrefix(line, `\`), "  ")
		if !ok {
			return nil, bad("no two blanks between the kind and the path")
		}
		if escaped {
			var err error
			if p, err = UnescapeName(p); err != nil {
				return nil, bad(err.Error())
			}
		}
		kind, sum, _ := strings.Cut(what, ":")
		rm := Removal{Path: p, Kind: kind, SHA256: sum}
		switch kind {
		case RemoveFile, RemoveLink:
			if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
				return nil, bad("the SHA-256 is not 64 lower-case hex digits")
			}
		case RemoveDir:
			if what != RemoveDir {
				return nil, bad("a directory has no SHA-256")
			}
		default:
			return nil, bad(fmt.Sprintf("unknown kind %q", kind))
		}
		if why := removalPathProblem(p); why != "" {
			return nil, bad(why)
		}
		if first, dup := seen[p]; dup {
			return nil, bad(fmt.Sprintf("%s is listed on line %d already", ShownName(p), first))
		}
		if len(rs) == MaxRemovals {
			return nil, hint.With(fmt.Errorf("%s:%d: more than %d entries: a hotfix removes at most as many entries as a tarball may hold", name, n, MaxRemovals),
				"split the removals over several hotfixes")
		}
		seen[p] = n
		rs = append(rs, rm)
	}
	if err := sc.Err(); err != nil {
		if boundedio.IsTooLarge(err) {
			return nil, err
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return rs, nil
}

// removalPathProblem says what is wrong with p as a FileRemovals path, "" if nothing.
func removalPathProblem(p string) string {
	switch {
	case p == "":
		return "the path is empty"
	case strings.HasPrefix(p, "/"):
		return "the path is absolute; it starts with a change tree such as FileChanges/"
	case strings.ContainsRune(p, 0):
		return "the path holds a NUL byte"
	case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return "the path is not clean (no ., .., // or trailing /)"
	case !strings.Contains(p, "/"):
		return "the path names a whole change tree; name what below it is removed"
	case p == InstallDir || strings.HasPrefix(p, InstallDir+"/"):
		return "Install/ holds the hotfix's scripts, not product files"
	}
	return ""
}

// readRemovals reads d's FileRemovals into d.Removals and refuses what no host could apply:
// a removal of an entry that the hotfix itself places (a file, a symlink, or a directory it
// places entries in), and one below a file or symlink that it removes.
func (d *Dir) readRemovals() error {
	e, ok := d.entry(RemovalsFile)
	if !ok {
		return nil
	}
	p := filepath.Join(d.Path, RemovalsFile)
	if !e.Mode.IsRegular() {
		return fmt.Errorf("%s is not a regular file: FileRemovals is a list of what the hotfix removes", p)
	}
	rs, err := ReadRemovals(d.Path)
	if err != nil {
		return err
	}
	removed := map[string]Removal{}
	for _, r := range rs {
		removed[r.Path] = r
	}
	for _, r := range rs {
		if e, ok := d.entry(r.Path); ok {
			return hint.With(fmt.Errorf("%s: %s is removed, and the hotfix also holds it (a %s): a hotfix places an entry or removes it, not both",
				p, ShownName(r.Path), entryKind(e)),
				"take it out of FileRemovals, or out of the change tree")
		}
		for q := path.Dir(r.Path); strings.Contains(q, "/"); q = path.Dir(q) {
			if up, ok := removed[q]; ok && up.Kind != RemoveDir {
				return fmt.Errorf("%s: %s lies below %s, which is removed as a %s: list only the %s", p, ShownName(r.Path), ShownName(q), up.Kind, up.Kind)
			}
		}
	}
	d.Removals = rs
	return nil
}

// entry is d's entry at rel.
func (d *Dir) entry(rel string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(d.Entries, rel, func(e Entry, rel string) int { return strings.Compare(e.Rel, rel) })
	if !ok {
		return Entry{}, false
	}
	return d.Entries[i], true
}

func entryKind(e Entry) string {
	switch {
	case e.IsDir():
		return "directory"
	case e.IsLink():
		return "symlink"
	}
	return "file"
}
