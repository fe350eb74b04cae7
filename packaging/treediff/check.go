package treediff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/internal/ordered"
	"github.com/hotchain/hotchain/sysconfig"
)

// The self-check applies the hotfix with the real applier to a sandbox host and compares
// the result with NEW. A full copy of OLD would cost as much as the comparison itself, so
// the sandbox's product tree is sparse: the entries the hotfix touches (what it places or
// removes, as they are in OLD), the directories on the way to them (with their mode, owner
// and time: the applier gives new entries the owner of their directory), what a symlink
// among them points to (the applier asks whether it leads to a directory), and the entries
// of a touched directory that bear hotchain's temporary names (the applier refuses them).
// The applier looks at nothing else. Every other entry of NEW is, after the apply, the
// entry of OLD, which the comparison found equal to NEW: so NEW is the sparse copy where
// the hotfix touched it and OLD everywhere else, and comparing the sparse copy with NEW
// where it was touched, and with OLD where it was only copied for the way, checks the
// whole result.

// Names of the sandbox host, below the work directory.
const (
	sandboxProduct = "diffcheck"
	sandboxHost    = "check"
	productDir     = "/product"
)

// tempPrefix is what the names of the applier's temporary entries start with (hotfix).
const tempPrefix = ".hotchain-"

// sandbox is the host the self-check applies the hotfix on.
type sandbox struct {
	work      string // the work directory: removed at the end
	root      string // the sandbox host's root (-root)
	cfg       *sysconfig.Config
	hotfixDir string        // where the hotfix is written, in PATCHES_DIR
	stamp     unix.Timespec // the modification time of the hotfix directory (writeHotfix)
}

func newSandbox(work string, v hotfix.Version, trees []Tree) *sandbox {
	root := filepath.Join(work, "root")
	cfg := &sysconfig.Config{
		Root: root, Product: sandboxProduct, ProductRoot: productDir,
		ProductVersionFile: productDir + "/.version", PatchesDir: "/patches", LedgerDir: "/ledger",
		StateDir: "/state", HostRole: sysconfig.RoleSingle, Hostname: sandboxHost,
		LockTS: "/lock/ts.lock",
	}
	for _, t := range trees {
		cfg.ChangeTrees = append(cfg.ChangeTrees, sysconfig.ChangeTree{Dir: t.Dir, Root: path.Join(productDir, t.Sub)})
	}
	s := &sandbox{work: work, root: root, cfg: cfg}
	s.hotfixDir = filepath.Join(root, "patches", hotfix.DirName(sandboxProduct, v))
	return s
}

