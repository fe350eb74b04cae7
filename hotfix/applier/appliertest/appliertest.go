// Package appliertest holds the sandbox host that the tests of the applier and of the dry
// run share: a root with a product tree at 6.14.2, its settings, hotfixes laid out under
// PATCHES_DIR, and the product and FileRemovals of the removal tests. It is for tests only:
// no program imports it. It must not import the applier (whose own tests use it), so it
// makes no Host: each test makes one from Cfg, Out and Environ.
package appliertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/sysconfig"
)

// Config is the settings of a sandbox host under root, as a settings file with only
// PRODUCT=shop (plus the test's HOSTNAME and role) would give them.
func Config(root, host string, role sysconfig.Role) *sysconfig.Config {
	return &sysconfig.Config{
		Root:               root,
		Product:            "shop",
		ProductRoot:        "/opt/shop",
		ProductVersionFile: "/opt/shop/version.txt",
		PatchesDir:         "/var/opt/shop/Patches",
		LedgerDir:          "/etc/opt/shop/hotfix",
		HostRole:           role,
		Hostname:           host,
		ChangeTrees: []sysconfig.ChangeTree{
			{Dir: "FileChanges", Root: "/opt/shop"},
			{Dir: "StoreTypeChanges", Root: "/var/opt/shop/StoreTypes"},
		},
		ScriptEnvFile: "/etc/default/shop",
		LockTS:        "/var/lock/shop-hotfix.lock/ts.lock",
	}
}

// Sandbox is a host root with a product tree at 6.14.2.
type Sandbox struct {
	T    *testing.T
	Root string
	// Cfg is host1's settings (Config), Out what its Host prints, Environ its environment.
	Cfg     *sysconfig.Config
	Out     *bytes.Buffer
	Environ []string
}

// Epoch is the mtime of the sandbox's product entries; a hotfix's files are an hour newer.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// New makes a sandbox in a t.TempDir for host1 in role.
func New(t *testing.T, role sysconfig.Role) *Sandbox {
	t.Helper()
	root := t.TempDir()
	sb := &Sandbox{T: t, Root: root, Out: &bytes.Buffer{}, Cfg: Config(root, "host1", role),
		Environ: []string{"PATH=" + os.Getenv("PATH")}}
	sb.Write("opt/shop/version.txt", "6.14.2\n", 0o644)
	sb.Write("opt/shop/lib/Shop/Core.pm", "core 1\n", 0o644)
	sb.Write("opt/shop/lib/Shop/Cart.pm", "cart 1\n", 0o640)
	sb.Write("opt/shop/bin/shopctl", "#!/bin/sh\necho 1\n", 0o755)
	sb.Write("var/opt/shop/StoreTypes/Store/layout.xml", "<layout/>\n", 0o644)
	if err := os.Symlink("Core.pm", filepath.Join(root, "opt/shop/lib/Shop/Default.pm")); err != nil {
		t.Fatal(err)
	}
	sb.TouchAll()
	return sb
}

// Write writes a file at rel below the root with mode, making its directories.
func (sb *Sandbox) Write(rel, content string, mode os.FileMode) {
	sb.T.Helper()
	p := filepath.Join(sb.Root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		sb.T.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		sb.T.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		sb.T.Fatal(err)
	}
}

// TouchAll gives every entry under root a fixed old mtime (Epoch), so that a changed time
// shows.
func (sb *Sandbox) TouchAll() {
	sb.T.Helper()
	var paths []string
	filepath.WalkDir(sb.Root, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		if err := fileops.SetMtime(paths[i], Epoch); err != nil {
			sb.T.Fatal(err)
		}
	}
}

// Hotfix describes a hotfix to lay out under PATCHES_DIR.
type Hotfix struct {
	Version string
	Files   map[string]string // "FileChanges/lib/x.pm" -> content
	Links   map[string]string // "FileChanges/lib/y.pm" -> target
	Scripts map[string]string // "10-db.sh" -> shell text, under Install/
}

// MakeHotfix lays spec out in its hotfix directory under PATCHES_DIR and returns that
// directory.
func (sb *Sandbox) MakeHotfix(spec Hotfix) string {
	sb.T.Helper()
	v, err := hotfix.ParseHotfixVersion(spec.Version)
	if err != nil {
		sb.T.Fatal(err)
	}
	dir := state.HotfixDir(sb.Cfg, v)
	mk := func(rel, content string, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			sb.T.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			sb.T.Fatal(err)
		}
	}
	mk("version.txt", spec.Version+"\n", 0o644)
	mk("fixed-bugs.txt", "SHOP-1 a fix\n", 0o644)
	for rel, c := range spec.Files {
		mode := os.FileMode(0o644)
		if strings.Contains(rel, "/bin/") {
			mode = 0o755
		}
		mk(rel, c, mode)
	}
	for rel, target := range spec.Links {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			sb.T.Fatal(err)
		}
	}
	for name, text := range spec.Scripts {
		mk("Install/"+name, text, 0o644)
	}
	// Hotfix files carry the build's time, as an RPM or tarball unpacks them.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			fileops.SetMtime(p, Epoch.Add(time.Hour))
		}
		return nil
	})
	return dir
}

