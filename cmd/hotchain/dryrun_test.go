package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/sysconfig"
)

// TestDryRunTarballLeavesNothing: apply -dry-run of a signed tarball reads it in a private
// directory under TMPDIR and removes it, and makes no PATCHES_DIR; a tarball whose signature
// does not match leaves nothing either.
func TestDryRunTarballLeavesNothing(t *testing.T) {
	cfg, signed, evil, sig := raceTarballs(t)
	host := t.TempDir()
	cfg.Product, cfg.Hostname, cfg.HostRole = "shop", "host1", sysconfig.RoleSingle
	cfg.ProductVersionFile = filepath.Join(host, "opt/shop/version.txt")
	cfg.ProductRoot = filepath.Join(host, "opt/shop")
	cfg.LedgerDir = filepath.Join(host, "etc/opt/shop/hotfix")
	cfg.LockTS = filepath.Join(host, "var/lock/shop-hotfix.lock/ts.lock")
	cfg.ChangeTrees = []sysconfig.ChangeTree{{Dir: "FileChanges", Root: cfg.ProductRoot}}
	for rel, body := range map[string]string{"opt/shop/version.txt": "6.14.2\n", "opt/shop/lib/Core.pm": "core 1\n"} {
		os.MkdirAll(filepath.Dir(filepath.Join(host, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(host, rel), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	in := t.TempDir()
	for _, tc := range []struct {
		name    string
		content []byte
		want    string // in stdout; "" = an error
	}{
		{"signed", signed, "would apply:  yes\nreplace (1):\n  " + filepath.Join(host, "opt/shop/lib/Core.pm") + "\n"},
		{"other content", evil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tarball := filepath.Join(in, "shop-hotfix-6.14.2.1.tar.gz")
			if err := os.WriteFile(tarball, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			copyFile(t, sig, tarball+".sig")
			var stdout, stderr bytes.Buffer
			e := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}
			err := applyDryRun(context.Background(), e, cfg, tarball, false, false)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "signature") {
					t.Errorf("dry run of a tarball with another's signature: %v", err)
				}
			} else if err != nil || !strings.Contains(stdout.String(), tc.want) {
				t.Errorf("dry run: %v\n%s", err, stdout.String())
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left in TMPDIR: %v", left)
			}
			if _, err := os.Lstat(cfg.PatchesDir); !os.IsNotExist(err) {
				t.Errorf("PATCHES_DIR %s: %v, want none", cfg.PatchesDir, err)
			}
			if _, err := os.Lstat(filepath.Dir(cfg.LockTS)); !os.IsNotExist(err) {
				t.Errorf("lock directory: %v, want none", err)
			}
		})
	}
}
