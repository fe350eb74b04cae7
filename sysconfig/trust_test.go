package sysconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/filetrust"
)

const nobody = 65534 // nobody:nogroup on Debian and RHEL

// TestUnsafeSettingsRefused: as root, a settings file, SCRIPT_ENV_FILE or TARBALL_KEY that
// another user could have written is refused with the path, the owner and mode, and the
// command that fixes it; a 0644 file of root's in root's directories is used. The files lie
// inside a -root directory, and the file inside it is the one checked.
func TestUnsafeSettingsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the rule holds only for root (tests run as root)")
	}
	const settings = "/etc/sysconfig/shop-hotfix"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root, full string) // full: the settings file inside root
		msg   string                                // %s: root
		hint  string
	}{
		{name: "safe", setup: func(t *testing.T, root, full string) {}},
		{name: "group-writable, group root", setup: func(t *testing.T, root, full string) { chmod(t, full, 0o664) }},
		{name: "world-writable", setup: func(t *testing.T, root, full string) { chmod(t, full, 0o666) },
			msg:  "settings file ROOT/etc/sysconfig/shop-hotfix is writable by every user (owner root, group root, mode -rw-rw-rw-): hotchain runs as root and does not use a file that another user can change",
			hint: "chmod o-w ROOT/etc/sysconfig/shop-hotfix"},
		{name: "group-writable, group nogroup", setup: func(t *testing.T, root, full string) { chmod(t, full, 0o664); chown(t, full, 0, nobody) },
			msg:  "settings file ROOT/etc/sysconfig/shop-hotfix is writable by the group nogroup (owner root, group nogroup, mode -rw-rw-r--): hotchain runs as root and does not use a file that another user can change",
			hint: "chmod g-w ROOT/etc/sysconfig/shop-hotfix"},
		{name: "owned by another user", setup: func(t *testing.T, root, full string) { chown(t, full, nobody, 0) },
			msg:  "settings file ROOT/etc/sysconfig/shop-hotfix is owned by nobody, not root (owner nobody, group root, mode -rw-r--r--): hotchain runs as root and does not use a file that another user can change",
			hint: "chown root ROOT/etc/sysconfig/shop-hotfix (and check what the user changed in it)"},
		{name: "symlink to a file of another user", setup: func(t *testing.T, root, full string) {
			other := filepath.Join(root, "home/bob/settings")
			writeFile(t, other, "PRODUCT=shop\n")
			chown(t, other, nobody, nobody)
			os.Remove(full)
			if err := os.Symlink("../../home/bob/settings", full); err != nil {
				t.Fatal(err)
			}
		},
			msg:  "settings file ROOT/etc/sysconfig/shop-hotfix (a symlink to ROOT/home/bob/settings) is owned by nobody, not root (owner nobody, group nogroup, mode -rw-r--r--): hotchain runs as root and does not use a file that another user can change",
			hint: "chown root ROOT/home/bob/settings (and check what the user changed in it)"},
		{name: "world-writable directory", setup: func(t *testing.T, root, full string) { chmod(t, filepath.Dir(full), 0o777) },
			msg:  "settings file ROOT/etc/sysconfig/shop-hotfix lies in ROOT/etc/sysconfig, which is writable by every user (owner root, group root, mode drwxrwxrwx): hotchain runs as root and does not use a file that another user can change",
			hint: "chmod o-w ROOT/etc/sysconfig"},
		{name: "directory of another user", setup: func(t *testing.T, root, full string) { chown(t, filepath.Join(root, "etc"), nobody, 0) },
			msg:  "settings file ROOT/etc/sysconfig/shop-hotfix lies in ROOT/etc, which is owned by nobody, not root (owner nobody, group root, mode drwxr-xr-x): hotchain runs as root and does not use a file that another user can change",
			hint: "chown root ROOT/etc (and check what the user changed in it)"},
		{name: "sticky world-writable directory", setup: func(t *testing.T, root, full string) { chmod(t, filepath.Dir(full), 0o777|os.ModeSticky) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			full := filepath.Join(root, settings)
			writeFile(t, full, "PRODUCT=shop\nSCRIPT_ENV_FILE=/etc/default/shop\n")
			tc.setup(t, root, full)
			_, err := Load(root, settings, nil)
			checkUnsafe(t, err, tc.msg, tc.hint, root)
		})
	}
}

