package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/agent/notify"
)

// TestAgentAppliesOutsideRPMWithHealthGate is the agent's own apply end to end with the
// real dnf, an alpha and a secondary sharing one ledger:
//   - hotfix 2's Install script talks to a TCP service on loopback and writes and reads a
//     file in /tmp: the agent applies outside rpm's transaction, so both work (rpm 4.19+
//     runs scriptlets without network and with a private /tmp);
//   - HEALTH_CMD fails once hotfix 3 of the chain of 4 is applied: the alpha ends with 1
//     and 2 applied, 3 rolled back byte-exact and not in the rpm database, 4 not
//     installed, a FAILED report and exit 5; version.txt never holds 3, so the secondary
//     installs 1 and 2 only.
func TestAgentAppliesOutsideRPMWithHealthGate(t *testing.T) {
	e2eHost(t, true, "unshare", "mount", "busybox")
	// The TCP service the Install script needs: it answers pong to ping.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	served := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintln(c, "pong")
			c.Close()
			served <- strings.TrimSpace(line)
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port

	bin := buildStatic(t)
	work := t.TempDir()
	v := newServedRepo(t, bin)
	rolloutChain(t, v.src, 1, 4, 0)
	script := fmt.Sprintf(`set -e
tmp=/tmp/hotchain-e2e-$$
echo ping | busybox nc 127.0.0.1 %d > "$tmp"
grep -q pong "$tmp"
rm "$tmp"
echo "network and /tmp $HOTFIX_VERSION" >> "$PRODUCT_ROOT/../install-notes.txt"
`, port)
	os.WriteFile(filepath.Join(v.src, "shop-hotfix-6.14.2.2", "Install", "15-net-tmp-shared.sh"), []byte(script), 0o644)
	v.publish(1, 4)

	shared := filepath.Join(work, "shared-ledger")
	os.MkdirAll(shared, 0o755)
	// The alpha notifies a webhook on loopback and NOTIFY_CMD, and writes METRICS_FILE.
	wh := startHook(t, nil)
	notified := filepath.Join(work, "notify-cmd.json")
	hosts := map[string]*rolloutHost{}
	for _, name := range []string{"alpha", "sec1"} {
		role, secondaries, extra := "secondary", "", ""
		if name == "alpha" {
			role, secondaries = "alpha", "sec1"
			extra = fmt.Sprintf("NOTIFY_URL=%s\nNOTIFY_CMD=\"tee %s\"\nMETRICS_FILE=/%s/shop_hotfix.prom\n", wh.url(), notified, promDir)
		}
		h := v.host(name, shared, fmt.Sprintf(`PRODUCT=shop
HOSTNAME=%s
HOST_ROLE=%s
SECONDARY_HOSTS="%s"
RANDOMWAIT=0
YUM_PARAMETER="--disablerepo '*' --enablerepo shop-hotfix --releasever=1"
HEALTH_CMD="sh -c 'test ! -f $PRODUCT_ROOT/lib/Shop/Fix3.pm || { echo shop answers 500; exit 1; }'"
HEALTH_RETRIES=1
`+extra, name, role, secondaries))
		if name == "alpha" {
			os.MkdirAll(filepath.Join(h.root, promDir), 0o755)
		}
		hosts[name] = h
	}
	alpha, sec1 := hosts["alpha"], hosts["sec1"]
	cartBefore := alpha.read("opt/shop/lib/Shop/Cart.pm")

	out, code := alpha.agent("")
	if code != 5 {
		t.Errorf("alpha: exit %d, want 5", code)
	}
	for _, want := range []string{"FAILED", "hotfix 6.14.2.3 failed its health check", "shop answers 500", "Installed: 6.14.2.1 6.14.2.2"} {
		if !strings.Contains(out, want) {
			t.Errorf("alpha's report lacks %q", want)
		}
	}
	if got := alpha.ledger("alpha.txt"); got != "6.14.2.1 6.14.2.2" {
		t.Errorf("alpha ledger %q, want 1 and 2", got)
	}
	if got := alpha.ledger("version.txt"); got != "6.14.2.1 6.14.2.2" {
		t.Errorf("version.txt %q, want 1 and 2", got)
	}
	if rpms := alpha.installed(); strings.Contains(rpms, "6_14_2_3") || strings.Contains(rpms, "6_14_2_4") || !strings.Contains(rpms, "6_14_2_2") {
		t.Errorf("alpha's rpm database:\n%s", rpms)
	}
	if _, err := os.Stat(filepath.Join(alpha.root, "opt/shop/lib/Shop/Fix3.pm")); !os.IsNotExist(err) {
		t.Errorf("hotfix 3's file survived its rollback: %v", err)
	}
	if got := alpha.read("opt/shop/lib/Shop/Cart.pm"); got != "cart 6.14.2.2\n" || cartBefore == got {
		t.Errorf("Cart.pm = %q, want hotfix 2's", got)
	}
	bodies, _ := wh.got()
	fromCmd, _ := os.ReadFile(notified)
	if len(bodies) != 1 || string(fromCmd) != string(bodies[0]) {
		t.Fatalf("%d notifications to the webhook; NOTIFY_CMD got %q", len(bodies), fromCmd)
	}
	var n notify.Document
	if err := json.Unmarshal(bodies[0], &n); err != nil || n.Outcome != "failure" || strings.Join(n.Hotfixes.Failed, " ") != "6.14.2.3" ||
		strings.Join(n.Hotfixes.Installed, " ") != "6.14.2.1 6.14.2.2" || n.Installation.Version != "6.14.2.2" || n.Host.Role != "alpha" {
		t.Errorf("notification (%v):\n%s", err, bodies[0])
	}
	prom, err := os.ReadFile(filepath.Join(alpha.root, promDir, "shop_hotfix.prom"))
	if err != nil {
		t.Fatal(err)
	}
	promtool(t, prom)
	for _, want := range []string{`hotchain_applied_info{product="shop",version="6.14.2.2"} 1`, `hotchain_last_run_success{product="shop"} 0`,
		`hotchain_drifted_files{product="shop"} 0`, `hotchain_pending_hotfixes{product="shop"} 2`} {
		if !strings.Contains(string(prom), want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, prom)
		}
	}
	if !strings.Contains(alpha.notes(), "network and /tmp 6.14.2.2") {
		t.Errorf("the network and /tmp script did not run to its end:\n%s", alpha.notes())
	}
	select {
	case got := <-served:
		if got != "ping" {
			t.Errorf("the service got %q", got)
		}
	default:
		t.Errorf("the Install script never reached the TCP service")
	}

	// The history (in the shared ledger) tells the story: 3 applied, failed its check, rolled
	// back; 3 and 4 removed again; the run failed.
	hist, _ := alpha.run("history", "-root", alpha.root, "-config", "/etc/sysconfig/shop-hotfix", "-json")
	for _, want := range []string{
		`"event":"apply","version":"6.14.2.2","outcome":"success"`,
		`"event":"health","version":"6.14.2.3","outcome":"failure"`,
		`"event":"rollback","version":"6.14.2.3","outcome":"success","duration_ms":`,
		`"event":"remove","version":"6.14.2.3","outcome":"success"`,
		`"event":"run-end","mode":"cron","outcome":"failure"`,
	} {
		if !strings.Contains(hist, want) {
			t.Errorf("alpha's history lacks %s:\n%s", want, hist)
		}
	}

	// The secondary follows version.txt: 1 and 2, never 3.
	if out, code := sec1.agent(""); code != 0 || !strings.Contains(out, "Waiting for the alpha host") {
		t.Errorf("sec1: exit %d\n%s", code, out)
	}
	if got := sec1.ledger("sec1.txt"); got != "6.14.2.1 6.14.2.2" {
		t.Errorf("sec1 ledger %q, want 1 and 2", got)
	}
	if rpms := sec1.installed(); strings.Contains(rpms, "6_14_2_3") {
		t.Errorf("sec1 installed hotfix 3:\n%s", rpms)
	}
}