// setup makes the sandbox host's directories but its product tree.
func (s *sandbox) setup() error {
	for _, d := range []string{"patches", "ledger", "lock", "state"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// copyState is the sparse copy as it is made.
type copyState struct {
	oldRoot, dst string
	copied       map[string]*meta // rel -> OLD's entry, for everything copied
	touched      map[string]bool  // rels the hotfix places or removes
	dirs         []string         // directories copied, their metadata set at the end
}

// check applies the hotfix in s.hotfixDir to a sparse copy of OLD and compares the result
// with NEW (and OLD where the copy was only made for the way). It returns how many entries
// it compared.
func (s *sandbox) check(ctx context.Context, oldRoot, newRoot string, p *plan) (int, error) {
	c := &copyState{oldRoot: oldRoot, dst: filepath.Join(s.root, productDir), copied: map[string]*meta{}, touched: map[string]bool{}}
	for _, e := range p.entries {
		c.touched[e.rel] = true
	}
	if err := c.add(".", 0); err != nil {
		return 0, err
	}
	for _, t := range p.trees {
		if err := c.add(t.Sub, 0); err != nil {
			return 0, err
		}
	}
	parents := map[string]bool{}
	for _, e := range p.entries {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := c.add(e.rel, 0); err != nil {
			return 0, err
		}
		parents[parentRel(e.rel)] = true
	}
	for dir := range parents {
		if err := c.addTempNames(dir); err != nil {
			return 0, err
		}
	}
	if err := c.finish(); err != nil {
		return 0, err
	}

	var out bytes.Buffer
	h := &applier.Host{Cfg: s.cfg, Out: &out, Environ: []string{"PATH=/usr/bin:/bin"}}
	if err := h.Apply(ctx, s.hotfixDir, applier.ApplyOptions{NoCheck: true}); err != nil {
		return 0, hint.With(fmt.Errorf("self-check: the hotfix does not apply to a copy of %s: %w", oldRoot, err),
			"the applier refuses what the trees ask for; change the new tree, or ship this change in an Install script; nothing was written")
	}
	return c.verify(ctx, newRoot, p)
}

// add copies rel of OLD into the sparse copy, after the directories on the way; depth
// bounds the symlinks followed.
func (c *copyState) add(rel string, depth int) error {
	if _, done := c.copied[rel]; done {
		return nil
	}
	if rel != "." {
		if err := c.add(parentRel(rel), depth); err != nil {
			return err
		}
		pm := c.copied[parentRel(rel)]
		if pm != nil && pm.isLink() && depth < 40 {
			// The way to rel goes through a symlink (what a symlink points to, looked
			// up): the entry is where that symlink leads.
			if t := path.Join(path.Dir(parentRel(rel)), pm.link, path.Base(rel)); !path.IsAbs(pm.link) && t != ".." && !strings.HasPrefix(t, "../") {
				return c.add(t, depth+1)
			}
		}
		if pm == nil || !pm.isDir() {
			return nil // not in OLD (below something new or not a directory there)
		}
	}
	src := filepath.Join(c.oldRoot, filepath.FromSlash(rel))
	m, err := lstatMeta(src)
	if errors.Is(err, fs.ErrNotExist) {
		c.copied[rel] = nil
		return nil
	}
	if err != nil {
		return err
	}
	dst := filepath.Join(c.dst, filepath.FromSlash(rel))
	c.copied[rel] = m
	switch {
	case m.isDir():
		if rel == "." {
			err = os.MkdirAll(dst, 0o700)
		} else {
			err = os.Mkdir(dst, 0o700)
		}
		c.dirs = append(c.dirs, rel)
		if err != nil {
			return err
		}
		return nil
	case m.isLink():
		if err := os.Symlink(m.link, dst); err != nil {
			return err
		}
		// What it points to, inside OLD, so the applier's questions about it (is it a
		// directory?) get OLD's answers. An absolute target is looked up on this
		// machine, as the applier on a host looks it up on the host.
		if !path.IsAbs(m.link) && depth < 40 {
			t := path.Join(path.Dir(rel), m.link)
			if t != ".." && !strings.HasPrefix(t, "../") {
				if err := c.add(t, depth+1); err != nil {
					return err
				}
			}
		}
	case m.isRegular():
		if c.touched[rel] {
			if err := copyFile(src, dst, m); err != nil {
				return err
			}
		} else if err := os.WriteFile(dst, nil, 0o600); err != nil { // only on the way
			return err
		}
	default:
		// A device file or pipe only on the way: an empty file of its mode stands for it
		// (the applier refuses to replace one, and the comparison refused it before).
		if err := os.WriteFile(dst, nil, 0o600); err != nil {
			return err
		}
	}
	return c.setMeta(dst, m)
}

// addTempNames copies the entries of OLD's directory dir that bear hotchain's temporary
// names: the applier refuses a hotfix whose temporary names are taken.
func (c *copyState) addTempNames(dir string) error {
	if m := c.copied[dir]; m == nil || !m.isDir() {
		return nil
	}
	f, err := os.Open(filepath.Join(c.oldRoot, filepath.FromSlash(dir)))
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, tempPrefix) {
			if err := c.add(path.Join(dir, n), 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish gives the copied directories OLD's mode, owner and time, deepest first.
func (c *copyState) finish() error {
	sort.Slice(c.dirs, func(i, j int) bool { return strings.Count(c.dirs[i], "/") > strings.Count(c.dirs[j], "/") })
	for _, rel := range c.dirs {
		if rel == "." {
			continue
		}
		if err := c.setMeta(filepath.Join(c.dst, filepath.FromSlash(rel)), c.copied[rel]); err != nil {
			return err
		}
	}
	return c.setMeta(c.dst, c.copied["."])
}

// setMeta gives p the owner, mode and time of m (owner only as root; not the mode of a
// symlink).
func (c *copyState) setMeta(p string, m *meta) error {
	if os.Geteuid() == 0 {
		if err := os.Lchown(p, int(m.uid), int(m.gid)); err != nil {
			return err
		}
	}
	if !m.isLink() {
		if err := unix.Chmod(p, fileops.UnixMode(m.mode)); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	return setTime(p, m.mtime)
}

// verify compares the sparse copy, after the apply, with NEW where the hotfix touched it
// and with OLD where it was only copied for the way, and finds anything else in it.
func (c *copyState) verify(ctx context.Context, newRoot string, p *plan) (int, error) {
	var diffs []string
	bad := func(rel, format string, args ...any) {
		diffs = append(diffs, shown(rel)+": "+fmt.Sprintf(format, args...))
	}
	byRel := map[string]*entry{}
	for i := range p.entries {
		byRel[p.entries[i].rel] = &p.entries[i]
	}
	seen := map[string]bool{}
	checked := 0
	err := filepath.WalkDir(c.dst, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r, _ := filepath.Rel(c.dst, full)
		rel := filepath.ToSlash(r)
		seen[rel] = true
		got, err := lstatMeta(full)
		if err != nil {
			return err
		}
		checked++
		if e := byRel[rel]; e != nil {
			if e.ship == nil {
				bad(rel, "is still there (a %s); the hotfix removes it", got.kind())
				return nil
			}
			want := filepath.Join(newRoot, filepath.FromSlash(rel))
			if why := c.differs(got, e.ship, full, want, true); why != "" {
				bad(rel, "%s", why)
			}
			return nil
		}
		old, copied := c.copied[rel]
		if !copied || old == nil {
			bad(rel, "is there (a %s) but in neither tree", got.kind())
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if why := c.differs(got, old, "", "", false); why != "" {
			bad(rel, "was changed, and the hotfix does not ship it: %s", why)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("self-check: %w", err)
	}
	for _, e := range p.entries {
		if e.ship != nil && !seen[e.rel] {
			bad(e.rel, "is missing; the hotfix places a %s there", e.ship.kind())
		}
	}
	if len(diffs) > 0 {
		return 0, hint.With(fmt.Errorf("self-check: the hotfix applied to a copy of the old tree does not give the new tree: %s", listProblems(diffs)),
			"this is a fault of hotchain diff or of the applier, not of the trees: report it with this message; nothing was written")
	}
	return checked, nil
}

// differs says how the entry got differs from want ("" when it does not): kind, mode,
// owner, symlink target, and, with full, the content (read from gotPath and wantPath) and
// the modification time of a file or symlink.
func (c *copyState) differs(got, want *meta, gotPath, wantPath string, full bool) string {
	switch {
	case !sameKind(got, want):
		return fmt.Sprintf("is a %s, want a %s", got.kind(), want.kind())
	case got.uid != want.uid || got.gid != want.gid:
		return fmt.Sprintf("owner %d:%d, want %d:%d", got.uid, got.gid, want.uid, want.gid)
	case !got.isLink() && got.mode != want.mode:
		return fmt.Sprintf("mode %s, want %s", got.mode, want.mode)
	case got.isLink() && got.link != want.link:
		return fmt.Sprintf("points to %q, want %q", got.link, want.link)
	case !full || got.isDir():
		return ""
	case got.mtime != want.mtime:
		return fmt.Sprintf("modification time %d.%09d, want %d.%09d", got.mtime.Sec, got.mtime.Nsec, want.mtime.Sec, want.mtime.Nsec)
	case got.isRegular() && got.size != want.size:
		return fmt.Sprintf("size %d, want %d", got.size, want.size)
	case got.isRegular():
		eq, err := sameContent(gotPath, wantPath)
		if err != nil {
			return err.Error()
		}
		if !eq {
			return "content differs"
		}
	}
	return ""
}

// copyTree copies the entries names of the directory src, and everything below them, into
// the directory dst: directories, files and symlinks with their mode and modification time.
func copyTree(ctx context.Context, src, dst string, names []string) error {
	type item struct {
		rel string
		m   *meta
	}
	var files, dirs []item
	var walkErr error
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	for _, n := range names {
		walkErr = filepath.WalkDir(filepath.Join(src, n), func(full string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, full)
			m, err := lstatMeta(full)
			if err != nil {
				return err
			}
			to := filepath.Join(dst, rel)
			switch {
			case m.isDir():
				dirs = append(dirs, item{rel, m})
				return os.Mkdir(to, 0o700)
			case m.isLink():
				if err := os.Symlink(m.link, to); err != nil {
					return err
				}
				return setTime(to, m.mtime)
			case m.isRegular():
				files = append(files, item{rel, m})
				return nil
			}
			return fmt.Errorf("%s is a %s", full, m.kind())
		})
		if walkErr != nil {
			return walkErr
		}
	}
	err := ordered.InOrder(len(files), walkWorkers, func(i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := files[i]
		return copyFile(filepath.Join(src, f.rel), filepath.Join(dst, f.rel), f.m)
	}, func(int) {})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- { // children before their directories
		to := filepath.Join(dst, dirs[i].rel)
		if err := unix.Chmod(to, fileops.UnixMode(dirs[i].m.mode)); err != nil {
			return &os.PathError{Op: "chmod", Path: to, Err: err}
		}
		if err := setTime(to, dirs[i].m.mtime); err != nil {
			return err
		}
	}
	return nil
}

// scratchDir is a directory in memory (a tmpfs: $TMPDIR when it is one, else /dev/shm) that
// has room for need bytes and more, or "" when there is none.
func scratchDir(need int64) string {
	if noScratch {
		return ""
	}
	for _, d := range scratchRoots() {
		var st unix.Statfs_t
		if err := unix.Statfs(d, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
			continue
		}
		if free := int64(st.Bavail) * st.Bsize; free > 2*need+(256<<20) && unix.Access(d, unix.W_OK) == nil {
			return d
		}
	}
	return ""
}

// noScratch, set by tests, keeps the self-check beside the hotfix directory, as on a machine
// without a tmpfs that has room.
var noScratch = false

// hotfixItems are the top-level names of the hotfix directory that belong to the hotfix:
// not what a host writes there (backups, the install log, the journal).
func hotfixItems(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	var keep []string
	for _, n := range names {
		if strings.HasPrefix(n, "Backup-") || strings.HasPrefix(n, tempPrefix) || (strings.Contains(n, "-install-") && strings.HasSuffix(n, ".log")) {
			continue
		}
		keep = append(keep, n)
	}
	sort.Strings(keep)
	return keep, nil
}
