package sysconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	for _, d := range []string{"etc/opt/shop", "run/lock", "data/ledger", "srv"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"var/lock":       "/run/lock",                    // absolute, as on Debian: inside the root
		"var/run":        "../run",                       // relative, inside
		"etc/ledger":     "../data/ledger",               // relative, inside
		"etc/escape":     "../../../../../../" + outside, // relative, climbs out
		"etc/abs-out":    outside,                        // absolute: taken inside the root
		"etc/loop1":      "loop2",
		"etc/loop2":      "loop1",
		"etc/deep":       "/srv/../etc/ledger/x", // absolute, with .. that stays inside
		"etc/up":         "/..",                  // .. at the root after an absolute target
		"etc/opt/shop/l": "../../../var/lock",    // a chain of symlinks
	} {
		p := filepath.Join(root, link)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &Config{Root: root}
	for _, tc := range []struct {
		path, want, err string
	}{
		{"/etc/opt/shop/hotfix", "/etc/opt/shop/hotfix", ""},
		{"/var/lock/shop-hotfix.lock/ts.lock", "/run/lock/shop-hotfix.lock/ts.lock", ""},
		{"/var/run/x", "/run/x", ""},
		{"/etc/ledger", "/data/ledger", ""},
		{"/etc/ledger/../srv", "/etc/srv", ""}, // the path's own .. is lexical, as InRoot has it
		{"/../../etc/ledger", "/data/ledger", ""},
		{"/etc/abs-out/ledger", outside + "/ledger", ""},
		{"/etc/deep", "/data/ledger/x", ""},
		{"/etc/opt/shop/l/y", "/run/lock/y", ""},
		{"/etc/escape/ledger", "", "symlink " + root + "/etc/escape -> ../../../../../../" + outside + " leads out of the root"},
		{"/etc/up/x", "", "leads out of the root"},
		{"/etc/loop1/x", "", "more than 40 symlinks"},
	} {
		got, err := cfg.Resolve(tc.path)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %q, %v; want an error with %q", tc.path, got, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.path, err)
		case got != filepath.Join(root, tc.want):
			t.Errorf("%s: %s, want %s", tc.path, got, filepath.Join(root, tc.want))
		}
	}
}

func TestResolvePaths(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/opt/shop"), 0o755)
	os.MkdirAll(filepath.Join(root, "var/opt"), 0o755)
	os.Symlink("/data/ledger", filepath.Join(root, "etc/opt/shop/hotfix"))
	os.Symlink("../../../outside", filepath.Join(root, "var/opt/shop"))
	cfg := &Config{Root: root, LedgerDir: "/etc/opt/shop/hotfix", PatchesDir: "/var/opt/shop/Patches", StateDir: "/var/lib/shop-hotfix"}
	err := cfg.ResolvePaths()
	var re *RootError
	if !errors.As(err, &re) || re.Key != "PATCHES_DIR" || !strings.Contains(err.Error(), "var/opt/shop -> ../../../outside leads out of the root") {
		t.Fatalf("ResolvePaths: %v", err)
	}
	if cfg.LedgerDir != "/data/ledger" || cfg.StateDir != "/var/lib/shop-hotfix" {
		t.Errorf("LEDGER_DIR %s, STATE_DIR %s", cfg.LedgerDir, cfg.StateDir)
	}
	// Without -root, nothing changes.
	cfg = &Config{LedgerDir: "/etc/opt/shop/hotfix"}
	if err := cfg.ResolvePaths(); err != nil || cfg.LedgerDir != "/etc/opt/shop/hotfix" {
		t.Errorf("no root: %v, %s", err, cfg.LedgerDir)
	}
}
