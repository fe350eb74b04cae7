package hotfix

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/internal/ordered"

	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/sysconfig"
)

// ApplyOptions change how Apply checks.
type ApplyOptions struct {
	// NoCheck skips the prerequisites (SPEC section 3): the forced re-installation of the
	// original system. The file list is still checked.
	NoCheck bool
	// Prepare stops the apply once its backups are durable, before the first entry is
	// placed: the journal is left in state apply, marked prepared, and the product is not
	// touched. The next Apply of the hotfix checks the prepared targets again (one lstat
	// each: still the entries that were backed up, still absent where the hotfix adds) and
	// places; when the product changed them meanwhile it drops the preparation and backs up
	// afresh. A rollback of a prepared hotfix restores nothing: it drops the backups. The
	// agent prepares the first hotfix of a run before PRE_HOOK closes the product.
	Prepare bool
	// Checked is the hotfix directory as ReadDir read it and CheckFilelist checked it,
	// earlier in the same process: Apply then rechecks it (Dir.Recheck, no file read)
	// instead of reading and hashing every file again.
	Checked *Dir
	// Unpacked, when set, says that this run unpacked the hotfix directory from a tarball
	// (Unpack): an apply that fails before anything of it was applied removes what the
	// unpack made, so that a refused tarball leaves nothing behind.
	Unpacked *UnpackMade
}

// Apply puts the unpacked hotfix at dir into the product: it checks the prerequisites,
// backs up what it will replace, lays the change trees over their roots, runs the install
// scripts of this host's role and appends the ledgers, under LOCK_TS. A journal makes it
// resumable: an apply that was interrupted at any point is finished by the next Apply of the
// same hotfix, or undone by Rollback.
func (h *Host) Apply(ctx context.Context, dir string, opt ApplyOptions) (err error) {
	if opt.Unpacked != nil && opt.Unpacked.Dir {
		defer func() {
			if err != nil {
				h.dropRefused(dir, opt.Unpacked)
			}
		}()
	}
	d, err := h.applyDir(dir, opt.Checked)
	if err != nil {
		return err
	}
	started := time.Now()
	// A refusal (the prerequisites, the lock) changes nothing and is not in the history.
	if err := h.preflight(ctx, d, opt); err != nil {
		return err
	}
	l, err := h.lockTS()
	if err != nil {
		return err
	}
	defer l.Unlock()
	defer func() {
		// A prepare (plan and backups, ApplyOptions.Prepare) is part of the apply that
		// follows; only its failure, which ends that apply, is a line of its own.
		if !opt.Prepare || err != nil {
			h.record(EventApply, d.Version, started, "", err)
		}
	}()

	// The install log is made only once the journal is: a hotfix with a log of this host
	// and no journal has had its apply begun and undone or refused, one with neither was
	// never started (Unpacked), and a crash between the two must not blur that. What comes
	// before goes to the log when it is opened.
	var early bytes.Buffer
	out := io.MultiWriter(h.out(), &early)
	h.cleanDebris(out, d.Path)
	if err := h.checkInterrupted(d); err != nil {
		return err
	}
	j, err := h.startJournal(ctx, d, opt, out)
	if err != nil || j == nil { // j == nil: prepared before and still current
		return err
	}
	logf, err := h.openLog(d)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s apply of %s on %s (%s)\n", started.UTC().Format(time.RFC3339), d.Version, h.Cfg.Hostname, h.Cfg.HostRole)
	logf.Write(early.Bytes())
	out = io.MultiWriter(h.out(), logf)
	if opt.Prepare {
		if j.State != stateBackup {
			return fmt.Errorf("hotfix %s cannot be prepared: its apply is in state %q (%s)", d.Version, j.State, journalPath(d.Path, h.Cfg.Hostname))
		}
		return h.prepare(d, j, out)
	}
	return h.resume(ctx, d, j, out)
}

