package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
)

// TestPolicyWithDNF is the vendor's rollout policy end to end with the real dnf: `hotchain
// policy` halts hotfix 3, the host installs 1 and 2 and lists 3 as held back; the vendor
// resumes 3 and withdraws 2; with AUTO_ROLLBACK=withdrawn the next run rolls 2 back, takes it
// out of the rpm database and installs nothing after it.
func TestPolicyWithDNF(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with the real dnf")
	}
	archOK(t)
	for _, tool := range []string{"dnf", "rpm", "unshare", "mount"} {
		testutil.RequireTool(t, tool)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for mount namespaces and installroots")
	}
	bin := buildStatic(t)
	work := t.TempDir()
	key := filepath.Join(work, "vendor")
	runOK(t, nil, bin, "keygen", "-name", "Shop Hotfixes", "-email", "hotfixes@shop.example", "-out", key)
	repoDir := filepath.Join(work, "repos", "6.14.2")
	os.MkdirAll(repoDir, 0o755)
	url := serveRepos(t, bin, filepath.Join(work, "repos"))
	src := filepath.Join(work, "src")
	rolloutChain(t, src, 1, 3, 0)
	runOK(t, nil, bin, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url,
		"-sign-key", key+".asc", "-binary", bin, "-out", repoDir)
	for i := 1; i <= 3; i++ {
		runOK(t, nil, bin, "build", "-product", "shop", "-sign-key", key+".asc", "-out", repoDir, filepath.Join(src, fmt.Sprintf("shop-hotfix-6.14.2.%d", i)))
	}
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url, "-base-version", "6.14.2", repoDir)
	runOK(t, nil, bin, "policy", "-sign-key", key+".asc", "-halt", "6.14.2.3", repoDir)
	repoFile, _ := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	pub, _ := os.ReadFile(key + ".pub.asc")

	h := &rolloutHost{installroot: newInstallroot(t, "host"), name: "host", bin: bin, shared: filepath.Join(work, "ledger")}
	os.MkdirAll(h.shared, 0o755)
	h.write("etc/yum.repos.d/shop-hotfix.repo", string(repoFile))
	h.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(pub))
	runOK(t, nil, "dnf", h.dnfArgs("install", "shop-hotfix-base")...)
	h.write("etc/sysconfig/shop-hotfix", `PRODUCT=shop
HOSTNAME=host
RANDOMWAIT=0
AUTO_ROLLBACK=withdrawn
YUM_PARAMETER="--disablerepo '*' --enablerepo shop-hotfix --releasever=1"
`)

	out, code := h.agent("-check")
	if code != 100 || !strings.Contains(out, "6.14.2.3 (halted by the vendor)") {
		t.Errorf("-check with 3 halted: exit %d, want 100 and 3 held back", code)
	}
	if _, code := h.agent(""); code != 0 {
		t.Fatalf("cron run with 3 halted: exit %d", code)
	}
	if got := h.ledger("host.txt"); got != "6.14.2.1 6.14.2.2" {
		t.Fatalf("ledger with 3 halted: %q, want 1 and 2", got)
	}
	if rpms := h.installed(); strings.Contains(rpms, "6_14_2_3") {
		t.Errorf("a halted hotfix was installed:\n%s", rpms)
	}

	runOK(t, nil, bin, "policy", "-sign-key", key+".asc", "-resume", "6.14.2.3", "-withdraw", "6.14.2.2", "-reason", "corrupts the cache", repoDir)
	out, code = h.agent("-check")
	if code != 6 || !strings.Contains(out, "corrupts the cache") {
		t.Errorf("-check with 2 withdrawn and applied: exit %d, want 6 and the reason", code)
	}
	if _, code := h.agent(""); code != 0 {
		t.Fatalf("cron run with AUTO_ROLLBACK=withdrawn: exit %d", code)
	}
	if got := h.ledger("host.txt"); got != "6.14.2.1" {
		t.Errorf("ledger after the withdrawal: %q, want 1", got)
	}
	if got := h.read("opt/shop/lib/Shop/Cart.pm"); got != "cart 6.14.2.1\n" {
		t.Errorf("Cart.pm after the withdrawal: %q, want hotfix 1's", got)
	}
	if rpms := h.installed(); strings.Contains(rpms, "6_14_2_2") || strings.Contains(rpms, "6_14_2_3") {
		t.Errorf("rpm database after the withdrawal:\n%s", rpms)
	}
}
