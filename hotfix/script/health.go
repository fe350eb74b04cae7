package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/sysconfig"
)

// CheckDir holds a hotfix's own health checks: scripts named and chosen by role as the
// Install/ scripts are, run after the apply with the same environment.
const CheckDir = "Check"

// RetryWait is the pause between two tries of a failing health check (tests shorten it).
var RetryWait = 5 * time.Second

// HealthError is a failed health check: the hotfix (Version; nil for the check of a whole
// run) broke the product, or the check could not tell that it did not.
type HealthError struct {
	Version hotfix.Version
	Check   string // what failed: Check/NAME or the HEALTH_CMD line
	Output  string // what the failing check printed, its last try
	Err     error
}

func (e *HealthError) Error() string {
	what := "the product"
	if e.Version != nil {
		what = "hotfix " + e.Version.String()
	}
	return fmt.Sprintf("%s failed its health check %s: %v", what, e.Check, e.Err)
}

func (e *HealthError) Unwrap() error { return e.Err }

// Hint says what to do next.
func (e *HealthError) Hint() string {
	if e.Version == nil {
		return "look at the product (the check's output is above); hotchain rollback undoes the newest hotfix"
	}
	return fmt.Sprintf("hotfix %s was rolled back; its check's output is above: fix the cause, or ask the vendor, then install it again", e.Version)
}

// IsHealth tells a failed health check from other errors.
func IsHealth(err error) bool {
	var h *HealthError
	return errors.As(err, &h)
}

// Checks are the checks of hotfix d for this host's role (its Check/ scripts, in the
// order Install/ scripts run) and HEALTH_CMD; d nil gives HEALTH_CMD alone.
func (r Runner) Checks(d *hotfix.Dir, role sysconfig.Role) ([]string, error) {
	var checks []string
	if d != nil {
		for _, s := range For(role, PhaseInstall, scriptsIn(d, CheckDir)) {
			checks = append(checks, CheckDir+"/"+s)
		}
	}
	if strings.TrimSpace(r.Cfg.HealthCmd) != "" {
		checks = append(checks, r.Cfg.HealthCmd)
	}
	return checks, nil
}

// HasChecks says whether applying d runs any health check.
func (r Runner) HasChecks(d *hotfix.Dir) bool {
	c, _ := r.Checks(d, r.Cfg.HostRole)
	return len(c) > 0
}

// HealthCheck runs the health checks after hotfix d's apply (d nil: after a whole run), each
// try within HEALTH_TIMEOUT, up to HEALTH_RETRIES tries RetryWait apart. env is the
// install scripts' environment. It returns a *HealthError when a check still fails after
// the last try.
func (r Runner) HealthCheck(ctx context.Context, d *hotfix.Dir, role sysconfig.Role, env []string, out io.Writer) error {
	checks, err := r.Checks(d, role)
	if err != nil || len(checks) == 0 {
		return err
	}
	tries := max(r.Cfg.HealthRetries, 1)
	timeout := r.Cfg.HealthTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	var last *HealthError
	for try := 1; try <= tries; try++ {
		if try > 1 {
			fmt.Fprintf(out, "==> health check failed (%v); trying again in %s (%d of %d)\n", last.Err, RetryWait, try, tries)
			select {
			case <-ctx.Done():
				return last
			case <-time.After(RetryWait):
			}
		}
		last = nil
		for _, c := range checks {
			if err := r.runCheck(ctx, d, c, env, timeout, out); err != nil {
				last = err
				break
			}
		}
		if last == nil {
			return nil
		}
		last.Version = nil
		if d != nil {
			last.Version = d.Version
		}
	}
	return last
}

// runCheck runs one check: a Check/ script of d, or the HEALTH_CMD line.
func (r Runner) runCheck(ctx context.Context, d *hotfix.Dir, check string, env []string, timeout time.Duration, out io.Writer) *HealthError {
	var argv []string
	dir := ""
	if name, ok := strings.CutPrefix(check, CheckDir+"/"); ok && d != nil {
		a, err := Argv(d, CheckDir, name, env)
		if err != nil {
			return &HealthError{Check: check, Err: err}
		}
		argv, dir = a, d.Path
	} else {
		words, err := sysconfig.Split(check)
		if err != nil || len(words) == 0 {
			return &HealthError{Check: "HEALTH_CMD", Err: fmt.Errorf("HEALTH_CMD=%q cannot be split into words: %v", check, err)}
		}
		argv = words
	}
	what := check
	if d != nil {
		what = d.Version.String() + ": " + check
	}
	fmt.Fprintf(out, "==> health check %s\n", what)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var buf bytes.Buffer
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	r.orphanSafe(cmd) // a timeout kills the whole check
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader("")
	cmd.Stdout = io.MultiWriter(out, &buf)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = time.Second
	err := startLocked(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = fmt.Errorf("no answer within HEALTH_TIMEOUT (%s)", timeout)
	}
	if err != nil {
		return &HealthError{Check: check, Output: buf.String(), Err: err}
	}
	return nil
}