// applyDir reads the hotfix directory to apply (or rechecks checked, read earlier: see
// ApplyOptions.Checked) and checks it against its file list and its place: the journal and backups live in the hotfix directory, and rollback, status and
// verify find them by version, so the hotfix must sit where its version puts it.
func (h *Host) applyDir(dir string, checked *Dir) (*Dir, error) {
	d, err := h.readChecked(dir, checked)
	if err != nil {
		return nil, err
	}
	if _, err := d.Restart(); err != nil {
		return nil, err
	}
	want, err := h.hotfixDir(d.Version)
	if err != nil {
		return nil, err
	}
	if d.Path != want {
		return nil, withHint(fmt.Errorf("hotfix %s is in %s, not in %s", d.Version, d.Path, h.HotfixDir(d.Version)),
			"unpack it into PATCHES_DIR under that name (hotchain apply TARBALL does), then apply it from there")
	}
	return d, nil
}

// preflight refuses before anything is written, the lock file and the install log
// included: the prerequisites, the scripts and, for a fresh apply, the plan and the space it
// needs. An interrupted apply is not checked here: its journal decides. startJournal makes
// the checks again under the lock, where they count.
func (h *Host) preflight(ctx context.Context, d *Dir, opt ApplyOptions) error {
	j, err := readJournal(journalPath(d.Path, h.Cfg.Hostname))
	if err == nil && j.State != stateDone {
		return nil
	}
	if !opt.NoCheck {
		if err := h.CheckPrereqs(ctx, d.Version); err != nil {
			return err
		}
	}
	// A hotfix applied before is undone before it is applied again: what the new apply
	// needs is checked first.
	if err := h.checkScripts(d); err != nil {
		return err
	}
	if err != nil { // no journal: a fresh apply
		ops, _, err := h.plan(d)
		if err != nil {
			return err
		}
		if err := h.checkSpace(d, ops); err != nil {
			return err
		}
	}
	return nil
}

// checkInterrupted refuses to apply d while another hotfix of its chain was interrupted: it
// must be finished or rolled back first. A hotfix of another chain (left from before a
// product patch) is reported by status but does not hold up this one.
func (h *Host) checkInterrupted(d *Dir) error {
	for _, u := range h.unfinishedJournals() {
		if uv, err := ParseHotfixVersion(u.Version); err == nil && !uv.Base().Equal(d.Version.Base()) {
			continue
		}
		if u.Version != d.Version.String() {
			return withHint(fmt.Errorf("hotfix %s was interrupted (state %s, %s): finish it or roll it back before hotfix %s", u.Version, u.State, u.Journal, d.Version),
				fmt.Sprintf("hotchain apply %s to finish it, or hotchain rollback %s", filepath.Dir(h.Cfg.InRoot(u.Journal)), u.Version))
		}
	}
	return nil
}

