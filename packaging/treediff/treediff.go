// Package treediff makes a hotfix directory (SPEC section 2) from two trees: what turns OLD,
// the product as hosts have it, into NEW, the product as it should be. It is the vendor's
// side of `hotchain diff`.
//
// Make compares the trees (lstat only, never following a symlink; same-size files byte by
// byte), refuses what a hotfix cannot ship (an owner change, setuid or setgid, extended
// attributes (xattr.go), a name with a control character, a device file or
// pipe, a directory's mode, a difference outside every mapped subtree), writes the change
// trees, FileRemovals, version.txt and filelist.txt under a temporary name, applies the
// result with the real applier (package hotfix) to a sparse copy of OLD and compares that
// with NEW entry by entry, and only then renames the directory into place. A refused or
// failed diff leaves nothing behind.
package treediff

import (
	"context"
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
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/internal/ordered"
	"github.com/hotchain/hotchain/internal/rawfs"
)

// Tree maps a change tree of the hotfix to a subtree of OLD and NEW.
type Tree struct {
	Dir string // change tree name in the hotfix directory, e.g. FileChanges
	Sub string // slash-separated path below the roots of OLD and NEW; "." for the whole tree
}

// DefaultTrees is the mapping without -trees: all of OLD and NEW is FileChanges.
var DefaultTrees = []Tree{{Dir: "FileChanges", Sub: "."}}

// ParseTrees reads a -trees value: "FileChanges=app,StoreTypeChanges=types", each a change
// tree name (one path element) and a relative path; no tree twice, no path twice.
func ParseTrees(s string) ([]Tree, error) {
	var trees []Tree
	seenDir, seenSub := map[string]bool{}, map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		dir, sub, ok := strings.Cut(item, "=")
		sub = path.Clean(strings.TrimSuffix(sub, "/"))
		switch {
		case !ok:
			return nil, fmt.Errorf("-trees: %q has no =: want TREE=SUBDIR, like FileChanges=app", item)
		case dir == "" || dir == "." || dir == ".." || strings.Contains(dir, "/"):
			return nil, fmt.Errorf("-trees: %q: %q is not a change tree name: one name, no / (like FileChanges)", item, dir)
		case hotfix.ReservedName(dir):
			return nil, fmt.Errorf("-trees: %q: %s is a name the hotfix directory uses for something else", item, dir)
		case path.IsAbs(sub) || sub == ".." || strings.HasPrefix(sub, "../"):
			return nil, fmt.Errorf("-trees: %q: %q is not a path inside the trees: give it relative to -from and -to", item, sub)
		case seenDir[dir]:
			return nil, fmt.Errorf("-trees: change tree %s is mapped twice", dir)
		case seenSub[sub]:
			return nil, fmt.Errorf("-trees: %s is mapped twice", sub)
		}
		seenDir[dir], seenSub[sub] = true, true
		trees = append(trees, Tree{Dir: dir, Sub: sub})
	}
	if len(trees) == 0 {
		return nil, errors.New("-trees: empty: want TREE=SUBDIR entries, like FileChanges=app,StoreTypeChanges=types")
	}
	return trees, nil
}

// Options say what to compare and where the hotfix goes.
type Options struct {
	Old, New string // the trees
	Out      string // the hotfix directory to write: must not exist, or be empty
	Version  hotfix.Version
	Trees    []Tree    // nil: DefaultTrees
	Log      io.Writer // progress lines; nil: none
}

// Result is what Make wrote.
type Result struct {
	Dir                      string
	Added, Replaced, Removed int // files and symlinks
	DirsAdded, DirsRemoved   int
	Compared                 int // entries of the union of the trees
	Checked                  int // entries the self-check compared
}

// Make writes the hotfix directory that turns o.Old into o.New (see the package comment).
// Interrupted (ctx), it stops, removes what it wrote, and returns an error that wraps
// ctx.Err().
func Make(ctx context.Context, o Options) (*Result, error) {
	res, err := makeHotfix(ctx, o)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if err != nil && ctx.Err() != nil {
		return nil, hint.With(fmt.Errorf("diff of %s and %s interrupted: %w", o.Old, o.New, err), "nothing was written; run it again")
	}
	return res, err
}

