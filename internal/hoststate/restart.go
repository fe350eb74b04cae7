package hoststate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/sysconfig"
)

// Restart requirements: a hotfix's restart.txt (hotfix.Restart) says what must restart once
// it is applied. After an apply the agent (and hotchain apply) runs RESTART_CMD for
// services and product, once per run; what is not done yet (no RESTART_CMD, it failed, or a
// reboot) is recorded in STATE_DIR/restart.json until hotchain restarted clears it, or
// until the host boots again: a new boot restarts everything, so a requirement recorded
// during an earlier boot is done.

// RestartState is STATE_DIR/restart.json: what must still restart on this host.
type RestartState struct {
	Kind     string    `json:"kind,omitempty"`     // services or product; "" when only a reboot waits
	Services []string  `json:"services,omitempty"` // kind services: the names, in the order asked
	Reboot   bool      `json:"reboot,omitempty"`
	BootID   string    `json:"boot_id,omitempty"` // the boot during which the last requirement was recorded
	Hotfixes []string  `json:"hotfixes"`          // that asked for it
	Since    time.Time `json:"since"`
	Error    string    `json:"error,omitempty"` // why RESTART_CMD did not do it
}

// maxRestartStateSize bounds restart.json: some names and versions.
const maxRestartStateSize = 64 << 10

// bootIDFile changes at every boot (Linux).
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// ReadBootID is the kernel's id of the running boot; "" (and no error) where there is none.
func ReadBootID() (string, error) {
	b, err := boundedio.ReadFile(bootIDFile, "boot id", 4<<10)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func RestartFile(cfg *sysconfig.Config) string {
	return filepath.Join(cfg.InRoot(cfg.StateDir), "restart.json")
}

// ReadRestart reads the recorded requirement; nil when none is recorded, or when the host
// booted since (bootID differs from the recorded one; "" is unknown and never clears).
func ReadRestart(cfg *sysconfig.Config, bootID string) (*RestartState, error) {
	p := RestartFile(cfg)
	data, err := boundedio.ReadFile(p, "restart requirement", maxRestartStateSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s RestartState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, cli.WithHint(fmt.Errorf("read the restart requirement %s: %w", p, err), "restart what the applied hotfixes' restart.txt name, then run hotchain restarted")
	}
	if s.BootID != "" && bootID != "" && s.BootID != bootID {
		return nil, nil
	}
	if s.Kind == "" && !s.Reboot {
		return nil, nil
	}
	return &s, nil
}

// WriteRestart replaces restart.json atomically, or removes it when nothing is required.
func WriteRestart(cfg *sysconfig.Config, s *RestartState) error {
	p := RestartFile(cfg)
	if s == nil || s.Kind == "" && !s.Reboot {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clear the restart requirement: %w", err)
		}
		return nil
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("record the restart requirement: %w", err)
	}
	if err := atomicfile.Write(p, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("record the restart requirement: %w", err)
	}
	return nil
}

// Add records what hotfix v's restart.txt asks for.
func (s *RestartState) Add(v string, req hotfix.Restart, bootID string, now time.Time) {
	if req.Kind == hotfix.RestartNone || req.Kind == "" {
		return
	}
	switch req.Kind {
	case hotfix.RestartReboot:
		s.Reboot = true
	case hotfix.RestartProduct:
		s.Kind, s.Services = hotfix.RestartProduct, nil
	case hotfix.RestartServices:
		if s.Kind == hotfix.RestartProduct {
			break // the product's restart restarts its services
		}
		s.Kind = hotfix.RestartServices
		for _, n := range req.Services {
			if !slices.Contains(s.Services, n) {
				s.Services = append(s.Services, n)
			}
		}
	}
	if !slices.Contains(s.Hotfixes, v) {
		s.Hotfixes = append(s.Hotfixes, v)
	}
	if s.Since.IsZero() {
		s.Since = now.UTC().Truncate(time.Second)
	}
	s.BootID = bootID
}

// What says What must restart: "restart of shop-web required", "reboot required".
func (s *RestartState) What() string {
	if s == nil {
		return ""
	}
	var parts []string
	switch s.Kind {
	case hotfix.RestartServices:
		parts = append(parts, "restart of "+strings.Join(s.Services, " ")+" required")
	case hotfix.RestartProduct:
		parts = append(parts, "product restart required")
	}
	if s.Reboot {
		parts = append(parts, "reboot required")
	}
	return strings.Join(parts, ", ")
}