// startJournal, under the lock, decides where the apply of d starts: an interrupted apply
// resumes from its journal; an interrupted rollback is finished first; a hotfix applied
// before (and perhaps taken out of the ledger by hand) is undone, which puts back the files
// as they were before it, and applied afresh. A fresh apply is checked, planned and gets a
// new journal in stateBackup.
func (h *Host) startJournal(ctx context.Context, d *Dir, opt ApplyOptions, out io.Writer) (*journal, error) {
	jp := journalPath(d.Path, h.Cfg.Hostname)
	j, err := readJournal(jp)
	switch {
	case errors.Is(err, os.ErrNotExist):
		j = nil
	case err != nil:
		return nil, err
	case j.State == stateApply && j.Prepared:
		if err := h.recheckPrepared(d.Path, j); err != nil {
			// Nothing was placed: drop the backups (undo restores nothing of a prepared
			// apply) and start afresh from the product as it is now.
			fmt.Fprintf(out, "==> %s: %v: backing up afresh\n", d.Version, err)
			if err := h.undo(d.Path, j, io.Discard); err != nil {
				return nil, err
			}
			j = nil
			break
		}
		if opt.Prepare {
			fmt.Fprintf(out, "==> %s: prepared before, still current\n", d.Version)
			return nil, nil
		}
		fmt.Fprintf(out, "==> %s: prepared before, still current: placing\n", d.Version)
		return j, nil
	case j.State == stateRollback:
		fmt.Fprintf(out, "==> %s: finishing an interrupted rollback first\n", d.Version)
		if err := h.undo(d.Path, j, out); err != nil {
			return nil, err
		}
		j = nil
	case j.State != stateDone:
		fmt.Fprintf(out, "==> %s: resuming an interrupted apply (it stopped in state %q)\n", d.Version, j.State)
		return j, nil
	}
	if !opt.NoCheck {
		if err := h.CheckPrereqs(ctx, d.Version); err != nil {
			return nil, err
		}
	}
	if err := h.checkScripts(d); err != nil {
		return nil, err
	}
	if j != nil { // applied before
		applied, err := h.Applied()
		if err != nil {
			return nil, err
		}
		if newest, ok := Newest(applied); ok && contains(applied, d.Version) && !newest.Equal(d.Version) {
			return nil, withHint(fmt.Errorf("hotfix %s can be applied again only while it is the newest applied hotfix (%s is)", d.Version, newest),
				fmt.Sprintf("roll back down to it first: hotchain rollback %s, and so on", newest))
		}
		fmt.Fprintf(out, "==> %s: applying again: undoing the earlier apply first\n", d.Version)
		if err := h.undo(d.Path, j, out); err != nil {
			return nil, err
		}
	}
	ops, dirs, err := h.plan(d)
	if err != nil {
		return nil, err
	}
	if err := h.checkSpace(d, ops); err != nil {
		return nil, err
	}
	// Left over from a rollback that was killed after it dropped the journal.
	if err := os.RemoveAll(backupDir(d.Path, h.Cfg.Hostname)); err != nil {
		return nil, err
	}
	j = &journal{
		Version: d.Version.String(), Host: h.Cfg.Hostname, Role: string(h.Cfg.HostRole),
		State: stateBackup, Started: time.Now().UTC(), Ops: ops, Dirs: dirs,
		Check: h.HasHealthChecks(d), Prepared: opt.Prepare,
	}
	if err := writeJournal(jp, j); err != nil {
		return nil, err
	}
	h.step("journal written")
	return j, nil
}

// readChecked reads and checks the hotfix directory at dir, or, when checked is that
// directory as read and checked earlier, rechecks it cheaply.
func (h *Host) readChecked(dir string, checked *Dir) (*Dir, error) {
	if checked != nil {
		if abs, err := filepath.Abs(dir); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil && real == checked.Path {
				return checked, checked.Recheck()
			}
		}
	}
	d, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if d.HasFilelist {
		if err := d.CheckFilelist(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// prepare takes the backups of a new apply (journal in stateBackup, marked prepared) and
// makes them durable, and stops there: nothing of the product is touched.
func (h *Host) prepare(d *Dir, j *journal, out io.Writer) error {
	if err := h.backup(d, j); err != nil {
		h.dropBackup(d.Path) // as resume: the product is untouched, leave nothing
		return err
	}
	if err := h.syncTrees(d.Path); err != nil {
		return err
	}
	j.State = stateApply
	if err := writeJournal(journalPath(d.Path, h.Cfg.Hostname), j); err != nil {
		return err
	}
	h.step("state apply, prepared")
	fmt.Fprintf(out, "==> %s: prepared on %s: backups taken, nothing placed yet\n", d.Version, h.Cfg.Hostname)
	return nil
}

// recheckPrepared checks, one lstat per entry, that the product is still as the prepared
// apply in dir backed it up: each replaced entry is its backup (the same inode when it was
// linked; else the same kind, size, mode and modification time), each added one is still
// absent, and each directory that gets new entries has the modification time the plan saw.
func (h *Host) recheckPrepared(dir string, j *journal) error {
	bdir := backupDir(dir, h.Cfg.Hostname)
	for _, o := range j.Ops {
		full := h.Cfg.InRoot(o.Target)
		fi, err := os.Lstat(full)
		switch {
		case o.Existed == "":
			if err == nil || !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s appeared since the backups were taken", shownName(o.Target))
			}
			continue
		case err != nil:
			return fmt.Errorf("%s changed since the backups were taken: %v", shownName(o.Target), err)
		case kindOfInfo(fi) != o.Existed:
			return fmt.Errorf("%s is a %s now, not a %s as when the backups were taken", shownName(o.Target), kindOfInfo(fi), o.Existed)
		case o.Existed == kindDir:
			continue
		}
		bak, err := os.Lstat(filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel)))
		if err != nil {
			return fmt.Errorf("backup of %s: %v", shownName(o.Target), err)
		}
		if !os.SameFile(fi, bak) && (fi.Mode() != bak.Mode() || fi.Size() != bak.Size() || !fi.ModTime().Equal(bak.ModTime())) {
			return fmt.Errorf("%s changed since the backups were taken", shownName(o.Target))
		}
	}
	for _, dt := range j.Dirs {
		fi, err := os.Lstat(h.Cfg.InRoot(dt.Path))
		if err != nil || !fi.ModTime().Equal(dt.ModTime) {
			return fmt.Errorf("directory %s changed since the backups were taken", shownName(dt.Path))
		}
	}
	return nil
}