func makeHotfix(ctx context.Context, o Options) (*Result, error) {
	if o.Trees == nil {
		o.Trees = DefaultTrees
	}
	oldRoot, newRoot, out, err := checkPaths(o)
	if err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}

	// What killed diffs left (scratch.go).
	stale := cleanStale(filepath.Dir(out), workPrefix(out), time.Now().Add(-staleWork))
	for _, d := range scratchRoots() {
		stale = append(stale, cleanStale(d, scratchPrefix, time.Now().Add(-staleScratch))...)
	}
	for _, d := range stale {
		logf("diff: removed %s, left by a diff that was killed", d)
	}

	nodes, entries, err := walk(ctx, oldRoot, newRoot)
	if err != nil {
		return nil, fmt.Errorf("compare %s with %s: %w", o.Old, o.New, err)
	}
	p, err := classify(nodes, o.Trees)
	if err != nil {
		return nil, err
	}
	if len(p.refused) > 0 {
		return nil, &RefusedError{Old: o.Old, New: o.New, Problems: p.refused}
	}
	if len(p.entries) == 0 {
		return nil, hint.With(fmt.Errorf("%s and %s do not differ in anything a hotfix ships", o.Old, o.New),
			"a hotfix needs at least one change; compare the right trees")
	}
	if err := p.hashRemovals(ctx, oldRoot); err != nil {
		return nil, err
	}
	res := p.result()
	res.Compared = entries
	logf("diff: %d entries compared: %d files and symlinks added, %d replaced, %d removed; %d directories added, %d removed",
		entries, res.Added, res.Replaced, res.Removed, res.DirsAdded, res.DirsRemoved)

	work, err := os.MkdirTemp(filepath.Dir(out), workPrefix(out))
	if err != nil {
		return nil, fmt.Errorf("make the work directory next to %s: %w", o.Out, err)
	}
	defer os.RemoveAll(work)
	release, err := holdDir(work)
	if err != nil {
		return nil, err
	}
	defer release()
	// The self-check's host lives in memory when there is room (scratchDir): what it writes
	// is thrown away, and the disk would only slow it down.
	scratch, sameFS := scratchDir(p.scratchBytes()), false
	if scratch == "" {
		scratch, sameFS = work, true
	} else {
		if scratch, err = os.MkdirTemp(scratch, scratchPrefix); err != nil {
			return nil, err
		}
		defer os.RemoveAll(scratch)
		release, err := holdDir(scratch)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	s := newSandbox(scratch, o.Version, o.Trees)
	if err := s.setup(); err != nil {
		return nil, err
	}
	if s.stamp, err = writeHotfix(ctx, s.hotfixDir, o.Version, o.Trees, p.entries, newRoot); err != nil {
		return nil, err
	}
	if faultHook != nil {
		faultHook(s.hotfixDir)
	}
	names, err := hotfixItems(s.hotfixDir)
	if err != nil {
		return nil, err
	}
	staged := filepath.Join(work, "out")
	// The hotfix is copied to out's file system while the self-check runs: that copy is
	// disk work, the check memory work. A check that fails takes the copy back (work).
	copied := make(chan error, 1)
	if !sameFS {
		go func() { copied <- copyTree(ctx, s.hotfixDir, staged, names) }()
	}
	n, err := s.check(ctx, oldRoot, newRoot, p)
	if !sameFS {
		if cerr := <-copied; err == nil && cerr != nil {
			err = fmt.Errorf("copy the checked hotfix to %s: %w", work, cerr)
		}
	}
	if err != nil {
		return nil, err
	}
	res.Checked = n
	logf("diff: self-check: applied to a copy of what it touches in %s, %d entries compared with %s: equal", o.Old, n, o.New)
	if sameFS {
		if err := os.Mkdir(staged, 0o755); err != nil {
			return nil, err
		}
		for _, n := range names {
			if err := os.Rename(filepath.Join(s.hotfixDir, n), filepath.Join(staged, n)); err != nil {
				return nil, err
			}
		}
	}
	if err := os.Chmod(staged, 0o755); err != nil {
		return nil, err
	}
	if err := setTime(staged, s.stamp); err != nil {
		return nil, err
	}
	// rename(2) itself: it replaces an empty directory, which os.Rename refuses.
	if err := unix.Rename(staged, out); err != nil {
		return nil, fmt.Errorf("move the hotfix into place at %s: %w", out, err)
	}
	res.Dir = o.Out
	return res, nil
}

// faultHook, when set (by tests), is called on the hotfix directory after it is written and
// before the self-check applies it: a test breaks the hotfix there to see the check fail.
var faultHook func(hotfixDir string)

