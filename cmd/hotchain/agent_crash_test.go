package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/testutil"
)

// The agent's crash test: an agent run, a real process, is killed with SIGKILL at each
// durable step of the applies it makes after dnf returns; `hotchain recover` (at boot) or the
// next agent run must then leave the rpm database, the ledger and the product tree agreeing,
// the tree exactly as before or after each hotfix.

// crashStepEnv makes the agent processes of the test binary report their durable steps:
// "N|FILE" appends each step's name to FILE and kills the process at step N (0: never).
const crashStepEnv = "HOTCHAIN_AGENT_TEST_KILL_AT"

func init() {
	spec := os.Getenv(crashStepEnv)
	if spec == "" {
		return
	}
	n, file, _ := strings.Cut(spec, "|")
	at, err := strconv.Atoi(n)
	if err != nil {
		panic(fmt.Sprintf("%s=%q", crashStepEnv, spec))
	}
	steps := 0
	agent.StepHook = func(step string) {
		steps++
		f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			panic(err)
		}
		fmt.Fprintln(f, step)
		f.Close()
		if steps == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// crashHost is an agent host whose hotfixes 1 to 3 each replace lib/core.txt, add
// lib/fixN.txt, run an Install script and have a Check script, so that an apply goes through
// every state of the journal; every file carries one time, so that two hosts' trees compare.
func newCrashHost(t *testing.T) *agentHost {
	h := newAgentHost(t)
	for n := 1; n <= 4; n++ {
		dir := fmt.Sprintf("var/opt/shop/Patches/shop-hotfix-6.14.2.%d/", n)
		h.write(dir+"FileChanges/lib/core.txt", fmt.Sprintf("core %d\n", n))
		h.write(dir+"Install/10-mark.sh", fmt.Sprintf("echo %d >> %s\n", n, h.path("script-marks")))
		h.write(dir+"Check/10-alive.sh", fmt.Sprintf("test -f \"$PRODUCT_ROOT/lib/fix%d.txt\"\n", n))
	}
	stamp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := filepath.Walk(h.root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, stamp, stamp)
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// productTree records the product tree for comparison, without the modification times of
// directories, which an apply that adds a file sets to its own time.
func (h *agentHost) productTree(t *testing.T) map[string]testutil.TreeEntry {
	return testutil.Snapshot(t, h.root, false, "opt/shop")
}

// packageNames is the rpm database that holds the hotfixes vs.
func (h *agentHost) packageNames(vs []string) string {
	var names []string
	for _, s := range vs {
		v, err := hotfix.ParseHotfixVersion(s)
		if err != nil {
			h.t.Fatal(err)
		}
		names = append(names, hotfix.PackageName("shop", v))
	}
	return strings.Join(names, " ")
}

func (h *agentHost) rpmdb() string {
	data, _ := os.ReadFile(h.spec().State)
	return strings.Join(strings.Fields(string(data)), " ")
}

// agentKilledAt runs `hotchain agent -console` killed at durable step at (0: not killed)
// and returns the steps it reported.
func (h *agentHost) agentKilledAt(t *testing.T, at int) []string {
	t.Helper()
	stepFile := filepath.Join(t.TempDir(), "steps")
	p := h.start(t, "agent", []string{fmt.Sprintf("%s=%d|%s", crashStepEnv, at, stepFile)}, "-console")
	p.wait(t, 30*time.Second)
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch killed := ws.Signaled() && ws.Signal() == syscall.SIGKILL; {
	case at > 0 && !killed:
		t.Fatalf("step %d: the agent was not killed: exit %d\n%s%s", at, p.code, &p.stdout, &p.stderr)
	case at == 0 && p.code != 0:
		t.Fatalf("reference agent run: exit %d\n%s%s", p.code, &p.stdout, &p.stderr)
	}
	data, _ := os.ReadFile(stepFile)
	return strings.Fields(strings.ReplaceAll(string(data), " ", "_"))
}

func TestAgentCrashAfterDNFRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("kills agent runs at every durable step; skipped with -short")
	}
	// The reference run: its durable steps, and the tree after it.
	ref := newCrashHost(t)
	trees := []map[string]testutil.TreeEntry{ref.productTree(t)} // trees[k]: after hotfixes 1..k
	steps := ref.agentKilledAt(t, 0)
	if ref.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("reference run: ledger %q", ref.ledger("host1.txt"))
	}
	final := ref.productTree(t)
	// The trees after hotfix 1 and 2: killed at the last step of their applies, where the
	// product tree is complete.
	var ends []int
	for i, s := range steps {
		if s == "installation_ledger" {
			ends = append(ends, i+1)
		}
	}
	if len(ends) != 3 {
		t.Fatalf("reference run's steps: %q", steps)
	}
	for _, at := range ends[:2] {
		h := newCrashHost(t)
		h.agentKilledAt(t, at)
		trees = append(trees, h.productTree(t))
	}
	trees = append(trees, final)
	for k := 1; k < len(trees); k++ {
		if testutil.DiffTrees(trees[k-1], trees[k]) == "" {
			t.Fatalf("the trees before and after hotfix %d are the same: the test cannot tell them apart", k)
		}
	}

	all := []string{"6.14.2.1", "6.14.2.2", "6.14.2.3"}
	start := time.Now()
	for at := 1; at <= len(steps); at++ {
		h := newCrashHost(t)
		h.agentKilledAt(t, at)
		st, err := (&applier.Host{Cfg: h.cfg}).Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var wantLine string
		if len(st.Interrupted) == 1 {
			u := st.Interrupted[0]
			wantLine = fmt.Sprintf("finished the interrupted apply of %s (it stopped in state %s)", u.Version, u.State)
			if u.State == "backup" {
				wantLine = fmt.Sprintf("undid the interrupted apply of %s (it stopped in state backup, before the product was touched)", u.Version)
			}
		} else if len(st.Interrupted) > 1 {
			t.Fatalf("step %d (%s): %d interrupted journals", at, steps[at-1], len(st.Interrupted))
		}
		var said string
		if at%2 == 0 {
			// At boot: recover finishes what was interrupted and applies nothing new.
			p := h.start(t, "recover", nil)
			if code := p.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("step %d (%s): recover: exit %d\n%s%s", at, steps[at-1], code, &p.stdout, &p.stderr)
			}
			said = p.stdout.String()
			if wantLine == "" && !strings.Contains(said, "nothing to recover") {
				t.Errorf("step %d: recover without an interrupted journal said:\n%s", at, said)
			}
			h.checkAgreement(t, at, steps[at-1], trees, all)
		}
		p := h.start(t, "agent", nil, "-console")
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("step %d (%s): the next agent run: exit %d\n%s%s", at, steps[at-1], code, &p.stdout, &p.stderr)
		}
		said += p.stdout.String()
		// recover says "recovered: LINE", the agent's report "Recovered: LINE".
		if wantLine != "" && !strings.Contains(said, "ecovered: "+wantLine) {
			t.Errorf("step %d (%s): want %q in the output:\n%s", at, steps[at-1], wantLine, said)
		}
		if d := testutil.DiffTrees(final, h.productTree(t)); d != "" {
			t.Fatalf("step %d (%s): the tree after the next run is not the reference's:\n%s", at, steps[at-1], d)
		}
		if l, db := h.ledger("host1.txt"), h.rpmdb(); l != strings.Join(all, " ") || db != h.packageNames(all) {
			t.Fatalf("step %d (%s): after the next run: ledger %q, rpm database %q", at, steps[at-1], l, db)
		}
	}
	t.Logf("killed the agent at each of the %d durable steps of 3 applies after dnf returned (recover first at even steps); %v", len(steps), time.Since(start).Round(time.Millisecond))
}

