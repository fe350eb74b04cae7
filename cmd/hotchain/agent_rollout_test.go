package main

import (
	"os"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/agent"
)

// The alpha-then-others rollout as the agent drives it (SPEC section 4).

func TestSecondaryInstallsOnlyWhatTheAlphaHas(t *testing.T) {
	h := newAgentHost(t, "HOST_ROLE=secondary")
	// The alpha has applied nothing yet: everything waits.
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 0 || !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 3 waiting for the alpha\n") ||
		!strings.Contains(stdout, "Waiting for the alpha host (version.txt holds up to nothing yet): 6.14.2.1 6.14.2.2 6.14.2.3\n") {
		t.Errorf("before the alpha: exit %d, report:\n%s", code, stdout)
	}
	if strings.Contains(strings.Join(h.calls(), " "), "install") {
		t.Errorf("a secondary installed before the alpha: %v", h.calls())
	}

	// A gap in version.txt holds back everything after it: hotfixes install in chain order.
	h.write("etc/opt/shop/hotfix/version.txt", "6.14.2.1\n6.14.2.3\n")
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1" ||
		!strings.HasPrefix(stdout, "[shop-hotfix] myhost: 1 hotfix installed, 2 waiting for the alpha\n") {
		t.Errorf("version.txt with a gap: exit %d, ledger %q, report:\n%s", code, h.ledger("host1.txt"), stdout)
	}

	h.write("etc/opt/shop/hotfix/version.txt", "6.14.2.1\n6.14.2.2\n")
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2" ||
		!strings.HasPrefix(stdout, "[shop-hotfix] myhost: 1 hotfix installed, 1 waiting for the alpha\n") ||
		!strings.Contains(stdout, "Waiting for the alpha host (version.txt holds up to 6.14.2.2): 6.14.2.3\n") {
		t.Errorf("after the alpha's 1 and 2: exit %d, ledger %q, report:\n%s", code, h.ledger("host1.txt"), stdout)
	}
	// Not the newest offered: the newest the alpha has, by name.
	if log, _ := os.ReadFile(h.spec().Log); !strings.Contains(string(log), "install-start shop-hotfix-6_14_2_1 ") ||
		!strings.Contains(string(log), "install-start shop-hotfix-6_14_2_2 ") || strings.Contains(string(log), "install-start shop-hotfix-6_14_2_3") {
		t.Errorf("the secondary installed the wrong packages:\n%s", log)
	}
}

func TestAlphaFinalizesOnceEverySecondaryHasTheHotfix(t *testing.T) {
	h := newAgentHost(t, "HOST_ROLE=alpha", "SECONDARY_HOSTS=sec1,sec2")
	for n := 1; n <= 3; n++ {
		h.write("var/opt/shop/Patches/shop-hotfix-6.14.2."+string(rune('0'+n))+"/Install/90-caches-final.sh",
			`echo "$HOTFIX_VERSION" >> "$PRODUCT_ROOT/final.log"`+"\n")
	}
	finals := func() string {
		data, _ := os.ReadFile(h.path("opt/shop/final.log"))
		return strings.Join(strings.Fields(string(data)), " ")
	}
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 0 || finals() != "" || !strings.Contains(stdout, "Not finalized yet: the final tasks of 6.14.2.1 wait for sec1, sec2\n") {
		t.Fatalf("install run: exit %d, finals %q, report:\n%s", code, finals(), stdout)
	}
	if got := h.ledger("version.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("installation ledger %q", got)
	}

	h.write("etc/opt/shop/hotfix/sec1.txt", "6.14.2.1\n6.14.2.2\n6.14.2.3\n")
	h.write("etc/opt/shop/hotfix/sec2.txt", "6.14.2.1\n6.14.2.2\n")
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != 0 || finals() != "6.14.2.1 6.14.2.2" || !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 2 hotfixes finalized\n") ||
		!strings.Contains(stdout, "the final tasks of 6.14.2.3 wait for sec2") {
		t.Fatalf("sec2 late: exit %d, finals %q, report:\n%s", code, finals(), stdout)
	}

	h.write("etc/opt/shop/hotfix/sec2.txt", "6.14.2.1\n6.14.2.2\n6.14.2.3\n")
	if code, _, _ = h.run(h.options(agent.ModeCron)); code != 0 || finals() != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("sec2 caught up: exit %d, finals %q", code, finals())
	}
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != 0 || stdout != "" || finals() != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("a run with nothing left: exit %d, finals %q, stdout %q", code, finals(), stdout)
	}
}