// syncTrees makes what was written to the hotfix directory and every target root durable:
// one syncfs for each file system they are on.
func (h *Host) syncTrees(hotfixDir string) error {
	seen := map[uint64]bool{}
	paths := []string{hotfixDir}
	for _, t := range h.Cfg.ChangeTrees {
		paths = append(paths, h.Cfg.InRoot(t.Root))
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		dev := uint64(0)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			dev = uint64(st.Dev)
		}
		if seen[dev] {
			continue
		}
		seen[dev] = true
		if err := syncFS(p); err != nil {
			return err
		}
	}
	return nil
}

// resume carries an apply from the state its journal is in to the end.
func (h *Host) resume(ctx context.Context, d *Dir, j *journal, out io.Writer) error {
	jp := journalPath(d.Path, h.Cfg.Hostname)
	advance := func(state string) error {
		if err := h.syncTrees(d.Path); err != nil {
			return err
		}
		j.State = state
		if err := writeJournal(jp, j); err != nil {
			return err
		}
		h.step("state " + state)
		return nil
	}
	if j.State == stateBackup {
		if err := h.backup(d, j); err != nil {
			// The product tree is untouched: take back what the backup wrote (it may have
			// filled the disk), so that the failed apply leaves nothing.
			h.dropBackup(d.Path)
			return err
		}
		if err := advance(stateApply); err != nil {
			return err
		}
	}
	if j.State == stateApply {
		if j.Prepared {
			// From here on entries are placed: the journal says so before the first one.
			j.Prepared = false
			if err := writeJournal(jp, j); err != nil {
				return err
			}
			h.step("prepared cleared")
		}
		if err := h.place(d, j, out); err != nil {
			return err
		}
		if err := advance(stateScripts); err != nil {
			return err
		}
	}
	if j.State == stateScripts {
		env, err := h.scriptEnv(d, h.tsToken)
		if err != nil {
			return err
		}
		done := map[string]bool{}
		for _, s := range j.ScriptsDone {
			done[s] = true
		}
		// The role the apply began with: a resumed apply finishes the same script list.
		role := h.Cfg.HostRole
		if j.Role != "" {
			role = sysconfig.Role(j.Role)
		}
		for _, s := range ScriptsFor(role, PhaseInstall, installScripts(d)) {
			if done[s] {
				continue
			}
			if err := h.runScript(ctx, d, s, env, out); err != nil {
				fmt.Fprintf(out, "==> %s: %v\n", d.Version, err)
				return err
			}
			j.ScriptsDone = append(j.ScriptsDone, s)
			if err := writeJournal(jp, j); err != nil {
				return err
			}
			h.step("script " + s)
		}
		next := stateLedger
		if j.Check {
			next = stateCheck
		}
		if err := advance(next); err != nil {
			return err
		}
	}
	if j.State == stateCheck {
		if err := h.check(ctx, d, j, out); err != nil {
			return err
		}
		if err := advance(stateLedger); err != nil {
			return err
		}
	}
	if j.State == stateLedger {
		if err := h.ledger().Add(h.hostLedger(), d.Version); err != nil {
			return err
		}
		h.step("host ledger")
		if h.Cfg.HostRole != sysconfig.RoleSecondary {
			if err := h.ledger().Add(InstallationLedger, d.Version); err != nil {
				return err
			}
			h.step("installation ledger")
		}
		j.State = stateDone
		if err := writeJournal(jp, j); err != nil {
			return err
		}
	}
	replaced, added, removed, removals := 0, 0, 0, false
	for _, o := range j.Ops {
		switch {
		case o.Remove:
			removals = true
			if o.Existed != "" {
				removed++
			}
		case o.Kind == kindDir:
		case o.Existed == "":
			added++
		default:
			replaced++
		}
	}
	removedText := ""
	if removals {
		removedText = fmt.Sprintf(", %d removed", removed)
	}
	fmt.Fprintf(out, "==> %s: applied on %s: %d files replaced, %d added%s, %d scripts run\n", d.Version, h.Cfg.Hostname, replaced, added, removedText, len(j.ScriptsDone))
	return nil
}

