package applier

import (
	"errors"
	"fmt"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/internal/hint"
)

// Before the first write of an apply, Apply checks what would otherwise stop it after the
// product files were replaced: CheckScripts (which the dry run makes too) and checkSpace.

// CheckScripts checks that SCRIPT_ENV_FILE sources (it is read in a shell that must succeed,
// as the scripts' environment is) and that every install script this host runs is there and
// runnable.
func (h *Host) CheckScripts(d *hotfix.Dir) error {
	const nothing = "nothing was changed"
	env, err := h.scripts().Env(d, "")
	if err != nil {
		var hinted interface{ Hint() string }
		if errors.As(err, &hinted) { // an unsafe file: its hint says how to fix it
			return fmt.Errorf("hotfix %s: %w", d.Version, err)
		}
		return hint.With(fmt.Errorf("hotfix %s: %w", d.Version, err),
			fmt.Sprintf("fix %s (sh -n %s shows syntax errors); %s", h.Cfg.ScriptEnvFile, h.Cfg.InRoot(h.Cfg.ScriptEnvFile), nothing))
	}
	for _, s := range script.For(h.Cfg.HostRole, script.PhaseInstall, script.Install(d)) {
		if _, err := script.Argv(d, hotfix.InstallDir, s, env); err != nil {
			return hint.With(fmt.Errorf("hotfix %s: %w", d.Version, err),
				"fix the hotfix's Install/ directory or install the interpreter; "+nothing)
		}
	}
	return nil
}

// checkSpace refuses an apply that would fill a file system (plan.SpaceNeeds counts).
func (h *Host) checkSpace(d *hotfix.Dir, ops []journal.Op) error {
	needs, _, err := plan.SpaceNeeds(h.Cfg, d, ops, d.Path, 0)
	if err != nil {
		return err
	}
	for _, n := range needs {
		if err := n.Check(); err != nil {
			return err
		}
	}
	return nil
}
