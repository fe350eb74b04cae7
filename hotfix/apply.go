package hotfix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotchain/hotchain/sysconfig"
)

// ApplyOptions change how Apply checks.
type ApplyOptions struct {
	// NoCheck skips the prerequisites (SPEC section 3): the forced re-installation of the
	// original system. The file list is still checked.
	NoCheck bool
}

// Apply puts the unpacked hotfix at dir into the product: it checks the prerequisites,
// backs up what it will replace, lays the change trees over their roots, runs the install
// scripts of this host's role and appends the ledgers, under LOCK_TS. A journal makes it
// resumable: an apply that was interrupted at any point is finished by the next Apply of the
// same hotfix, or undone by Rollback.
func (h *Host) Apply(ctx context.Context, dir string, opt ApplyOptions) error {
	d, err := ReadDir(dir)
	if err != nil {
		return err
	}
	if d.HasFilelist {
		if err := d.CheckFilelist(); err != nil {
			return err
		}
	}
	// Refuse before anything is written, the lock file and the install log included; the
	// checks run again under the lock, where they count.
	jp := journalPath(d.Path, h.Cfg.Hostname)
	var ops []op
	var dirs []dirTime
	if j, err := readJournal(jp); err != nil || j.State == stateDone {
		if !opt.NoCheck {
			if err := h.CheckPrereqs(ctx, d.Version); err != nil {
				return err
			}
		}
		if j == nil {
			if ops, dirs, err = h.plan(d); err != nil {
				return err
			}
		}
	}
	l, err := h.lockTS()
	if err != nil {
		return err
	}
	defer l.Unlock()

	logf, err := h.openLog(d)
	if err != nil {
		return err
	}
	defer logf.Close()
	out := io.MultiWriter(h.out(), logf)
	fmt.Fprintf(logf, "=== %s apply of %s on %s (%s)\n", time.Now().UTC().Format(time.RFC3339), d.Version, h.Cfg.Hostname, h.Cfg.HostRole)

	j, err := readJournal(jp)
	switch {
	case errors.Is(err, os.ErrNotExist):
		j = nil
	case err != nil:
		return err
	case j.State == stateRollback:
		fmt.Fprintf(out, "==> %s: finishing an interrupted rollback first\n", d.Version)
		if err := h.undo(d.Path, j, out); err != nil {
			return err
		}
		j = nil
	case j.State == stateDone:
		applied, err := h.ledger().Has(h.hostLedger(), d.Version)
		if err != nil {
			return err
		}
		if !opt.NoCheck {
			if err := h.CheckPrereqs(ctx, d.Version); err != nil {
				return err
			}
		}
		// Applied before (and perhaps taken out of the ledger by hand): keep the backups of
		// the first apply, which hold the files as they were before the hotfix.
		fmt.Fprintf(out, "==> %s: applying again over the earlier apply (applied: %v); its backups are kept\n", d.Version, applied)
		j.State, j.ScriptsDone = stateApply, nil
		if err := writeJournal(jp, j); err != nil {
			return err
		}
	default:
		fmt.Fprintf(out, "==> %s: resuming an interrupted apply (it stopped in state %q)\n", d.Version, j.State)
	}
	if j == nil {
		if !opt.NoCheck {
			if err := h.CheckPrereqs(ctx, d.Version); err != nil {
				return err
			}
		}
		if ops == nil {
			if ops, dirs, err = h.plan(d); err != nil {
				return err
			}
		}
		// Left over from a rollback that was killed after it dropped the journal.
		if err := os.RemoveAll(backupDir(d.Path, h.Cfg.Hostname)); err != nil {
			return err
		}
		j = &journal{
			Version: d.Version.String(), Host: h.Cfg.Hostname, Role: string(h.Cfg.HostRole),
			State: stateBackup, Started: time.Now().UTC(), Ops: ops, Dirs: dirs,
		}
		if err := writeJournal(jp, j); err != nil {
			return err
		}
		h.step("journal written")
	}
	return h.resume(ctx, d, j, out)
}

// resume carries an apply from the state its journal is in to the end.
func (h *Host) resume(ctx context.Context, d *Dir, j *journal, out io.Writer) error {
	jp := journalPath(d.Path, h.Cfg.Hostname)
	advance := func(state string) error {
		if err := syncFS(d.Path); err != nil {
			return err
		}
		if root := h.Cfg.InRoot(h.Cfg.ProductRoot); root != d.Path {
			if err := syncFS(root); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
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
			return err
		}
		if err := advance(stateApply); err != nil {
			return err
		}
	}
	if j.State == stateApply {
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
		for _, s := range ScriptsFor(h.Cfg.HostRole, PhaseInstall, installScripts(d)) {
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
	replaced, added := 0, 0
	for _, o := range j.Ops {
		switch {
		case o.Kind == kindDir:
		case o.Existed == "":
			added++
		default:
			replaced++
		}
	}
	fmt.Fprintf(out, "==> %s: applied on %s: %d files replaced, %d added, %d scripts run\n", d.Version, h.Cfg.Hostname, replaced, added, len(j.ScriptsDone))
	return nil
}

// backup saves every entry the hotfix replaces into Backup-<host>/ with its metadata and
// lists the entries it adds in Backup-<host>.inexistent.
func (h *Host) backup(d *Dir, j *journal) error {
	bdir := backupDir(d.Path, h.Cfg.Hostname)
	var added []string
	for _, o := range j.Ops {
		full := h.Cfg.InRoot(o.Target)
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
		fi, err := os.Lstat(full)
		if err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		if err := preserveCopy(full, filepath.Join(bdir, o.Tree, filepath.FromSlash(o.Rel)), fi); err != nil {
			return fmt.Errorf("back up %s: %w", full, err)
		}
		h.step("backup " + o.Target)
	}
	sort.Strings(added)
	text := strings.Join(added, "\n")
	if text != "" {
		text += "\n"
	}
	return writeFileAtomic(inexistentPath(d.Path, h.Cfg.Hostname), []byte(text), 0o644)
}

// place lays every entry of the hotfix over its target, directories first (the ops are in
// path order).
func (h *Host) place(d *Dir, j *journal, out io.Writer) error {
	for _, o := range j.Ops {
		full := h.Cfg.InRoot(o.Target)
		src := filepath.Join(d.Path, o.Tree, filepath.FromSlash(o.Rel))
		switch {
		case o.Kind == kindDir && o.Existed == "":
			if err := os.Mkdir(full, o.Mode); err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("create directory %s: %w", full, err)
			}
			if err := os.Chmod(full, o.Mode); err != nil {
				return err
			}
			if uid, gid, ok := ownerOf(filepath.Dir(full)); ok && os.Geteuid() == 0 {
				if err := os.Lchown(full, uid, gid); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "    mkdir   %s\n", o.Target)
		case o.Kind == kindDir:
			continue
		default:
			if err := place(src, full, o); err != nil {
				return err
			}
			verb := "replace"
			if o.Existed == "" {
				verb = "add    "
			}
			fmt.Fprintf(out, "    %s %s\n", verb, o.Target)
		}
		h.step("place " + o.Target)
	}
	return nil
}

func (h *Host) openLog(d *Dir) (*os.File, error) {
	name := fmt.Sprintf("%s-install-%s.log", DirName(h.Cfg.Product, d.Version), h.Cfg.Hostname)
	f, err := os.OpenFile(filepath.Join(d.Path, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open install log: %w", err)
	}
	return f, nil
}
