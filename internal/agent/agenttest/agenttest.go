// Package agenttest makes the sandbox host that the agent's tests run on, in internal/agent
// and in cmd/hotchain alike: a root with a settings file, the product shop at 6.14.2, and
// hotfix directories 6.14.2.1 to 6.14.2.4 unpacked under PATCHES_DIR as their RPMs would
// leave them. For tests only; it runs nothing.
package agenttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/sysconfig"
)

// Settings is the settings file of the sandbox host, before the extra lines of a test.
const Settings = `PRODUCT=shop
HOSTNAME=host1
SYSTEMNAME=myhost
RANDOMWAIT=0
MAILTO=
`

// Host writes the sandbox host into root, with extra lines appended to the settings.
func Host(t testing.TB, root string, extra ...string) {
	t.Helper()
	Write(t, root, "etc/sysconfig/shop-hotfix", Settings+strings.Join(extra, "\n")+"\n")
	Write(t, root, "opt/shop/version.txt", "6.14.2\n")
	Write(t, root, "opt/shop/lib/core.txt", "core\n")
	for n := 1; n <= 4; n++ {
		dir := fmt.Sprintf("var/opt/shop/Patches/shop-hotfix-6.14.2.%d/", n)
		Write(t, root, dir+"version.txt", fmt.Sprintf("6.14.2.%d\n", n))
		Write(t, root, dir+fmt.Sprintf("FileChanges/lib/fix%d.txt", n), fmt.Sprintf("fix %d\n", n))
	}
}

// Environ is the environment the agent runs with in the sandbox.
func Environ() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

// Load reads the sandbox's settings as the agent does.
func Load(t testing.TB, root string, environ []string) *sysconfig.Config {
	t.Helper()
	cfg, err := sysconfig.Load(root, "/etc/sysconfig/shop-hotfix", environ)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Write writes content to rel below root (mode 0755: hooks and scripts run from there),
// making its directories.
func Write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
