package applier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/sysconfig"
)

// resume carries an apply from the state its journal is in to the end.
func (h *Host) resume(ctx context.Context, d *hotfix.Dir, j *journal.Journal, out io.Writer) error {
	jp := journal.Path(d.Path, h.Cfg.Hostname)
	advance := func(state string) error {
		if err := h.syncTrees(d.Path); err != nil {
			return err
		}
		j.State = state
		if err := journal.Write(jp, j); err != nil {
			return err
		}
		h.step("state " + state)
		return nil
	}
	if j.State == journal.StateBackup {
		if err := h.backup(d, j); err != nil {
			// The product tree is untouched: take back what the backup wrote (it may have
			// filled the disk), so that the failed apply leaves nothing.
			h.dropBackup(d.Path)
			return err
		}
		if err := advance(journal.StateApply); err != nil {
			return err
		}
	}
	if j.State == journal.StateApply {
		if j.Prepared {
			// From here on entries are placed: the journal says so before the first one.
			j.Prepared = false
			if err := journal.Write(jp, j); err != nil {
				return err
			}
			h.step("prepared cleared")
		}
		if err := h.place(d, j, out); err != nil {
			var drift *plan.RemovalMismatchError
			if errors.As(err, &drift) {
				return h.undoAfterDrift(d, j, drift, out)
			}
			return err
		}
		if err := advance(journal.StateScripts); err != nil {
			return err
		}
	}
	if j.State == journal.StateScripts {
		env, err := h.scripts().Env(d, h.tsToken)
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
		for _, s := range script.For(role, script.PhaseInstall, script.Install(d)) {
			if done[s] {
				continue
			}
			if err := h.scripts().Run(ctx, d, s, env, out); err != nil {
				fmt.Fprintf(out, "==> %s: %v\n", d.Version, err)
				return err
			}
			j.ScriptsDone = append(j.ScriptsDone, s)
			if err := journal.Write(jp, j); err != nil {
				return err
			}
			h.step("script " + s)
		}
		next := journal.StateLedger
		if j.Check {
			next = journal.StateCheck
		}
		if err := advance(next); err != nil {
			return err
		}
	}
	if j.State == journal.StateCheck {
		if err := h.check(ctx, d, j, out); err != nil {
			return err
		}
		if err := advance(journal.StateLedger); err != nil {
			return err
		}
	}
	if j.State == journal.StateLedger {
		if err := h.ledger().Add(h.hostLedger(), d.Version); err != nil {
			return err
		}
		h.step("host ledger")
		if h.Cfg.HostRole != sysconfig.RoleSecondary {
			if err := h.ledger().Add(hotfix.InstallationLedger, d.Version); err != nil {
				return err
			}
			h.step("installation ledger")
		}
		j.State = journal.StateDone
		if err := journal.Write(jp, j); err != nil {
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
		case o.Kind == journal.KindDir:
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

// undoAfterDrift rolls back the apply of d whose removal found an entry changed since its
// backup was taken (removeEntries left that entry as it is): the entries placed and removed
// so far come back from the backups, so nothing of the product is lost, and drift is
// returned.
func (h *Host) undoAfterDrift(d *hotfix.Dir, j *journal.Journal, drift *plan.RemovalMismatchError, out io.Writer) error {
	fmt.Fprintf(out, "==> %s: %v\n==> %s: rolling it back\n", d.Version, drift, d.Version)
	started := time.Now()
	err := h.undo(d.Path, j, out)
	h.record(EventRollback, d.Version, started, "after a removal found an entry changed since its backup", err)
	if err != nil {
		return fmt.Errorf("%w; its rollback failed too: %v", drift, err)
	}
	fmt.Fprintf(out, "==> %s: rolled back on %s\n", d.Version, h.Cfg.Hostname)
	return drift
}

// check runs hotfix d's health check before the ledgers record it. When it fails, the apply
// is undone byte-exact from the journal, so the hotfix never reaches the ledgers (on the
// alpha: version.txt, so no secondary installs it), and the *script.HealthError is returned. A
// crash during the check leaves the journal in journal.StateCheck: the next apply checks again,
// a rollback undoes it.
func (h *Host) check(ctx context.Context, d *hotfix.Dir, j *journal.Journal, out io.Writer) error {
	env, err := h.scripts().Env(d, h.tsToken)
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
