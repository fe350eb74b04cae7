package hotfix

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// Phase is when install scripts run: during the apply, or in finalize on the alpha.
type Phase int

// The phases.
const (
	PhaseInstall Phase = iota
	PhaseFinalize
)

// scriptClass is what a script's name ends in before its extension (SPEC section 4).
func scriptClass(name string) string {
	stem := strings.TrimSuffix(name, path.Ext(name))
	for _, c := range []string{"-shared", "-local", "-final"} {
		if strings.HasSuffix(stem, c) {
			return c
		}
	}
	return ""
}

// ScriptsFor picks the scripts a role runs in a phase from names (any order) and orders
// them by bytes; on a single host the -final scripts come after all others.
func ScriptsFor(role sysconfig.Role, phase Phase, names []string) []string {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var first, final []string
	for _, n := range sorted {
		switch c := scriptClass(n); {
		case c == "-final":
			final = append(final, n)
		case c == "-shared" && role == sysconfig.RoleSecondary:
		case c == "-local" && role == sysconfig.RoleAlpha:
		default:
			first = append(first, n)
		}
	}
	switch {
	case phase == PhaseFinalize && role == sysconfig.RoleAlpha:
		return final
	case phase == PhaseFinalize:
		return nil
	case role == sysconfig.RoleSingle:
		return append(first, final...)
	}
	return first
}

// installScripts lists the names of the scripts directly in the hotfix's Install/.
func installScripts(d *Dir) []string { return scriptsIn(d, InstallDir) }

// scriptsIn lists the names of the scripts directly in the hotfix's sub-directory sub
// (Install/, Check/).
func scriptsIn(d *Dir, sub string) []string {
	var names []string
	for _, e := range d.Entries {
		if rest, ok := strings.CutPrefix(e.Rel, sub+"/"); ok && !strings.Contains(rest, "/") && !e.IsDir() {
			names = append(names, rest)
		}
	}
	return names
}

// scriptEnv is the environment of install scripts: the host's, then SCRIPT_ENV_FILE's
// variables, then what says which hotfix runs where.
func (h *Host) scriptEnv(d *Dir, token string) ([]string, error) {
	env := append([]string(nil), h.Environ...)
	if f := h.Cfg.ScriptEnvFile; f != "" {
		vars, err := sysconfig.ReadEnvFile(h.Cfg.InRoot(f))
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("SCRIPT_ENV_FILE: %w", err)
		}
		env = append(env, vars...)
	}
	env = append(env,
		"HOTFIX_VERSION="+d.Version.String(),
		"HOTFIX_DIR="+d.Path,
		"HOST_ROLE="+string(h.Cfg.HostRole),
		"PRODUCT_ROOT="+h.Cfg.InRoot(h.Cfg.ProductRoot),
	)
	if token != "" {
		env = append(env, lock.EnvVar+"="+token)
	}
	return env, nil
}

// scriptArgv is how a script of the hotfix's sub-directory sub runs: .pl with PERL (or
// perl), .sh with sh, anything else as an executable.
func scriptArgv(d *Dir, sub, name string, env []string) ([]string, error) {
	p := filepath.Join(d.Path, sub, name)
	switch strings.ToLower(path.Ext(name)) {
	case ".pl":
		perl := "perl"
		if v, _ := sysconfig.LookupEnv(env, "PERL"); v != "" {
			perl = v
		}
		return []string{perl, p}, nil
	case ".sh":
		return []string{"sh", p}, nil
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("script %s is not executable and not .sh or .PL: make it executable or rename it", p)
	}
	return []string{p}, nil
}

// runScript runs one install script in the hotfix directory, its output to out.
func (h *Host) runScript(ctx context.Context, d *Dir, name string, env []string, out io.Writer) error {
	argv, err := scriptArgv(d, InstallDir, name, env)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "==> %s: running %s\n", d.Version, filepath.Join(InstallDir, name))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = d.Path
	cmd.Env = env
	// Not nil: exec would open /dev/null, which an installroot that rpm chroots into for
	// the %post that runs us may not have.
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Run(); err != nil {
		return &ScriptError{Version: d.Version, Dir: d.Path, Script: filepath.Join(InstallDir, name), Err: err}
	}
	return nil
}

// ScriptError is an install script that failed: the install stops, the ledger is not
// written and the backups stay.
type ScriptError struct {
	Version Version
	Dir     string
	Script  string
	Err     error
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("hotfix %s: install script %s failed: %v", e.Version, e.Script, e.Err)
}

func (e *ScriptError) Unwrap() error { return e.Err }

// Hint says what to do next.
func (e *ScriptError) Hint() string {
	return fmt.Sprintf("read the install log in %s, fix the cause, then run hotchain apply %s again to finish (it resumes at %s) or hotchain rollback %s to undo", e.Dir, e.Dir, e.Script, e.Version)
}
