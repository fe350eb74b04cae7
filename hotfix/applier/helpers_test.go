package applier

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/sysconfig"
)

// testConfig is the settings of a sandbox host under root, as a settings file with only
// PRODUCT=shop (plus the test's HOSTNAME and role) would give them.
func testConfig(root, host string, role sysconfig.Role) *sysconfig.Config {
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

// sandbox is a host root with a product tree at 6.14.2.
type sandbox struct {
	t    *testing.T
	root string
	host *Host
	out  *bytes.Buffer
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newSandbox(t *testing.T, role sysconfig.Role) *sandbox {
	t.Helper()
	root := t.TempDir()
	sb := &sandbox{t: t, root: root, out: &bytes.Buffer{}}
	sb.write("opt/shop/version.txt", "6.14.2\n", 0o644)
	sb.write("opt/shop/lib/Shop/Core.pm", "core 1\n", 0o644)
	sb.write("opt/shop/lib/Shop/Cart.pm", "cart 1\n", 0o640)
	sb.write("opt/shop/bin/shopctl", "#!/bin/sh\necho 1\n", 0o755)
	sb.write("var/opt/shop/StoreTypes/Store/layout.xml", "<layout/>\n", 0o644)
	if err := os.Symlink("Core.pm", filepath.Join(root, "opt/shop/lib/Shop/Default.pm")); err != nil {
		t.Fatal(err)
	}
	sb.touchAll()
	sb.host = &Host{Cfg: testConfig(root, "host1", role), Out: sb.out, Environ: []string{"PATH=" + os.Getenv("PATH")}}
	return sb
}

func (sb *sandbox) write(rel, content string, mode os.FileMode) {
	sb.t.Helper()
	p := filepath.Join(sb.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		sb.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		sb.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		sb.t.Fatal(err)
	}
}

// touchAll gives every entry under root a fixed old mtime, so that a changed time shows.
func (sb *sandbox) touchAll() {
	sb.t.Helper()
	var paths []string
	filepath.WalkDir(sb.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		if err := fileops.SetMtime(paths[i], epoch); err != nil {
			sb.t.Fatal(err)
		}
	}
}

// hotfixSpec describes a hotfix to lay out under PATCHES_DIR.
type hotfixSpec struct {
	version string
	files   map[string]string // "FileChanges/lib/x.pm" -> content
	links   map[string]string // "FileChanges/lib/y.pm" -> target
	scripts map[string]string // "10-db.sh" -> shell text
}

func (sb *sandbox) makeHotfix(spec hotfixSpec) string {
	sb.t.Helper()
	v, err := hotfix.ParseHotfixVersion(spec.version)
	if err != nil {
		sb.t.Fatal(err)
	}
	dir := sb.host.HotfixDir(v)
	mk := func(rel, content string, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			sb.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			sb.t.Fatal(err)
		}
	}
	mk("version.txt", spec.version+"\n", 0o644)
	mk("fixed-bugs.txt", "SHOP-1 a fix\n", 0o644)
	for rel, c := range spec.files {
		mode := os.FileMode(0o644)
		if strings.Contains(rel, "/bin/") {
			mode = 0o755
		}
		mk(rel, c, mode)
	}
	for rel, target := range spec.links {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			sb.t.Fatal(err)
		}
	}
	for name, text := range spec.scripts {
		mk("Install/"+name, text, 0o644)
	}
	// Hotfix files carry the build's time, as an RPM or tarball unpacks them.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			fileops.SetMtime(p, epoch.Add(time.Hour))
		}
		return nil
	})
	return dir
}

var productTrees = []string{"opt/shop", "var/opt/shop/StoreTypes"}

func (sb *sandbox) ledger(name string) string {
	data, err := os.ReadFile(filepath.Join(sb.root, "etc/opt/shop/hotfix", name))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		sb.t.Fatal(err)
	}
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\n", " "))
}

func mustHotfix(t *testing.T, s string) hotfix.Version {
	t.Helper()
	v, err := hotfix.ParseHotfixVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustVersion(t *testing.T, s string) hotfix.Version {
	t.Helper()
	v, err := hotfix.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
