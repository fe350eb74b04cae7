package lock

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParentDirsCreatedWithMode0755(t *testing.T) {
	// A strict umask must not make the directories unreadable for status output.
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	root := t.TempDir()
	path := filepath.Join(root, "var", "lock", "shop-hotfix.lock", "pidfile")
	l := New(path)
	if err := l.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	for _, d := range []string{"var", "var/lock", "var/lock/shop-hotfix.lock"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want a directory with 0755", d, fi.Mode())
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file mode goes through the umask too; it must at least stay private to writes.
	if fi.Mode().Perm()&0o022 != 0 {
		t.Errorf("lock file mode %v is writable by others", fi.Mode())
	}
}

func TestExistingParentModeKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l := New(filepath.Join(dir, "ts.lock"))
	if err := l.TryLock(); err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("existing directory's mode changed to %v", fi.Mode())
	}
}

func TestRefusesUnsafePaths(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(root, "open")
	sticky := filepath.Join(root, "sticky")
	for _, d := range []string{open, sticky} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "victim")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(real, "planted.lock")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(real, "dir.lock"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{"symlinked lock directory", filepath.Join(root, "link", "ts.lock"), "is a symbolic link"},
		{"world-writable directory", filepath.Join(open, "ts.lock"), "world-writable without the sticky bit"},
		{"world-writable ancestor", filepath.Join(open, "sub", "ts.lock"), "world-writable without the sticky bit"},
		{"symlink at the lock path", filepath.Join(real, "planted.lock"), "not a regular file"},
		{"directory at the lock path", filepath.Join(real, "dir.lock"), "not a regular file"},
		{"file on the way", filepath.Join(target, "ts.lock"), "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New(tc.path).TryLock()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("TryLock(%s) = %v, want an error containing %q", tc.path, err, tc.wantErr)
			}
			if IsHeld(err) {
				t.Error("an unsafe path was reported as a held lock")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(open, "sub")); !os.IsNotExist(err) {
		t.Errorf("a directory was created below the world-writable one (stat: %v)", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "keep me\n" {
		t.Errorf("the symlink's target was written: %q", data)
	}

	// Allowed: a sticky world-writable directory (like /run/lock) and a symlink on the way that
	// belongs to us (like /var/lock -> /run/lock).
	for _, p := range []string{
		filepath.Join(sticky, "ts.lock"),
		filepath.Join(root, "link", "sub", "ts.lock"),
	} {
		l := New(p)
		if err := l.TryLock(); err != nil {
			t.Errorf("TryLock(%s): %v", p, err)
			continue
		}
		l.Unlock()
	}
}

func TestRefusesForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
	const nobody = 65534
	root := t.TempDir()
	dir := filepath.Join(root, "theirs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := New(filepath.Join(dir, "ts.lock")).TryLock(); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("lock in another user's directory: %v, want a refusal", err)
	}

	file := filepath.Join(root, "planted.lock")
	if err := os.WriteFile(file, []byte("1\nforged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	err := New(file).TryLock()
	if err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("lock file of another user: %v, want a refusal", err)
	}
	if locked, _ := IsLocked(file); locked {
		t.Error("the refused lock was left held")
	}
}