// Restarter records the requirements of the hotfixes applied by one run and runs
// RESTART_CMD for them, at most once.
type Restarter struct {
	Config  *sysconfig.Config
	Environ []string
	Out     io.Writer
	BootID  func() (string, error)
	Now     func() time.Time
	History *HistorySink // nil: no history
}

// After records what the hotfix directories dirs (applied, in chain order) ask for, merged
// with what was recorded before, and runs RESTART_CMD for a services or product restart
// when it is set. It returns what is still required (nil: nothing).
func (rs Restarter) After(ctx context.Context, dirs []string) (*RestartState, error) {
	boot, err := rs.BootID()
	if err != nil {
		return nil, fmt.Errorf("read the boot id: %w", err)
	}
	s, err := ReadRestart(rs.Config, boot)
	if err != nil {
		return nil, err
	}
	if s == nil {
		s = &RestartState{}
	}
	for _, dir := range dirs {
		req, err := hotfix.ReadRestart(filepath.Join(dir, hotfix.RestartFile))
		if err != nil {
			return nil, err
		}
		if req.Kind != hotfix.RestartNone {
			s.Add(DirVersion(dir), req, boot, rs.Now())
		}
	}
	if s.Kind != "" && strings.TrimSpace(rs.Config.RestartCmd) != "" {
		extra := []string{"HOTCHAIN_RESTART=" + s.Kind, "HOTCHAIN_SERVICES=" + strings.Join(s.Services, " ")}
		started := time.Now()
		err := RunSettingCommand(ctx, rs.Config, rs.Environ, rs.Out, "RESTART_CMD", rs.Config.RestartCmd, extra)
		rs.History.Record(history.Event{Event: history.Restart, Detail: strings.TrimSpace(s.Kind + " " + strings.Join(s.Services, " "))}, started, err)
		if err != nil {
			s.Error = err.Error()
			if werr := WriteRestart(rs.Config, s); werr != nil {
				return s, werr
			}
			return s, cli.WithHint(fmt.Errorf("RESTART_CMD failed, the %s is still required: %w", strings.TrimSuffix(s.What(), " required"), err),
				"restart it by hand, then run hotchain restarted")
		}
		s.Kind, s.Services, s.Error = "", nil, ""
		if !s.Reboot {
			s.Hotfixes = nil
		}
	}
	if s.Kind == "" && !s.Reboot {
		return nil, WriteRestart(rs.Config, nil)
	}
	rs.History.Record(history.Event{Event: history.RestartRequired, Detail: s.What() + " (" + strings.Join(s.Hotfixes, " ") + ")", Outcome: history.Skipped}, time.Time{}, nil)
	return s, WriteRestart(rs.Config, s)
}

// RunSettingCommand runs a command line from the settings (PRE_HOOK, RESTART_CMD): split into
// words, no shell, with environ, SCRIPT_ENV_FILE, the settings and extra in its environment.
func RunSettingCommand(ctx context.Context, cfg *sysconfig.Config, environ []string, out io.Writer, key, line string, extra []string) error {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	words, err := sysconfig.Split(line)
	if err != nil || len(words) == 0 {
		return fmt.Errorf("%s=%q cannot be split into words: %v", key, line, err)
	}
	env := slices.Clone(environ)
	if f := cfg.ScriptEnvFile; f != "" && cli.FileExists(cfg.InRoot(f)) {
		vars, err := sysconfig.ReadEnvFile(cfg.InRoot(f))
		if err != nil {
			return fmt.Errorf("SCRIPT_ENV_FILE: %w", err)
		}
		env = append(env, vars...)
	}
	env = append(env, cfg.Env()...)
	env = append(env, extra...)
	fmt.Fprintf(out, "==> %s: %s\n", key, line)
	cmd := exec.CommandContext(ctx, words[0], words[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", words[0], err)
	}
	return nil
}

// DirVersion names the hotfix at dir by its version.txt (ReadDir checked it before the
// apply), else by the directory's name.
func DirVersion(dir string) string {
	if v, err := hotfix.ReadVersionFile(dir); err == nil {
		return v.String()
	}
	return filepath.Base(dir)
}

// RestartRequired is 1 when an applied hotfix asked for a restart or reboot that is not
// done yet (on this boot), for the metrics.
func RestartRequired(cfg *sysconfig.Config) bool {
	boot, _ := ReadBootID()
	s, err := ReadRestart(cfg, boot)
	return err == nil && s != nil
}