// TestUnsafeScriptEnvFileRefused: sh sources SCRIPT_ENV_FILE as root; one that every user can
// write is refused before sh runs it.
func TestUnsafeScriptEnvFileRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the rule holds only for root (tests run as root)")
	}
	root := t.TempDir()
	p := filepath.Join(root, "etc/default/shop")
	marker := filepath.Join(root, "ran")
	writeFile(t, p, "SHOP=/opt/shop\ntouch "+marker+"\n")
	chmod(t, p, 0o666)
	_, err := ReadEnvFile(p)
	checkUnsafe(t, err, "SCRIPT_ENV_FILE ROOT/etc/default/shop is writable by every user (owner root, group root, mode -rw-rw-rw-): hotchain runs as root and does not use a file that another user can change",
		"chmod o-w ROOT/etc/default/shop", root)
	if _, err := os.Stat(marker); err == nil {
		t.Error("sh ran the refused file")
	}
	chmod(t, p, 0o644)
	if env, err := ReadEnvFile(p); err != nil || len(env) != 1 || env[0] != "SHOP=/opt/shop" {
		t.Errorf("0644 file: %q, %v", env, err)
	}
}

// TestUnsafeTarballKeyRefused: whoever can write TARBALL_KEY picks the tarballs whose
// Install scripts run as root.
func TestUnsafeTarballKeyRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the rule holds only for root (tests run as root)")
	}
	root := t.TempDir()
	p := filepath.Join(root, "etc/pki/shop-hotfix/tarball-key.pem")
	writeFile(t, p, "-----BEGIN PUBLIC KEY-----\n")
	if _, err := ReadTrusted(p, "TARBALL_KEY", 1<<20); err != nil {
		t.Errorf("0644 key: %v", err)
	}
	chown(t, p, nobody, nobody)
	_, err := ReadTrusted(p, "TARBALL_KEY", 1<<20)
	checkUnsafe(t, err,
		"TARBALL_KEY ROOT/etc/pki/shop-hotfix/tarball-key.pem is owned by nobody, not root (owner nobody, group nogroup, mode -rw-r--r--): hotchain runs as root and does not use a file that another user can change",
		"chown root ROOT/etc/pki/shop-hotfix/tarball-key.pem (and check what the user changed in it)", root)
	if _, err := ReadTrusted(filepath.Join(root, "missing.pem"), "TARBALL_KEY", 1<<20); !os.IsNotExist(err) {
		t.Errorf("missing key: %v, want a missing file, not a refusal", err)
	}
}

// TestOversizedSettingsRefused: a settings file or SCRIPT_ENV_FILE beyond its limit is refused
// with the file and the limit, and reading it costs next to nothing.
func TestOversizedSettingsRefused(t *testing.T) {
	root := t.TempDir()
	full := filepath.Join(root, "etc/sysconfig/shop-hotfix")
	writeFile(t, full, "PRODUCT=shop\n")
	if err := os.Truncate(full, 1<<30); err != nil { // 1 GiB, sparse
		t.Fatal(err)
	}
	env := filepath.Join(root, "etc/default/shop")
	writeFile(t, env, "A=1\n")
	if err := os.Truncate(env, 1<<30); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		read func() error
		want string
	}{
		{"Load", func() error { _, err := Load(root, "/etc/sysconfig/shop-hotfix", nil); return err },
			"settings file " + full + " is larger than 1 MiB, the most hotchain reads of it: refused"},
		{"Locate", func() error { _, err := Locate(root, nil); return err },
			"settings file " + full + " is larger than 1 MiB, the most hotchain reads of it: refused"},
		{"ReadEnvFile", func() error { _, err := ReadEnvFile(env); return err },
			"SCRIPT_ENV_FILE " + env + " is larger than 1 MiB, the most hotchain reads of it: refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := testutil.Allocated(func() { err = tc.read() })
			if err == nil || !boundedio.IsTooLarge(err) || !errorContains(err, tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if n > 1<<20 {
				t.Errorf("refusing a 1 GiB file allocated %d bytes", n)
			}
		})
	}
}

func checkUnsafe(t *testing.T, err error, msg, hint, root string) {
	t.Helper()
	if msg == "" {
		if err != nil {
			t.Fatalf("refused a safe file: %v", err)
		}
		return
	}
	var u *filetrust.UnsafeError
	if !errors.As(err, &u) {
		t.Fatalf("error %v, want an UnsafeError", err)
	}
	if want := replaceRoot(msg, root); err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if want := replaceRoot(hint, root); u.Hint() != want {
		t.Errorf("hint %q, want %q", u.Hint(), want)
	}
}

func replaceRoot(s, root string) string { return strings.ReplaceAll(s, "ROOT", root) }

func errorContains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}
