package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/rollout"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/repo"
)

// The vendor's rollout policy as the agent reads it: a signed rollout.json beside the
// repository's repodata/, fetched from the .repo file's baseurl (file:// here, a real HTTP
// server on loopback for the stale mirror), the fake package manager for the rest.

var testRepoSigner = sync.OnceValues(func() (*sign.Signer, error) {
	return sign.GenerateKey("Shop Hotfixes", "hotfixes@shop.example", sign.Ed25519, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
})

// policyRepo is the vendor's repository of base version 6.14.2 as a host reaches it.
type policyRepo struct {
	t      *testing.T
	root   string // the repository root; the repository is root/6.14.2
	signer *sign.Signer
}

func (pr *policyRepo) dir() string { return filepath.Join(pr.root, "6.14.2") }

// newPolicyHost is an agent host whose .repo file points at a repository root (served at
// baseURL, file://root when empty) and holds the vendor's key.
func newPolicyHost(t *testing.T, baseURL string, extra ...string) (*agentHost, *policyRepo) {
	t.Helper()
	h := newAgentHost(t, extra...)
	s, err := testRepoSigner()
	if err != nil {
		t.Fatal(err)
	}
	pr := &policyRepo{t: t, root: t.TempDir(), signer: s}
	if err := os.MkdirAll(filepath.Join(pr.dir(), "repodata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if baseURL == "" {
		baseURL = "file://" + pr.root
	}
	pub, err := s.PublicKeyArmored()
	if err != nil {
		t.Fatal(err)
	}
	h.write(strings.TrimPrefix(repo.KeyPath("shop"), "/"), string(pub))
	h.write("etc/yum.repos.d/shop-hotfix.repo", string(repo.RepoFile("shop", "6.14.2", []string{baseURL}, true)))
	return h, pr
}

// entry is a policy entry published well before the test's clock.
func entry(share int) *rollout.Entry {
	return &rollout.Entry{Share: share, Published: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)}
}

// policy is revision rev, issued five days before the test's clock, valid for 14 days.
func policy(rev int64, entries map[string]*rollout.Entry) *rollout.Policy {
	issued := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	return &rollout.Policy{Schema: rollout.Schema, Revision: rev, Issued: issued, Expires: issued.Add(14 * 24 * time.Hour), Hotfixes: entries}
}

// write signs p and writes it into the repository, as hotchain policy does.
func (pr *policyRepo) write(p *rollout.Policy) {
	pr.t.Helper()
	data, err := p.Marshal()
	if err != nil {
		pr.t.Fatal(err)
	}
	pr.writeSigned(rollout.FileName, data, p.Issued)
}

func (pr *policyRepo) writeSigned(name string, data []byte, when time.Time) {
	pr.t.Helper()
	var sig bytes.Buffer
	if err := pr.signer.At(when).SignArmored(&sig, bytes.NewReader(data)); err != nil {
		pr.t.Fatal(err)
	}
	for n, d := range map[string][]byte{name: data, name + ".asc": sig.Bytes()} {
		if err := os.WriteFile(filepath.Join(pr.dir(), n), d, 0o644); err != nil {
			pr.t.Fatal(err)
		}
	}
}

// repomd writes a signed repodata/repomd.xml of revision rev.
func (pr *policyRepo) repomd(rev int) {
	pr.t.Helper()
	data := fmt.Appendf(nil, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n  <revision>%d</revision>\n</repomd>\n", rev)
	pr.writeSigned("repodata/repomd.xml", data, time.Unix(int64(rev), 0))
}

func TestPolicyWithABadSignatureInstallsNothing(t *testing.T) {
	h, pr := newPolicyHost(t, "")
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.2": entry(100)}))
	p := filepath.Join(pr.dir(), rollout.FileName)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(data, []byte(`"share": 100`), []byte(`"share": 0`), 1), 0o644)

	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 1 || !strings.Contains(stdout, "rollout.json: bad signature") || h.ledger("host1.txt") != "" {
		t.Errorf("exit %d, ledger %q, stdout:\n%s\nstderr:\n%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
	if calls := strings.Join(h.calls(), " "); strings.Contains(calls, "install") {
		t.Errorf("installed with a bad policy: %s", calls)
	}
	// No signature at all is refused the same way.
	os.Remove(p + ".asc")
	code, _, stderr = h.run(h.options(agent.ModeCheck))
	if code != 1 || !strings.Contains(stderr, "has no signature (rollout.json.asc): refused") {
		t.Errorf("unsigned: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestNoPolicyIsPhasingOff(t *testing.T) {
	h, _ := newPolicyHost(t, "")
	o := h.options(agent.ModeCheck)
	code, stdout, _ := h.run(o)
	if code != cli.ExitPending || strings.Contains(stdout, "no rollout policy") {
		t.Errorf("-check: exit %d, stdout:\n%s", code, stdout)
	}
	o.Verbose = true
	if code, stdout, _ = h.run(o); code != cli.ExitPending || !strings.Contains(stdout, "no rollout policy at file://") {
		t.Errorf("-check -verbose: exit %d, stdout:\n%s", code, stdout)
	}
	if code, _, _ := h.run(h.options(agent.ModeCron)); code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("cron: exit %d, ledger %q", code, h.ledger("host1.txt"))
	}
}

// machineIDs returns an id in the share of v and one outside it.
func machineIDs(t *testing.T, v hotfix.Version, share int) (in, out string) {
	for i := 0; in == "" || out == ""; i++ {
		id := fmt.Sprintf("%032x", i)
		if rollout.InShare(v, id, share) {
			in = id
		} else {
			out = id
		}
	}
	return in, out
}

func TestShareDecidesByMachineID(t *testing.T) {
	v2 := hotfix.Version{6, 14, 2, 2}
	in, out := machineIDs(t, v2, 50)
	for _, tc := range []struct {
		name    string
		share   int
		id      string
		canary  bool
		console bool
		ledger  string
	}{
		{"share 0", 0, in, false, false, "6.14.2.1"},
		{"share 100", 100, out, false, false, "6.14.2.1 6.14.2.2 6.14.2.3"},
		{"share 50 in", 50, in, false, false, "6.14.2.1 6.14.2.2 6.14.2.3"},
		{"share 50 out", 50, out, false, false, "6.14.2.1"},
		{"share 0 canary", 0, out, true, false, "6.14.2.1 6.14.2.2 6.14.2.3"},
		{"share 0 console", 0, out, false, true, "6.14.2.1 6.14.2.2 6.14.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.canary {
				extra = append(extra, "CANARY=yes")
			}
			h, pr := newPolicyHost(t, "", extra...)
			h.write("etc/machine-id", tc.id+"\n")
			pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.2": entry(tc.share)}))
			mode := agent.ModeCron
			if tc.console {
				mode = agent.ModeConsole
			}
			code, stdout, stderr := h.run(h.options(mode))
			if code != 0 || h.ledger("host1.txt") != tc.ledger {
				t.Fatalf("exit %d, ledger %q, want %q; stdout:\n%s\nstderr:\n%s", code, h.ledger("host1.txt"), tc.ledger, stdout, stderr)
			}
			held := strings.Contains(stdout, "Held back: 6.14.2.2 (phased rollout: the vendor lets")
			if held != (tc.ledger == "6.14.2.1") || held && !strings.Contains(stdout, "Held back: 6.14.2.3 (follows 6.14.2.2, which is held back)\n") {
				t.Errorf("held %v; report:\n%s", held, stdout)
			}
			if tc.console && !strings.Contains(stdout, "Overridden: 6.14.2.2 is rolled out to 0% of hosts, not yet this one; -console installs it anyway") {
				t.Errorf("console does not say it overrode the share:\n%s", stdout)
			}
		})
	}
}

// Without /etc/machine-id the host name decides, the same way every time.
func TestShareWithoutMachineIDUsesHostname(t *testing.T) {
	h, pr := newPolicyHost(t, "")
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.1": entry(50)}))
	want := cli.ExitPending
	if !rollout.InShare(hotfix.Version{6, 14, 2, 1}, "host1", 50) {
		want = 0
	}
	for range 3 {
		if code, stdout, _ := h.run(h.options(agent.ModeCheck)); code != want {
			t.Fatalf("exit %d, want %d:\n%s", code, want, stdout)
		}
	}
}

func TestHaltHoldsTheChainBack(t *testing.T) {
	h, pr := newPolicyHost(t, "")
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.2": {Share: 100, Halted: true, Published: entry(0).Published}}))
	code, stdout, _ := h.run(h.options(agent.ModeCheck))
	if code != cli.ExitPending || !strings.Contains(stdout, "Held back: 6.14.2.2 (halted by the vendor)\nHeld back: 6.14.2.3 (follows 6.14.2.2, which is held back)\n") {
		t.Errorf("-check: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1" || !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 1 hotfix installed, 2 hotfixes held back\n") {
		t.Errorf("cron: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
	st := h.status()
	if !strings.Contains(st, "held back:     6.14.2.2 (halted by the vendor)\n") {
		t.Errorf("status:\n%s", st)
	}
	// Everything pending is held: -check has nothing to install now.
	if code, _, _ = h.run(h.options(agent.ModeCheck)); code != 0 {
		t.Errorf("-check with only held-back hotfixes: exit %d", code)
	}
	code, stdout, _ = h.run(h.options(agent.ModeConsole))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" || !strings.Contains(stdout, "Overridden: 6.14.2.2 is halted by the vendor; -console installs it anyway") {
		t.Errorf("console: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
}

// status runs hotchain status on the host.
func (h *agentHost) status() string {
	h.t.Helper()
	var out, errb bytes.Buffer
	e := &cli.Env{Stdout: &out, Stderr: &errb, Environ: h.environ}
	if err := run(context.Background(), e, []string{"status", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}); err != nil {
		h.t.Fatalf("status: %v\n%s", err, errb.String())
	}
	return out.String()
}

func withdrawn(reason string) *rollout.Entry {
	e := entry(100)
	e.Withdrawn = reason
	return e
}

func TestWithdrawnIsNeverInstalled(t *testing.T) {
	h, pr := newPolicyHost(t, "")
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.2": withdrawn("corrupts the cache")}))
	code, stdout, _ := h.run(h.options(agent.ModeConsole))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1" || !strings.Contains(stdout, "Held back: 6.14.2.2 (withdrawn by the vendor: corrupts the cache)\n") {
		t.Errorf("console: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
}

func TestWithdrawnAppliedIsReported(t *testing.T) {
	h, pr := newPolicyHost(t, "")
	if code, _, _ := h.run(h.options(agent.ModeCron)); code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("first install: exit %d, ledger %q", code, h.ledger("host1.txt"))
	}
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.2": withdrawn("corrupts the cache")}))
	code, stdout, _ := h.run(h.options(agent.ModeCheck))
	if code != cli.ExitWithdrawn || !strings.Contains(stdout, "WITHDRAWN: 6.14.2.2 is applied on this host, but the vendor withdrew it: corrupts the cache") {
		t.Errorf("-check: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != cli.ExitWithdrawn || !strings.HasPrefix(stdout, "[shop-hotfix] myhost: WITHDRAWN hotfix 6.14.2.2 applied (corrupts the cache)\n") ||
		h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("cron: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
	if st := h.status(); !strings.Contains(st, "WITHDRAWN:     6.14.2.2 is applied, but the vendor withdrew it: corrupts the cache") {
		t.Errorf("status:\n%s", st)
	}
}

func TestAutoRollbackWithdrawn(t *testing.T) {
	h, pr := newPolicyHost(t, "", "AUTO_ROLLBACK=withdrawn")
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	if code, _, _ := h.run(h.options(agent.ModeCron)); code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3 6.14.2.4" {
		t.Fatalf("first install: exit %d, ledger %q", code, h.ledger("host1.txt"))
	}
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.3": withdrawn("breaks checkout")}))
	// -check only reports.
	if code, _, _ := h.run(h.options(agent.ModeCheck)); code != cli.ExitWithdrawn || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3 6.14.2.4" {
		t.Fatalf("-check: exit %d, ledger %q", code, h.ledger("host1.txt"))
	}
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2" ||
		!strings.HasPrefix(stdout, "[shop-hotfix] myhost: 2 hotfixes rolled back (withdrawn by the vendor)\n") ||
		!strings.Contains(stdout, "Rolled back (withdrawn by the vendor): 6.14.2.4 6.14.2.3\n") {
		t.Errorf("cron: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
	for _, f := range []string{"opt/shop/lib/fix3.txt", "opt/shop/lib/fix4.txt"} {
		if _, err := os.Stat(h.path(f)); err == nil {
			t.Errorf("%s is still there after the rollback", f)
		}
	}
	if _, err := os.Stat(h.path("opt/shop/lib/fix2.txt")); err != nil {
		t.Errorf("6.14.2.2's file: %v", err)
	}
	rpmdb, _ := os.ReadFile(h.spec().State)
	if got := strings.Join(strings.Fields(string(rpmdb)), " "); got != "shop-hotfix-6_14_2_1 shop-hotfix-6_14_2_2" {
		t.Errorf("rpm database %q", got)
	}
	// The next run installs nothing again: 6.14.2.3 is withdrawn and 6.14.2.4 builds on it.
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2" {
		t.Errorf("next run: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
}

func TestExpiredMetadataIsAFailure(t *testing.T) {
	h, pr := newPolicyHost(t, "")
	p := policy(1, map[string]*rollout.Entry{"6.14.2.1": entry(100)})
	p.Issued = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	p.Expires = time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	pr.write(p)
	code, _, stderr := h.run(h.options(agent.ModeCheck))
	if code != 1 || !strings.Contains(stderr, "metadata expired: rollout policy revision 1 of file://") || !strings.Contains(stderr, "expired at 2026-11-15T00:00:00Z") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 1 || h.ledger("host1.txt") != "" || !strings.Contains(stdout, "FAILED: metadata expired") {
		t.Errorf("cron: exit %d, ledger %q:\n%s", code, h.ledger("host1.txt"), stdout)
	}
}

// A mirror that serves the old, validly signed repository after the host saw a newer one
// is refused as a failure, over a real HTTP server on loopback.
func TestStaleMirrorIsAFailure(t *testing.T) {
	var serving atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.FileServer(http.Dir(serving.Load().(string))).ServeHTTP(w, r)
	}))
	defer srv.Close()
	h, pr := newPolicyHost(t, srv.URL+"/")
	old := t.TempDir()
	pr.write(policy(7, map[string]*rollout.Entry{"6.14.2.1": entry(100)}))
	pr.repomd(1700000000)
	if err := os.CopyFS(old, os.DirFS(pr.root)); err != nil {
		t.Fatal(err)
	}
	pr.write(policy(9, map[string]*rollout.Entry{"6.14.2.1": entry(100)}))
	pr.repomd(1700000500)

	serving.Store(pr.root)
	if code, _, stderr := h.run(h.options(agent.ModeCheck)); code != cli.ExitPending {
		t.Fatalf("current mirror: exit %d\n%s", code, stderr)
	}
	serving.Store(old)
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 1 || !strings.Contains(stdout, "FAILED: metadata older than what this host saw: rollout policy revision 7 < 9 (http://127.0.0.1:") || h.ledger("host1.txt") != "" {
		t.Errorf("stale mirror: exit %d, ledger %q, stdout:\n%s\nstderr:\n%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
	// The old repomd.xml alone, with the current policy, is refused too.
	pr.writeSignedCopy(t, old)
	if code, _, stderr = h.run(h.options(agent.ModeCheck)); code != 1 || !strings.Contains(stderr, "metadata older than what this host saw: repomd.xml revision 1700000000 < 1700000500") {
		t.Errorf("stale repomd.xml: exit %d, stderr:\n%s", code, stderr)
	}
	// A mirror without the policy that the host saw is no way around it.
	os.Remove(filepath.Join(old, "6.14.2", rollout.FileName))
	if code, _, stderr = h.run(h.options(agent.ModeCheck)); code != 1 || !strings.Contains(stderr, "serves no rollout policy, and this host saw revision 9") {
		t.Errorf("policy gone: exit %d, stderr:\n%s", code, stderr)
	}
	if calls := strings.Join(h.calls(), " "); strings.Count(calls, "available") != 1 || strings.Contains(calls, "install") {
		t.Errorf("the package manager was asked after the metadata was refused: %s", calls)
	}
}

// writeSignedCopy puts the current policy into the old mirror, beside its old repomd.xml.
func (pr *policyRepo) writeSignedCopy(t *testing.T, old string) {
	for _, n := range []string{rollout.FileName, rollout.SigName} {
		data, err := os.ReadFile(filepath.Join(pr.dir(), n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(old, "6.14.2", n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A withdrawn hotfix that rpm unpacked and nobody applied is not applied by the next run:
// it and the ones after it leave the rpm database.
func TestWithdrawnUnpackedIsRemovedNotApplied(t *testing.T) {
	h, pr := newPolicyHost(t, "")
	host := &applier.Host{Cfg: h.cfg, Environ: h.environ}
	if err := host.Apply(context.Background(), host.HotfixDir(hotfix.Version{6, 14, 2, 1}), applier.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	h.write("fakepm.rpmdb", "shop-hotfix-6_14_2_1\nshop-hotfix-6_14_2_2\nshop-hotfix-6_14_2_3\n")
	os.RemoveAll(h.path("var/opt/shop/Patches/shop-hotfix-6.14.2.4"))
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.2": withdrawn("corrupts the cache")}))
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	rpmdb, _ := os.ReadFile(h.spec().State)
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1" || strings.Join(strings.Fields(string(rpmdb)), " ") != "shop-hotfix-6_14_2_1" ||
		!strings.HasPrefix(stdout, "[shop-hotfix] myhost: withdrawn 6.14.2.2 not applied\n") ||
		!strings.Contains(stdout, "==> not applying 6.14.2.2: withdrawn by the vendor: corrupts the cache\n") {
		t.Errorf("exit %d, ledger %q, rpm database %q:\n%s%s", code, h.ledger("host1.txt"), rpmdb, stdout, stderr)
	}
}

// MIN_AGE_DAYS counts from the publish time in the signed policy.
func TestMinAgeDaysCountsFromThePolicy(t *testing.T) {
	h, pr := newPolicyHost(t, "", "MIN_AGE_DAYS=7")
	young := entry(100)
	young.Published = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC) // a day before the test's clock
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.1": entry(100), "6.14.2.2": young, "6.14.2.3": entry(100)}))
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1" ||
		!strings.Contains(stdout, "Held back: 6.14.2.2 (MIN_AGE_DAYS=7: published 2026-11-24 06:00 UTC; due 2026-12-01 06:00 UTC)\n") {
		t.Errorf("exit %d, ledger %q:\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
}

// A secondary follows the alpha whatever the share or a halt says; a withdrawal holds it
// back.
func TestSecondaryFollowsTheAlphaNotThePhasing(t *testing.T) {
	h, pr := newPolicyHost(t, "", "HOST_ROLE=secondary")
	h.write("etc/opt/shop/hotfix/version.txt", "6.14.2.1\n6.14.2.2\n6.14.2.3\n")
	pr.write(policy(1, map[string]*rollout.Entry{"6.14.2.1": entry(0), "6.14.2.2": {Share: 100, Halted: true, Published: entry(0).Published}, "6.14.2.3": withdrawn("breaks checkout")}))
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2" || !strings.Contains(stdout, "Held back: 6.14.2.3 (withdrawn by the vendor: breaks checkout)\n") {
		t.Errorf("exit %d, ledger %q:\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
}