// check runs hotfix d's health check before the ledgers record it. When it fails, the apply
// is undone byte-exact from the journal, so the hotfix never reaches the ledgers (on the
// alpha: version.txt, so no secondary installs it), and the *HealthError is returned. A
// crash during the check leaves the journal in stateCheck: the next apply checks again,
// a rollback undoes it.
func (h *Host) check(ctx context.Context, d *Dir, j *journal, out io.Writer) error {
	env, err := h.scriptEnv(d, h.tsToken)
	if err != nil {
		return err
	}
	role := h.Cfg.HostRole
	if j.Role != "" {
		role = sysconfig.Role(j.Role)
	}
	started := time.Now()
	herr := h.HealthCheck(ctx, d, role, env, out)
	if herr == nil {
		h.record(EventHealth, d.Version, started, "", nil)
		return nil
	}
	h.record(EventHealth, d.Version, started, "", herr)
	h.step("check failed")
	fmt.Fprintf(out, "==> %s: %v: rolling it back\n", d.Version, herr)
	started = time.Now()
	err = h.undo(d.Path, j, out)
	h.record(EventRollback, d.Version, started, "after the failed health check", err)
	if err != nil {
		return fmt.Errorf("%w; its rollback failed too: %v", herr, err)
	}
	fmt.Fprintf(out, "==> %s: rolled back on %s\n", d.Version, h.Cfg.Hostname)
	return herr
}