// ProductTrees are the sandbox's product trees, relative to its root (for testutil.Snapshot).
var ProductTrees = []string{"opt/shop", "var/opt/shop/StoreTypes"}

// AssertFile fails t unless the file p holds want.
func AssertFile(t *testing.T, p, want string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil || string(data) != want {
		t.Errorf("%s = %q, %v; want %q", p, data, err, want)
	}
}

// AssertAbsent fails t unless each of rels is absent below root.
func AssertAbsent(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		if _, err := os.Lstat(filepath.Join(root, rel)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want it removed", rel, err)
		}
	}
}

// Ledger is the ledger file name in LEDGER_DIR as one line ("" when it is absent).
func (sb *Sandbox) Ledger(name string) string {
	data, err := os.ReadFile(filepath.Join(sb.Root, "etc/opt/shop/hotfix", name))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		sb.T.Fatal(err)
	}
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\n", " "))
}

// SHA256 is the hex SHA-256 of s.
func SHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// RemovalProduct adds to the sandbox's product what RemovalHotfix removes: a file with an
// owner and mode of its own, a symlink to it, a directory tree (files, a subdirectory with a
// mode and owner of its own, an empty directory) and a file of the second tree.
func (sb *Sandbox) RemovalProduct() {
	sb.T.Helper()
	sb.Write("opt/shop/lib/old.jar", "old jar\n", 0o640)
	sb.Write("opt/shop/lib/obsolete/a.pm", "a\n", 0o644)
	sb.Write("opt/shop/lib/obsolete/sub/b.pm", "b\n", 0o600)
	sb.Write("var/opt/shop/StoreTypes/Store/old.xml", "<old/>\n", 0o644)
	for _, p := range []string{"opt/shop/lib/obsolete/sub/empty"} {
		if err := os.MkdirAll(filepath.Join(sb.Root, p), 0o755); err != nil {
			sb.T.Fatal(err)
		}
	}
	if err := os.Symlink("../lib/old.jar", filepath.Join(sb.Root, "opt/shop/bin/old-tool")); err != nil {
		sb.T.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(sb.Root, "opt/shop/lib/obsolete/sub"), 0o750); err != nil {
		sb.T.Fatal(err)
	}
	if os.Geteuid() == 0 {
		for _, p := range []string{"opt/shop/lib/old.jar", "opt/shop/lib/obsolete/sub", "opt/shop/bin/old-tool"} {
			if err := os.Lchown(filepath.Join(sb.Root, p), 1234, 4321); err != nil {
				sb.T.Fatal(err)
			}
		}
	}
	sb.TouchAll()
}

// Removals is what the removal tests' hotfix removes; lib/never-there.pm is absent from
// the product.
func Removals() []hotfix.Removal {
	return []hotfix.Removal{
		{Path: "FileChanges/lib/old.jar", Kind: hotfix.RemoveFile, SHA256: SHA256("old jar\n")},
		{Path: "FileChanges/bin/old-tool", Kind: hotfix.RemoveLink, SHA256: hotfix.LinkSHA256("../lib/old.jar")},
		{Path: "FileChanges/lib/obsolete", Kind: hotfix.RemoveDir},
		{Path: "FileChanges/lib/obsolete/a.pm", Kind: hotfix.RemoveFile, SHA256: SHA256("a\n")},
		{Path: "FileChanges/lib/obsolete/sub", Kind: hotfix.RemoveDir},
		{Path: "FileChanges/lib/obsolete/sub/b.pm", Kind: hotfix.RemoveFile, SHA256: SHA256("b\n")},
		{Path: "FileChanges/lib/obsolete/sub/empty", Kind: hotfix.RemoveDir},
		{Path: "StoreTypeChanges/Store/old.xml", Kind: hotfix.RemoveFile, SHA256: SHA256("<old/>\n")},
		{Path: "FileChanges/lib/never-there.pm", Kind: hotfix.RemoveFile, SHA256: SHA256("x\n")},
	}
}

// RemovalHotfix replaces a file, adds one, and removes rs (Removals, say).
func RemovalHotfix(version string, rs []hotfix.Removal) Hotfix {
	return Hotfix{Version: version, Files: map[string]string{
		"FileChanges/lib/Shop/Core.pm": "core 2\n",
		"FileChanges/lib/Shop/New.pm":  "new\n",
		hotfix.RemovalsFile:            string(hotfix.FormatRemovals(rs)),
	}}
}