// checkPaths checks the trees and the output directory before anything is read or written,
// and returns their absolute, resolved paths (out: its parent resolved).
func checkPaths(o Options) (oldRoot, newRoot, out string, err error) {
	if o.Version == nil {
		return "", "", "", errors.New("diff needs the hotfix version")
	}
	for _, t := range o.Trees {
		if t.Dir == "" || t.Sub == "" {
			return "", "", "", fmt.Errorf("change tree %q mapped to %q: both must be set", t.Dir, t.Sub)
		}
	}
	resolve := func(what, p string) (string, error) {
		abs, err := filepath.Abs(p)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", what, p, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return "", err
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("%s %s is not a directory", what, p)
		}
		return abs, nil
	}
	if oldRoot, err = resolve("-from", o.Old); err != nil {
		return
	}
	if newRoot, err = resolve("-to", o.New); err != nil {
		return
	}
	if oldRoot == newRoot {
		return "", "", "", fmt.Errorf("-from %s and -to %s are the same directory", o.Old, o.New)
	}
	parent, err := resolve("the directory of -out", filepath.Dir(filepath.Clean(o.Out)))
	if err != nil {
		return "", "", "", hint.With(err, "create it first: diff writes the hotfix directory itself, not the directories above it")
	}
	out = filepath.Join(parent, filepath.Base(filepath.Clean(o.Out)))
	for _, root := range []string{oldRoot, newRoot} {
		if out == root || strings.HasPrefix(out, root+"/") || strings.HasPrefix(root, out+"/") {
			return "", "", "", fmt.Errorf("-out %s lies inside or above %s: write the hotfix next to the trees, not into them", o.Out, root)
		}
	}
	fi, err := os.Lstat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", "", "", err
	case !fi.IsDir():
		return "", "", "", hint.With(fmt.Errorf("-out %s exists and is not a directory", o.Out), "name a new directory")
	default:
		f, err := os.Open(out)
		if err != nil {
			return "", "", "", err
		}
		names, _ := f.Readdirnames(1)
		f.Close()
		if len(names) > 0 {
			return "", "", "", hint.With(fmt.Errorf("-out %s exists and is not empty", o.Out), "name a new directory, or remove the old one first")
		}
	}
	return oldRoot, newRoot, out, nil
}

// entry is one thing the hotfix does: place NEW's entry (ship), remove OLD's (remove), or
// both (an entry that changes its kind).
type entry struct {
	tree   int    // index into the trees
	rel    string // path below the roots of OLD and NEW
	sub    string // path below the change tree's subtree
	ship   *meta  // NEW's entry, placed; nil: nothing placed
	remove *meta  // OLD's entry, removed; nil: nothing removed (replace or add)
	sha    string // SHA-256 of a removed file's content or a removed symlink's target
}

// where is the entry's path in the hotfix directory: change tree, then sub.
func (e entry) where(trees []Tree) string { return trees[e.tree].Dir + "/" + e.sub }

// plan is what classify made of the comparison.
type plan struct {
	trees   []Tree
	entries []entry // in order of rel, parents first
	refused []string
	replace map[string]bool // rels whose entries the hotfix replaces in place (same kind, or file and symlink)
}

// typeChanges says whether the applier can remove an entry and put another kind of entry
// in its place in one hotfix (a file where a directory was, ...; a file and a symlink
// replace each other in place, which is no removal). It cannot: FileRemovals
// may not name what the hotfix places (hotfix: readRemovals), and removals come after the
// entries are placed.
const typeChanges = false

