package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
)

// TestInitScriptStartRecoversFirst runs the init script with sh, hotchain replaced by a
// script that logs its arguments and fails as told: start runs recover, then enables the
// nightly runs whatever recover said, and exits with recover's status.
func TestInitScriptStartRecoversFirst(t *testing.T) {
	testutil.RequireTool(t, "sh")
	for _, tc := range []struct {
		action               string
		recoverRC, serviceRC int
		wantRC               int
		wantCalls            string
	}{
		{"start", 0, 0, 0, "recover -config /etc/sysconfig/shop-hotfix|service start -config /etc/sysconfig/shop-hotfix"},
		{"start", 5, 0, 5, "recover -config /etc/sysconfig/shop-hotfix|service start -config /etc/sysconfig/shop-hotfix"},
		{"start", 0, 3, 3, "recover -config /etc/sysconfig/shop-hotfix|service start -config /etc/sysconfig/shop-hotfix"},
		{"stop", 0, 0, 0, "service stop -config /etc/sysconfig/shop-hotfix"},
		{"status", 0, 3, 3, "service status -config /etc/sysconfig/shop-hotfix"},
	} {
		t.Run(fmt.Sprintf("%s_%d_%d", tc.action, tc.recoverRC, tc.serviceRC), func(t *testing.T) {
			dir := t.TempDir()
			calls := filepath.Join(dir, "calls")
			fake := filepath.Join(dir, "hotchain")
			body := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\ncase \"$1\" in recover) exit %d;; esac\nexit %d\n", calls, tc.recoverRC, tc.serviceRC)
			if err := os.WriteFile(fake, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			script := filepath.Join(dir, "init")
			if err := os.WriteFile(script, []byte(strings.ReplaceAll(initScript("shop"), HotchainPath, fake)), 0o755); err != nil {
				t.Fatal(err)
			}
			err := exec.Command("sh", script, tc.action).Run()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(calls)
			if got := strings.Join(strings.Split(strings.TrimSpace(string(data)), "\n"), "|"); rc != tc.wantRC || got != tc.wantCalls {
				t.Errorf("%s: exit %d, calls %q; want exit %d, calls %q", tc.action, rc, got, tc.wantRC, tc.wantCalls)
			}
		})
	}
}

// TestRecoverUnitVerifies checks the boot unit with systemd's own parser.
func TestRecoverUnitVerifies(t *testing.T) {
	testutil.RequireTool(t, "systemd-analyze")
	dir := t.TempDir()
	fake := filepath.Join(dir, "hotchain")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, RecoverUnit("shop"))
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(systemdRecover("shop"), HotchainPath, fake)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", unit).CombinedOutput()
	if err != nil || strings.Contains(string(out), RecoverUnit("shop")+":") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"Type=oneshot\n", "ExecStart=/usr/sbin/hotchain recover -config /etc/sysconfig/shop-hotfix\n", "WantedBy=multi-user.target\n", "After=local-fs.target network-online.target\n", "Before=shop-hotfix.service\n"} {
		if !strings.Contains(systemdRecover("shop"), want) {
			t.Errorf("recover unit lacks %q", want)
		}
	}
}
