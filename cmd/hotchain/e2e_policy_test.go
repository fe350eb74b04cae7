package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyWithDNF is the vendor's rollout policy end to end with the real dnf: `hotchain
// policy` halts hotfix 3, the host installs 1 and 2 and lists 3 as held back; the vendor
// resumes 3 and withdraws 2; with AUTO_ROLLBACK=withdrawn the next run rolls 2 back, takes it
// out of the rpm database and installs nothing after it.
func TestPolicyWithDNF(t *testing.T) {
	e2eHost(t, true, "unshare", "mount")
	v := newServedRepo(t, buildStatic(t))
	rolloutChain(t, v.src, 1, 3, 0)
	v.publish(1, 3)
	runOK(t, nil, v.bin, "policy", "-sign-key", v.key+".asc", "-halt", "6.14.2.3", v.dir)
	shared := filepath.Join(t.TempDir(), "ledger")
	os.MkdirAll(shared, 0o755)
	h := v.host("host", shared, `PRODUCT=shop
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

	runOK(t, nil, v.bin, "policy", "-sign-key", v.key+".asc", "-resume", "6.14.2.3", "-withdraw", "6.14.2.2", "-reason", "corrupts the cache", v.dir)
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