// classify turns the differing nodes into entries of the hotfix, and lists what cannot be
// shipped.
func classify(nodes []node, trees []Tree) (*plan, error) {
	p := &plan{trees: trees, replace: map[string]bool{}}
	newDirs := map[string]*meta{} // NEW's directories, for the owner of what is added in them
	refuse := func(rel, format string, args ...any) {
		p.refused = append(p.refused, shown(rel)+": "+fmt.Sprintf(format, args...))
	}
	for i := range nodes {
		n := &nodes[i]
		o, w := n.old, n.new
		if w != nil && w.isDir() {
			newDirs[n.rel] = w
		}
		if !n.differs {
			continue
		}
		t := treeOf(n.rel, trees)
		if t < 0 {
			refuse(n.rel, "%s, outside every mapped subtree (%s): no change tree could ship it", describe(o, w), mappedList(trees))
			continue
		}
		tr := trees[t]
		if n.rel == tr.Sub {
			refuse(n.rel, "%s; it is the root of change tree %s, which must be a directory with the same mode and owner in both trees", describe(o, w), tr.Dir)
			continue
		}
		sub := n.rel
		if tr.Sub != "." {
			sub = strings.TrimPrefix(n.rel, tr.Sub+"/")
		}
		if hotfix.HasControl(n.rel) {
			refuse(n.rel, "%s; its name holds a control character (a newline, a tab), which build refuses and filelist.txt cannot hold: rename it", describe(o, w))
			continue
		}
		if (o != nil && o.isSpecial()) || (w != nil && w.isSpecial()) {
			refuse(n.rel, "%s: a hotfix holds only files, directories and symlinks", describe(o, w))
			continue
		}
		e := entry{tree: t, rel: n.rel, sub: sub}
		switch {
		case o != nil && w != nil && (sameKind(o, w) || (!o.isDir() && !w.isDir())):
			// The same kind, or a file and a symlink in each other's place: the applier
			// places either over the other (by rename, which replaces the entry itself).
			if o.xattr != w.xattr {
				change := fmt.Sprintf("change from %s to %s", rawfs.XattrNames(o.xattr), rawfs.XattrNames(w.xattr))
				if rawfs.XattrNames(o.xattr) == rawfs.XattrNames(w.xattr) {
					change = "(" + rawfs.XattrNames(w.xattr) + ") change their values"
				}
				refuse(n.rel, "extended attributes %s: a hotfix places no extended attributes; set them in an Install script (setcap, setfacl, setfattr)", change)
				continue
			}
			if o.uid != w.uid || o.gid != w.gid {
				refuse(n.rel, "owner changes from %d:%d to %d:%d: a hotfix gives what it places the owner of what it replaces; change the owner in an Install script", o.uid, o.gid, w.uid, w.gid)
				continue
			}
			if o.isDir() {
				refuse(n.rel, "directory mode changes from %s to %s: a hotfix does not change a directory that exists; do it in an Install script", o.mode, w.mode)
				continue
			}
			if !shippable(n.rel, sub, w, refuse) {
				continue
			}
			e.ship = w
			p.replace[n.rel] = true
		case w == nil:
			e.remove = o
		default: // added, or another kind
			if o != nil && !typeChanges {
				refuse(n.rel, "is a %s in the old tree and a %s in the new: a hotfix places an entry or removes it, not both, so one hotfix cannot put one kind of entry in place of another; ship the removal in one hotfix and the new entry in the next", o.kind(), w.kind())
				continue
			}
			if !shippable(n.rel, sub, w, refuse) {
				continue
			}
			if d := newDirs[parentRel(n.rel)]; d != nil && (d.uid != w.uid || d.gid != w.gid) {
				refuse(n.rel, "is owned by %d:%d, its directory by %d:%d: a hotfix gives what it adds the owner of its directory; change the owner in an Install script", w.uid, w.gid, d.uid, d.gid)
				continue
			}
			e.ship, e.remove = w, o
		}
		p.entries = append(p.entries, e)
	}
	return p, nil
}

// shippable refuses an entry of NEW that a hotfix cannot place as it is: setuid or setgid
// bits, which the applier never places (plan.PlacedMode); extended attributes (xattrs),
// which it never places either; a symlink that leads out of its
// change tree (sub is its path there), which the applier refuses; a name of hotchain's
// temporary files.
func shippable(rel, sub string, w *meta, refuse func(rel, format string, args ...any)) bool {
	switch {
	case w.xattr != "":
		refuse(rel, "carries extended attributes (%s): a hotfix places no extended attributes; set them in an Install script (setcap, setfacl, setfattr)", rawfs.XattrNames(w.xattr))
		return false
	case w.mode&(fs.ModeSetuid|fs.ModeSetgid) != 0:
		refuse(rel, "has mode %s: a hotfix never places setuid or setgid bits; ship it without them and set them in an Install script", w.mode)
		return false
	case strings.HasPrefix(path.Base(rel), tempPrefix):
		refuse(rel, "its name starts with %s, which names hotchain's temporary files: rename it", tempPrefix)
		return false
	case w.isLink():
		if t := path.Join(path.Dir(sub), w.link); path.IsAbs(w.link) || t == ".." || strings.HasPrefix(t, "../") {
			refuse(rel, "is a symlink to %s, which leads out of its change tree: a hotfix places only symlinks that stay inside their tree; make it relative and inside, or make it in an Install script", shown(w.link))
			return false
		}
	}
	return true
}

// treeOf is the index of the tree whose subtree holds rel, the deepest one, or -1.
func treeOf(rel string, trees []Tree) int {
	best := -1
	for i, t := range trees {
		if under(rel, t.Sub) && (best < 0 || len(t.Sub) > len(trees[best].Sub) || trees[best].Sub == ".") {
			best = i
		}
	}
	return best
}