// checkAgreement: after recover, the ledger is hotfixes 1..k, the tree is the one after
// hotfix k, and every package in the rpm database is applied or unpacked and never begun
// (which the next agent run applies).
func (h *agentHost) checkAgreement(t *testing.T, at int, step string, trees []map[string]testutil.TreeEntry, all []string) {
	t.Helper()
	host := &applier.Host{Cfg: h.cfg}
	applied, err := host.Applied()
	if err != nil {
		t.Fatal(err)
	}
	k := len(applied)
	if got := strings.Join(hoststate.VersionStrings(applied), " "); got != strings.Join(all[:k], " ") {
		t.Fatalf("step %d (%s): ledger after recover %q", at, step, got)
	}
	if d := testutil.DiffTrees(trees[k], h.productTree(t)); d != "" {
		t.Fatalf("step %d (%s): the tree after recover is not the one after hotfix %d:\n%s", at, step, k, d)
	}
	unpacked, err := host.Unpacked()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Fields(h.rpmdb()) {
		v, ok := hotfix.ParsePackageName("shop", name)
		if !ok {
			t.Fatalf("rpm database holds %q", name)
		}
		if !slices.ContainsFunc(applied, v.Equal) && !slices.ContainsFunc(unpacked, v.Equal) {
			t.Fatalf("step %d (%s): %s is in the rpm database, neither applied nor unpacked (ledger %v, unpacked %v)", at, step, name, applied, unpacked)
		}
	}
	if st, err := host.Status(t.Context()); err != nil || len(st.Interrupted) != 0 {
		t.Fatalf("step %d (%s): after recover: %v, interrupted %v", at, step, err, st.Interrupted)
	}
}
