// Package script holds how a hotfix's scripts run on a host: which of its Install/ scripts a
// role runs in which phase, their environment and interpreter, and the health checks (its
// Check/ scripts and HEALTH_CMD) with their retries. A script runs in a process group of its
// own, dies with hotchain and holds the install lock while it runs. It must not change the
// product tree, the ledger or the journal itself, nor take the install lock: the applier
// decides when a script runs and what its failure means.
package script

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/hotchain/hotchain/hotfix"
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

// For picks the scripts a role runs in a phase from names (any order) and orders
// them by bytes; on a single host the -final scripts come after all others.
func For(role sysconfig.Role, phase Phase, names []string) []string {
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

// Install lists the names of the scripts directly in the hotfix's Install/.
func Install(d *hotfix.Dir) []string { return scriptsIn(d, hotfix.InstallDir) }

// scriptsIn lists the names of the scripts directly in the hotfix's sub-directory sub
// (Install/, Check/).
func scriptsIn(d *hotfix.Dir, sub string) []string {
	var names []string
	for _, e := range d.Entries {
		if rest, ok := strings.CutPrefix(e.Rel, sub+"/"); ok && !strings.Contains(rest, "/") && !e.IsDir() {
			names = append(names, rest)
		}
	}
	return names
}

// Runner runs the scripts of hotfixes on one host.
type Runner struct {
	// Cfg is the host's settings (sysconfig.Config.ResolvePaths).
	Cfg *sysconfig.Config
	// Environ is the environment that scripts start from.
	Environ []string
	// LockFile is the open file of the LOCK_TS that this process holds, or nil: scripts get
	// it as fd 3, so that the lock stays held while a script runs on after a kill -9.
	LockFile *os.File
}

// Env is the environment of install scripts: the host's, then SCRIPT_ENV_FILE's variables,
// then what says which hotfix runs where; token is the held LOCK_TS's (lock.EnvVar), if any.
func (r Runner) Env(d *hotfix.Dir, token string) ([]string, error) {
	env := append([]string(nil), r.Environ...)
	if f := r.Cfg.ScriptEnvFile; f != "" {
		vars, err := sysconfig.ReadEnvFile(r.Cfg.InRoot(f))
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("SCRIPT_ENV_FILE: %w", err)
		}
		env = append(env, vars...)
	}
	env = append(env,
		"HOTFIX_VERSION="+d.Version.String(),
		"HOTFIX_DIR="+d.Path,
		"HOST_ROLE="+string(r.Cfg.HostRole),
		"PRODUCT_ROOT="+r.Cfg.InRoot(r.Cfg.ProductRoot),
	)
	if token != "" {
		env = append(env, lock.EnvVar+"="+token)
	}
	return env, nil
}

// Run runs one install script in the hotfix directory, its output to out.
func (r Runner) Run(ctx context.Context, d *hotfix.Dir, name string, env []string, out io.Writer) error {
	argv, err := Argv(d, hotfix.InstallDir, name, env)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "==> %s: running %s\n", d.Version, filepath.Join(hotfix.InstallDir, name))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	r.orphanSafe(cmd)
	cmd.Dir = d.Path
	cmd.Env = env
	// Not nil: exec would open /dev/null, which an installroot that rpm chroots into for
	// the %post that runs us may not have.
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout = out
	cmd.Stderr = out
	if err := startLocked(cmd); err != nil {
		return &Error{Version: d.Version, Dir: d.Path, Script: filepath.Join(hotfix.InstallDir, name), Err: err}
	}
	if err := cmd.Wait(); err != nil {
		return &Error{Version: d.Version, Dir: d.Path, Script: filepath.Join(hotfix.InstallDir, name), Err: err}
	}
	return nil
}

// Argv is how a script of the hotfix's sub-directory sub runs: .pl with PERL (or
// perl), .sh with sh, anything else as an executable. It checks that the script can run that
// way: a regular file, executable when it runs itself, and its interpreter (#! line, perl or
// sh) found; the apply checks its Install/ scripts so before its first write.
func Argv(d *hotfix.Dir, sub, name string, env []string) ([]string, error) {
	p := filepath.Join(d.Path, sub, name)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("script %s is not a regular file", p)
	}
	var argv []string
	switch strings.ToLower(path.Ext(name)) {
	case ".pl":
		perl := "perl"
		if v, _ := sysconfig.LookupEnv(env, "PERL"); v != "" {
			perl = v
		}
		argv = []string{perl, p}
	case ".sh":
		argv = []string{"sh", p}
	default:
		if fi.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("script %s is not executable and not .sh or .PL: make it executable or rename it", p)
		}
		if interp, ok := shebang(p); ok {
			if _, err := exec.LookPath(interp); err != nil {
				return nil, fmt.Errorf("script %s: its interpreter %s (#! line) cannot be run: %v", p, interp, err)
			}
		}
		return []string{p}, nil
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("script %s needs %s, which cannot be run: %v", p, argv[0], err)
	}
	return argv, nil
}

// shebang returns the interpreter a script's #! line names, if it has one.
func shebang(p string) (string, bool) {
	f, err := os.Open(p)
	if err != nil {
		return "", false
	}
	defer f.Close()
	buf := make([]byte, 256) // the kernel reads at most this much of a #! line
	n, _ := io.ReadFull(f, buf)
	line, ok := strings.CutPrefix(string(buf[:n]), "#!")
	if !ok {
		return "", false
	}
	line, _, _ = strings.Cut(line, "\n")
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "", false
	}
	return fields[0], true
}

// orphanSafe makes a script's process die with this one and keeps LOCK_TS held by whatever
// of it outlives this process. A script runs in a process group of its own, which a cancelled
// run kills whole; the kernel kills the script when this process dies (Pdeathsig, see
// startLocked); and the script and everything it starts get the open lock file as fd 3
// (flock locks belong to the open file), so a child the script left running keeps the
// install lock held after a kill -9 of this process, and the next apply refuses until it
// has finished instead of running the script a second time beside it. A normal end releases
// the lock for them all (Lock.Unlock).
func (r Runner) orphanSafe(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if r.LockFile != nil {
		cmd.ExtraFiles = []*os.File{r.LockFile}
	}
}

// startLocked starts cmd from a thread that stays alive as long as this process: Pdeathsig
// fires when the thread that forked the child ends, not the process, and Go ends a thread
// only when a goroutine locked to it returns without unlocking.
func startLocked(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return cmd.Start()
}

// Error is an install script that failed: the install stops, the ledger is not
// written and the backups stay.
type Error struct {
	Version hotfix.Version
	Dir     string
	Script  string
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("hotfix %s: install script %s failed: %v", e.Version, e.Script, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Hint says what to do next.
func (e *Error) Hint() string {
	return fmt.Sprintf("read the install log in %s, fix the cause, then run hotchain apply %s again to finish (it resumes at %s) or hotchain rollback %s to undo", e.Dir, e.Dir, e.Script, e.Version)
}