func mappedList(trees []Tree) string {
	var s []string
	for _, t := range trees {
		s = append(s, t.Dir+"="+t.Sub)
	}
	return strings.Join(s, ",")
}

// describe says how an entry differs, for messages.
func describe(o, w *meta) string {
	switch {
	case o == nil:
		return "added (" + w.kind() + ")"
	case w == nil:
		return "removed (" + o.kind() + ")"
	case !sameKind(o, w):
		return "changes from a " + o.kind() + " to a " + w.kind()
	case o.uid != w.uid || o.gid != w.gid:
		return fmt.Sprintf("owner changes from %d:%d to %d:%d", o.uid, o.gid, w.uid, w.gid)
	case o.mode != w.mode:
		return fmt.Sprintf("mode changes from %s to %s", o.mode, w.mode)
	case o.isLink():
		return "symlink target changes"
	}
	return o.kind() + " changed"
}

// hashRemovals computes what FileRemovals records for each removed file or symlink: the
// SHA-256 of the file's content (read only here), of the link's target.
func (p *plan) hashRemovals(ctx context.Context, oldRoot string) error {
	var files []int
	for i := range p.entries {
		e := &p.entries[i]
		switch {
		case e.remove == nil:
		case e.remove.isLink():
			e.sha = hotfix.LinkSHA256(e.remove.link)
		case e.remove.isRegular():
			files = append(files, i)
		}
	}
	return ordered.InOrder(len(files), walkWorkers, func(k int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &p.entries[files[k]]
		f, err := os.Open(filepath.Join(oldRoot, filepath.FromSlash(e.rel)))
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("read %s: %w", f.Name(), err)
		}
		e.sha = hex.EncodeToString(h.Sum(nil))
		return nil
	}, func(int) {})
}

// scratchBytes is about what the self-check writes: the hotfix, what it places, the
// sparse copy of OLD.
func (p *plan) scratchBytes() int64 {
	var n int64
	for _, e := range p.entries {
		if e.ship != nil {
			n += 2 * (e.ship.size + 4096)
		}
		if e.remove != nil {
			n += e.remove.size + 4096
		}
	}
	return n
}

// removals is FileRemovals of the plan.
func (p *plan) removals() []hotfix.Removal {
	var rs []hotfix.Removal
	for _, e := range p.entries {
		if e.remove == nil {
			continue
		}
		r := hotfix.Removal{Path: e.where(p.trees), Kind: hotfix.RemoveFile, SHA256: e.sha}
		switch {
		case e.remove.isDir():
			r.Kind, r.SHA256 = hotfix.RemoveDir, ""
		case e.remove.isLink():
			r.Kind = hotfix.RemoveLink
		}
		rs = append(rs, r)
	}
	return rs
}

func (p *plan) result() *Result {
	r := &Result{}
	for _, e := range p.entries {
		if e.remove != nil {
			if e.remove.isDir() {
				r.DirsRemoved++
			} else {
				r.Removed++
			}
		}
		switch {
		case e.ship == nil:
		case e.ship.isDir():
			r.DirsAdded++
		case p.replace[e.rel]:
			r.Replaced++
		default:
			r.Added++
		}
	}
	return r
}

// RefusedError lists the differences between the trees that no hotfix can ship.
type RefusedError struct {
	Old, New string
	Problems []string
}

// maxShown is how many problems an error lists.
const maxShown = 20

func (e *RefusedError) Error() string {
	return fmt.Sprintf("no hotfix can turn %s into %s: %s", e.Old, e.New, listProblems(e.Problems))
}

// Hint says what to do.
func (e *RefusedError) Hint() string {
	return "make the new tree what a hotfix can ship (see hotchain diff -help), map the subtree with -trees, or do these changes in an Install script of the hotfix; nothing was written"
}

func listProblems(ps []string) string {
	sort.Strings(ps)
	shownPs := ps
	if len(ps) > maxShown {
		shownPs = ps[:maxShown]
	}
	s := fmt.Sprintf("%d %s\n  %s", len(ps), plural(len(ps), "entry", "entries"), strings.Join(shownPs, "\n  "))
	if len(ps) > maxShown {
		s += fmt.Sprintf("\n  and %d more", len(ps)-maxShown)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// shown is a path as messages print it: Go-quoted when it holds bytes that would break the
// line or the terminal.
func shown(name string) string {
	if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return strconv.Quote(name)
	}
	return name
}
