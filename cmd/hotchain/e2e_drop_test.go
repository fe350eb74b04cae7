package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/agent/drop"
	agentreport "github.com/hotchain/hotchain/internal/agent/report"
	"github.com/hotchain/hotchain/internal/testutil"
)

// dropHost is a sandbox host fed only through its drop folder: no repository file, no
// package manager is ever asked. Its hotchain is this test binary (TestMain puts it on
// PATH as hotchain).
type dropHost struct {
	t               *testing.T
	bin, root, drop string
	tarballs        string // the vendor's signed tarballs of 6.14.2.1 and 6.14.2.2
}

// newDropHost makes the host and the tarballs; the install of hotfix failing fails (0: none).
func newDropHost(t *testing.T, failing int) *dropHost {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the agent as a process")
	}
	archOK(t)
	h := &dropHost{t: t, bin: hotchainBin(t), root: filepath.Join(t.TempDir(), "host"), tarballs: t.TempDir()}
	work := t.TempDir()
	key := filepath.Join(work, "vendor")
	runOK(t, nil, h.bin, "keygen", "-name", "Shop Hotfixes", "-email", "hotfixes@shop.example", "-out", key)
	src := filepath.Join(work, "src")
	rolloutChain(t, src, 1, 2, failing)
	for i := 1; i <= 2; i++ {
		runOK(t, nil, h.bin, "build", "-product", "shop", "-sign-key", key+".asc", "-tarball-key", key+".pem", "-out", h.tarballs, filepath.Join(src, fmt.Sprintf("shop-hotfix-6.14.2.%d", i)))
	}
	h.drop = filepath.Join(h.root, "var/opt/shop/drop")
	for rel, body := range map[string]string{
		"etc/sysconfig/shop-hotfix":            "PRODUCT=shop\nHOSTNAME=h1\nRANDOMWAIT=0\nDROP_DIR=/var/opt/shop/drop\n",
		"etc/pki/shop-hotfix/tarball-key.pem":  string(must(os.ReadFile(key + ".pub.pem"))),
		"opt/shop/version.txt":                 "6.14.2\n",
		"opt/shop/lib/Shop/Cart.pm":            "cart 6.14.2\n",
		"var/lock/subsys/shop-hotfix":          "",
		"var/opt/shop/drop/README":             "an admin's note\n",
		"var/opt/shop/drop/shop-hotfix-x.part": "a copy in progress\n",
	} {
		p := filepath.Join(h.root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// put copies the vendor's file name into the drop folder as as, cut to n bytes when n >= 0.
func (h *dropHost) put(name, as string, n int) {
	h.t.Helper()
	data := must(os.ReadFile(filepath.Join(h.tarballs, name)))
	if n >= 0 {
		data = data[:n]
	}
	if err := os.WriteFile(filepath.Join(h.drop, as), data, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *dropHost) agent(args ...string) (string, int) {
	h.t.Helper()
	return runCode(h.t, []string{drop.SettleEnv + "=300ms"}, h.bin, append([]string{"agent", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}, args...)...)
}

func (h *dropHost) ledger() string {
	data, _ := os.ReadFile(filepath.Join(h.root, "etc/opt/shop/hotfix/h1.txt"))
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\n", " "))
}

// names lists a directory of the drop folder ("" the folder itself).
func (h *dropHost) names(sub string) []string {
	entries, _ := os.ReadDir(filepath.Join(h.drop, sub))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestAgentDropFolder feeds a host's drop folder as an admin or a transfer tool would: a
// tarball without its signature waits, the signature completes it and the console run
// applies it; a truncated copy with the signature of the whole file and a tarball with
// another hotfix's signature are refused with their reason, the product untouched; then the
// good copy is taken. Temporary and unrelated files stay where they are.
func TestAgentDropFolder(t *testing.T) {
	h := newDropHost(t, 0)
	t1, t2 := "shop-hotfix-6.14.2.1.tar.gz", "shop-hotfix-6.14.2.2.tar.gz"

	h.put(t1, t1, -1)
	out, code := h.agent("-console")
	if code != 0 || !strings.Contains(out, t1+": waits for its signature "+t1+".sig") {
		t.Fatalf("a tarball without its signature: exit %d, want 0 and a waiting line", code)
	}
	if got := h.names(""); !slices.Equal(got, []string{"README", t1, "shop-hotfix-x.part"}) || h.ledger() != "" {
		t.Fatalf("after the wait the folder holds %q, the ledger %q", got, h.ledger())
	}

	// The nightly run is quiet about a file that waits (less than a day).
	if out, code = h.agent(); code != 0 || out != "" {
		t.Fatalf("the cron run with a waiting tarball: exit %d, output %q; want 0 and quiet", code, out)
	}

	// The signature arrives while a copy tool still has the archive open for writing: the
	// pair is not complete.
	h.put(t1+".sig", t1+".sig", -1)
	w, err := os.OpenFile(filepath.Join(h.drop, t1), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	writer := exec.Command("sleep", "60")
	writer.ExtraFiles = []*os.File{w}
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { writer.Process.Kill(); writer.Wait() })
	out, code = h.agent("-console")
	if code != 0 || !strings.Contains(out, t1+": "+t1+" is not complete yet (open for writing)") || h.ledger() != "" {
		t.Fatalf("an archive open for writing: exit %d, ledger %q", code, h.ledger())
	}
	writer.Process.Kill()
	writer.Wait()

	// -check lists the complete pair and exits 100; it moves nothing.
	time.Sleep(400 * time.Millisecond) // the settle time of the test: -check does not wait
	out, code = h.agent("-check")
	if code != 100 || !strings.Contains(out, "Complete, taken by the next install run:\n  "+t1+"\n") || h.ledger() != "" {
		t.Fatalf("-check with a complete pair: exit %d, ledger %q; want 100", code, h.ledger())
	}

	out, code = h.agent("-console")
	if code != 0 || !strings.Contains(out, "Installed: 6.14.2.1") || !strings.Contains(out, t1+": 6.14.2.1 applied") {
		t.Fatalf("the complete pair: exit %d", code)
	}
	if h.ledger() != "6.14.2.1" || !slices.Equal(h.names("done"), []string{t1, t1 + ".sig"}) {
		t.Fatalf("ledger %q, done/ %q", h.ledger(), h.names("done"))
	}
	if got := string(must(os.ReadFile(filepath.Join(h.root, "opt/shop/lib/Shop/Cart.pm")))); got != "cart 6.14.2.1\n" {
		t.Fatalf("Cart.pm %q after the apply", got)
	}

	// A truncated copy with the signature of the whole file, then another hotfix's
	// signature over a whole file: refused, nothing of the product changes.
	before := testutil.Snapshot(t, h.root, false, "opt", "var/opt/shop/Patches")
	size := len(must(os.ReadFile(filepath.Join(h.tarballs, t2))))
	for i, c := range []struct {
		what     string
		n        int
		sig      string
		refused  string
		inReason string
	}{
		{"a truncated copy", size / 2, t2 + ".sig", t2, "signature"},
		{"a bad signature", -1, t1 + ".sig", t2 + ".1", "signature"},
	} {
		h.put(t2, t2, c.n)
		h.put(c.sig, t2+".sig", -1)
		out, code = h.agent("-console")
		if code != 1 || !strings.Contains(out, "refused "+t2) {
			t.Fatalf("%s: exit %d, want 1 and the refusal", c.what, code)
		}
		got := h.names("refused")
		for _, want := range []string{c.refused, c.refused + ".reason", c.refused + ".sig"} {
			if !slices.Contains(got, want) || len(got) != 3*(i+1) {
				t.Fatalf("%s: refused/ holds %q, want %s among 3 files a pair", c.what, got, want)
			}
		}
		reason := string(must(os.ReadFile(filepath.Join(h.drop, "refused", c.refused+".reason"))))
		if !strings.Contains(reason, c.inReason) || !strings.Contains(reason, "hint: ") {
			t.Errorf("%s: reason %q", c.what, reason)
		}
		if d := testutil.DiffTrees(before, testutil.Snapshot(t, h.root, false, "opt", "var/opt/shop/Patches")); d != "" {
			t.Fatalf("%s changed the host:\n%s", c.what, d)
		}
		if h.ledger() != "6.14.2.1" {
			t.Fatalf("%s: ledger %q", c.what, h.ledger())
		}
		if fi, err := os.Stat(filepath.Join(h.drop, "refused")); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("refused/ mode %v %v", fi.Mode(), err)
		}
	}

	// The good copy, taken by the nightly run, which reports it.
	h.put(t2, t2, -1)
	h.put(t2+".sig", t2+".sig", -1)
	if out, code = h.agent(); code != 0 || h.ledger() != "6.14.2.1 6.14.2.2" || !strings.Contains(out, "1 hotfix installed") || !strings.Contains(out, t2+": 6.14.2.2 applied") {
		t.Fatalf("the good copy: exit %d, ledger %q", code, h.ledger())
	}
	if got := h.names(""); !slices.Equal(got, []string{"README", "done", "refused", "shop-hotfix-x.part"}) {
		t.Fatalf("the folder holds %q at the end", got)
	}

	// A tarball of a hotfix applied already goes to done/ beside the first, with a note.
	h.put(t1, t1, -1)
	h.put(t1+".sig", t1+".sig", -1)
	if out, code = h.agent("-console"); code != 0 || !strings.Contains(out, t1+": 6.14.2.1 is applied already; nothing done") || h.ledger() != "6.14.2.1 6.14.2.2" {
		t.Fatalf("a tarball applied already: exit %d, ledger %q", code, h.ledger())
	}
	if got := h.names("done"); !slices.Contains(got, t1+".1") || !slices.Contains(got, t1+".1.sig") {
		t.Fatalf("done/ holds %q", got)
	}
}

// TestAgentDaemonTakesDrop: agent -daemon takes a pair as soon as it is complete, not
// before, without waiting for its SCHEDULE; a folder renamed away and made again is watched
// again.
func TestAgentDaemonTakesDrop(t *testing.T) {
	h := newDropHost(t, 0)
	t1 := "shop-hotfix-6.14.2.1.tar.gz"
	cmd := exec.Command(h.bin, "agent", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix", "-daemon")
	cmd.Env = append(os.Environ(), "LC_ALL=C", drop.SettleEnv+"=300ms")
	var stdout, stderr agentreport.LockedBuffer // read while the daemon writes
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() { done <- exitCode(cmd.Wait()) }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	waitFor(t, "the daemon to watch the folder", 10*time.Second, func() bool {
		return strings.Contains(stdout.String(), "watches DROP_DIR")
	})
	h.put(t1, t1, -1)
	time.Sleep(time.Second) // settle time and more: the archive alone is not taken
	if h.ledger() != "" || len(h.names("done")) != 0 {
		t.Fatalf("the archive without its signature was taken")
	}
	h.put(t1+".sig", t1+".sig", -1)
	waitFor(t, "the daemon to take the pair", 20*time.Second, func() bool { return len(h.names("done")) == 2 })
	if h.ledger() != "6.14.2.1" {
		t.Fatalf("ledger %q", h.ledger())
	}
	waitFor(t, "the run's report", 10*time.Second, func() bool { return strings.Contains(stdout.String(), "6.14.2.1 applied") })

	// The folder is renamed away and made again: the daemon watches the new one.
	if err := os.Rename(h.drop, h.drop+".old"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := os.Mkdir(h.drop, 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon to watch the new folder", 20*time.Second, func() bool {
		return strings.Contains(stdout.String(), "watches DROP_DIR /var/opt/shop/drop again")
	})
	t2 := "shop-hotfix-6.14.2.2.tar.gz"
	h.put(t2, t2, -1)
	h.put(t2+".sig", t2+".sig", -1)
	waitFor(t, "the daemon to take the pair in the new folder", 20*time.Second, func() bool { return len(h.names("done")) == 2 })
	if h.ledger() != "6.14.2.1 6.14.2.2" {
		t.Fatalf("ledger %q", h.ledger())
	}
	waitFor(t, "the run's report", 10*time.Second, func() bool { return strings.Contains(stdout.String(), "6.14.2.2 applied") })
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("daemon exit %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the daemon still runs 15 s after SIGTERM")
	}
}

// TestAgentDropBundleRefusedTarballTaken: a bundle pair whose signature does not match is
// refused by hotchain import's checks (after the run that took the folder's tarball), with
// its reason; the tarball beside it is applied.
func TestAgentDropBundleRefusedTarballTaken(t *testing.T) {
	h := newDropHost(t, 0)
	b := "shop-hotfix-bundle-6.14.2.2-6.14.2.2.tar"
	for _, n := range []string{b, b + ".sig"} {
		if err := os.WriteFile(filepath.Join(h.drop, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t1 := "shop-hotfix-6.14.2.1.tar.gz"
	h.put(t1, t1, -1)
	h.put(t1+".sig", t1+".sig", -1)
	out, code := h.agent("-console")
	if code != 1 || !strings.Contains(out, "refused "+b) || h.ledger() != "6.14.2.1" {
		t.Fatalf("exit %d, ledger %q; want 1, the bundle refused and 6.14.2.1 applied", code, h.ledger())
	}
	reason := string(must(os.ReadFile(filepath.Join(h.drop, "refused", b+".reason"))))
	if !strings.Contains(reason, "refused, nothing was changed") || !strings.Contains(reason, "hint: ") {
		t.Errorf("reason %q", reason)
	}
	if got := h.names("refused"); !slices.Equal(got, []string{b, b + ".reason", b + ".sig"}) {
		t.Errorf("refused/ holds %q", got)
	}
}

// TestAgentDropRefusesAChainGap: a signed tarball whose predecessor is neither applied nor
// in the folder is refused by the apply's prerequisites, with the reason, and what its
// unpack made in PATCHES_DIR goes again.
func TestAgentDropRefusesAChainGap(t *testing.T) {
	h := newDropHost(t, 0)
	t2 := "shop-hotfix-6.14.2.2.tar.gz"
	h.put(t2, t2, -1)
	h.put(t2+".sig", t2+".sig", -1)
	before := testutil.Snapshot(t, h.root, false, "opt", "var/opt/shop")
	out, code := h.agent("-console")
	if code != 1 || !strings.Contains(out, "hotfix 6.14.2.1 is not applied yet") {
		t.Fatalf("exit %d, want 1 and the gap", code)
	}
	reason := string(must(os.ReadFile(filepath.Join(h.drop, "refused", t2+".reason"))))
	if !strings.Contains(reason, "hotfix 6.14.2.1 is not applied yet") || !strings.Contains(reason, "hint: ") {
		t.Errorf("reason %q", reason)
	}
	after := testutil.Snapshot(t, h.root, false, "opt", "var/opt/shop")
	for p := range after {
		if strings.HasPrefix(p, "var/opt/shop/drop/") {
			delete(after, p)
		}
	}
	for p := range before {
		if strings.HasPrefix(p, "var/opt/shop/drop/") {
			delete(before, p)
		}
	}
	if d := testutil.DiffTrees(before, after); d != "" {
		t.Fatalf("the refused tarball changed the host:\n%s", d)
	}
}

// TestAgentDropWaitsForInstallWindow: the nightly run takes a complete pair only inside
// INSTALL_WINDOW; outside it the pair stays and the report says when the window opens.
func TestAgentDropWaitsForInstallWindow(t *testing.T) {
	h := newDropHost(t, 0)
	t1 := "shop-hotfix-6.14.2.1.tar.gz"
	h.put(t1, t1, -1)
	h.put(t1+".sig", t1+".sig", -1)
	day := time.Now().Add(48 * time.Hour).Weekday().String()[:3] // closed all of today
	out, code := runCode(t, []string{drop.SettleEnv + "=300ms", "INSTALL_WINDOW=" + day + " 01:00-01:01"}, h.bin,
		"agent", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix")
	if code != 0 || !strings.Contains(out, t1+": outside INSTALL_WINDOW") || h.ledger() != "" {
		t.Fatalf("exit %d, ledger %q; want 0, the pair waiting for the window", code, h.ledger())
	}
	if got := h.names(""); !slices.Contains(got, t1) || !slices.Contains(got, t1+".sig") {
		t.Fatalf("the folder holds %q", got)
	}
}

// TestAgentDropApplyFails: two complete pairs are taken in chain order; the second one's
// install script fails, so it is refused with the apply's error and the way out, and the
// run exits 1.
func TestAgentDropApplyFails(t *testing.T) {
	h := newDropHost(t, 2)
	t1, t2 := "shop-hotfix-6.14.2.1.tar.gz", "shop-hotfix-6.14.2.2.tar.gz"
	for _, n := range []string{t2, t2 + ".sig", t1, t1 + ".sig"} {
		h.put(n, n, -1)
	}
	out, code := h.agent("-console")
	if code != 1 || h.ledger() != "6.14.2.1" || !strings.Contains(out, t1+": 6.14.2.1 applied") {
		t.Fatalf("exit %d, ledger %q; want 1 and 6.14.2.1 applied", code, h.ledger())
	}
	reason := string(must(os.ReadFile(filepath.Join(h.drop, "refused", t2+".reason"))))
	if !strings.Contains(reason, "its apply failed") || !strings.Contains(reason, "hotchain rollback 6.14.2.2") {
		t.Errorf("reason %q", reason)
	}
}

// dropSettleEnv shortens the settle time of the agent processes that the tests start
// (named here for the tests whose drop folder is a local variable named drop).
const dropSettleEnv = drop.SettleEnv

// TestAgentDropHostileNames: a name too long for the suffixes beside it and a name that
// would forge report lines are refused and moved, the run ends; a refusal that cannot be
// moved (refused/ is no directory) is reported as left in the folder.
func TestAgentDropHostileNames(t *testing.T) {
	h := newDropHost(t, 0)
	long := "shop-hotfix-" + strings.Repeat("A", 234) + ".rpm" // 250 bytes
	mid := "shop-hotfix-" + strings.Repeat("B", 226) + ".rpm"  // 242 bytes
	evil := "shop-hotfix-6.14.2.1.tar.gz\nInstalled: 9.9.9.9 \x1b[31m"
	for _, n := range []string{long, mid, evil, evil + ".sig"} {
		if err := os.WriteFile(filepath.Join(h.drop, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	out, code := h.agent("-console")
	if code != 1 || strings.Contains(out, "\nInstalled: 9.9.9.9") || strings.Contains(out, "\x1b") {
		t.Fatalf("exit %d, want 1 and no forged line:\n%s", code, out)
	}
	if !strings.Contains(out, "bytes long") || !strings.Contains(out, `\nInstalled: 9.9.9.9 \x1b[31m`) {
		t.Errorf("the refusals do not name the length or show the name quoted:\n%s", out)
	}
	if got := h.names(""); !slices.Equal(got, []string{"README", "refused", "shop-hotfix-x.part"}) {
		t.Fatalf("the folder holds %q, want the hostile names moved to refused/", got)
	}
	if got := h.names("refused"); len(got) != 7 { // the evil pair and its .reason, each long name and its .reason
		t.Errorf("refused/ holds %d files, want 7: %q", len(got), got)
	}

	// refused/ is a file: the refusal cannot be moved, and the report says it stays.
	os.RemoveAll(filepath.Join(h.drop, "refused"))
	os.WriteFile(filepath.Join(h.drop, "refused"), nil, 0o644)
	os.WriteFile(filepath.Join(h.drop, "shop-hotfix-6.14.2.9.rpm"), []byte("x"), 0o644)
	time.Sleep(400 * time.Millisecond)
	out, code = h.agent("-console")
	if code != 1 || !strings.Contains(out, "could not be moved to refused/: left in the drop folder") || strings.Contains(out, "moved to "+filepath.Join("/var/opt/shop/drop", "refused")) {
		t.Fatalf("a refusal that cannot be moved: exit %d:\n%s", code, out)
	}
}

// TestAgentDropRefusalsPerRun: a folder flooded with files to refuse is refused 50 a run,
// the report saying how many are left; the next run goes on.
func TestAgentDropRefusalsPerRun(t *testing.T) {
	h := newDropHost(t, 0)
	for i := range 60 {
		if err := os.WriteFile(filepath.Join(h.drop, fmt.Sprintf("shop-hotfix-junk-%03d.rpm", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	out, code := h.agent("-console")
	if code != 1 || !strings.Contains(out, "and 10 more to be refused: at most 50 are refused a run") {
		t.Fatalf("exit %d, want 1 and the count of what is left:\n%s", code, out)
	}
	if got := len(h.names("refused")); got != 100 {
		t.Fatalf("refused/ holds %d files after the first run, want 100 (50 and their .reason)", got)
	}
	if _, code = h.agent("-console"); code != 1 || len(h.names("refused")) != 120 || len(h.names("")) != 3 {
		t.Fatalf("the second run: exit %d, refused/ %d files, folder %q", code, len(h.names("refused")), h.names(""))
	}
}