// backup saves every entry the hotfix replaces into Backup-<host>/ with its metadata and
// lists the entries it adds in Backup-<host>.inexistent. The backup directories are made
// first, then the entries are linked (or copied) several at a time (inOrder).
func (h *Host) backup(d *Dir, j *journal) error {
	bdir := backupDir(d.Path, h.Cfg.Hostname)
	var added []string
	var saved []op
	var removedDirs []op
	dirs := map[string]bool{}
	for _, o := range j.Ops {
		switch {
		case o.Remove && o.Existed == "":
			continue // absent already: nothing to keep, nothing added
		case o.Remove && o.Existed == kindDir:
			// Kept as a directory with the directory's mode, owner and time (below).
			removedDirs = append(removedDirs, o)
			dirs[filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel))] = true
			continue
		}
		switch o.Existed {
		case "":
			name := o.Target
			if o.Kind == kindDir {
				name += "/"
			}
			added = append(added, name)
			continue
		case kindDir:
			continue
		}
		saved = append(saved, o)
		dirs[filepath.Dir(filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel)))] = true
	}
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		// A resumed backup finds Backup-<host>/ as it was left: not through a symlink.
		if err := checkBackupPath(d.Path, dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("back up: %w", err)
		}
	}
	err := inOrder(len(saved), func(i int) error {
		o := saved[i]
		full := h.Cfg.InRoot(o.Target)
		fi, err := os.Lstat(full)
		if err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		if err := preserveCopy(full, filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel)), fi); err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		return nil
	}, func(i int) { h.step("backup " + saved[i].Target) })
	if err != nil {
		return err
	}
	// Once the entries in them are kept: removedDirs is deepest first, and setting a
	// directory's time does not change its parent's.
	for _, o := range removedDirs {
		full := h.Cfg.InRoot(o.Target)
		fi, err := os.Lstat(full)
		if err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		if err := setMeta(filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel)), fi); err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		h.step("backup " + o.Target)
	}
	return atomicfile.Write(inexistentPath(d.Path, h.Cfg.Hostname), nameLines(added), 0o644)
}

// place lays every entry of the hotfix over its target: first the directories it adds, in
// path order (a parent before its children), then its files and symlinks, several at a
// time (inOrder); then it carries out the hotfix's removals (removeEntries). The order
// matters for nothing else: an interrupted apply does the whole state again.
func (h *Host) place(d *Dir, j *journal, out io.Writer) (err error) {
	roots, err := h.treeRoots()
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
	inside := func(o op) error {
		tr := roots[o.Tree]
		if err := checkInside(tr.base, tr.real, h.Cfg.InRoot(o.Target), o.Kind == kindDir); err != nil {
			return fmt.Errorf("%s/%s: %w", o.Tree, o.Rel, err)
		}
		return nil
	}
	var entries []op
	for _, o := range j.Ops {
		full := h.Cfg.InRoot(o.Target)
		switch {
		case o.Remove:
			// removeEntries, once everything is placed.
		case o.Kind == kindDir && o.Existed == "":
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
			if uid, gid, ok := ownerOf(filepath.Dir(full)); ok && os.Geteuid() == 0 {
				if err := os.Lchown(full, uid, gid); err != nil {
					return err
				}
			}
			fmt.Fprintf(bw, "    mkdir   %s\n", shownName(o.Target))
			h.step("place " + o.Target)
		case o.Kind == kindDir:
			if err := inside(o); err != nil {
				return err
			}
		default:
			entries = append(entries, o)
		}
	}
	// For a file or symlink, checkInside looks at the directories on the way (the entry
	// itself may be a symlink): the same for every entry of a directory, so each directory
	// is checked once, as checkInside of the directory itself would.
	checked := map[string]bool{}
	for _, o := range entries {
		tr := roots[o.Tree]
		dir := filepath.Dir(h.Cfg.InRoot(o.Target))
		if checked[dir] || dir == tr.base {
			continue
		}
		if err := checkInside(tr.base, tr.real, dir, true); err != nil {
			return fmt.Errorf("%s/%s: %w", o.Tree, o.Rel, err)
		}
		checked[dir] = true
	}
	err = inOrder(len(entries), func(i int) error {
		o := entries[i]
		return place(filepath.Join(d.Path, o.Tree, filepath.FromSlash(o.Rel)), h.Cfg.InRoot(o.Target), o)
	}, func(i int) {
		o := entries[i]
		verb := "replace"
		if o.Existed == "" {
			verb = "add    "
		}
		fmt.Fprintf(bw, "    %s %s\n", verb, shownName(o.Target))
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

func (h *Host) openLog(d *Dir) (*os.File, error) {
	name := fmt.Sprintf("%s-install-%s.log", DirName(h.Cfg.Product, d.Version), h.Cfg.Hostname)
	// Not through a symlink put in its place: it could lead anywhere, out of -root too.
	f, err := os.OpenFile(filepath.Join(d.Path, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open install log: %w", err)
	}
	return f, nil
}
