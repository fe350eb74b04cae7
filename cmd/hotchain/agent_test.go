package main

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/internal/testutil"

	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

func TestRandomWaitOnlyInCronRuns(t *testing.T) {
	h := newAgentHost(t, "RANDOMWAIT=5")
	var waits []time.Duration
	o := h.options(agent.ModeCron)
	o.RandN = rand.New(rand.NewPCG(3, 4)).Int64N
	o.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(h.calls()) != 0 {
			t.Error("the random wait came after the repository was asked")
		}
		if cli.FileExists(h.path("var/lock/shop-hotfix.lock/pidfile")) {
			t.Error("LOCK_CRON was taken before the random wait")
		}
		return nil
	}
	if code, _, stderr := h.run(o); code != 0 {
		t.Fatalf("cron run: exit %d: %s", code, stderr)
	}
	if len(waits) != 1 || waits[0] < time.Minute || waits[0] > 5*time.Minute {
		t.Fatalf("cron run waited %v, want one wait within 1..5 minutes", waits)
	}
	// Console modes never wait (the options' sleeper fails the test when called).
	for _, m := range []agent.Mode{agent.ModeCheck, agent.ModeDownload, agent.ModeConsole} {
		if code, _, stderr := h.run(h.options(m)); code != 0 && code != 100 {
			t.Errorf("%s: exit %d: %s", m, code, stderr)
		}
	}
}

func TestDayOutsideDaysOfWeekIsSilent(t *testing.T) {
	h := newAgentHost(t, "DAYS_OF_WEEK=0126") // the runs happen on a Wednesday (3)
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and nothing", code, stdout, stderr)
	}
	if calls := h.calls(); len(calls) != 0 {
		t.Errorf("package manager called: %v", calls)
	}
	if _, err := os.Stat(h.path("var/lock/shop-hotfix.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a lock was taken: %v", err)
	}
	// The console does not look at the day, and shows what happens as it happens.
	code, stdout, stderr = h.run(h.options(agent.ModeConsole))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("console run on an excluded day: exit %d, ledger %q: %s", code, h.ledger("host1.txt"), stderr)
	}
	if !strings.Contains(stdout, "==> installing shop-hotfix-6_14_2_3 (6.14.2.1 6.14.2.2 6.14.2.3), the apply deferred\nComplete!\n") ||
		!strings.Contains(stdout, "==> applying 6.14.2.1\n") ||
		!strings.HasSuffix(stdout, "==> 6.14.2.3: applied on host1: 0 files replaced, 1 added, 0 scripts run\nInstalled: 6.14.2.1 6.14.2.2 6.14.2.3\n"+
			"The product was closed for 0.0 s (PRE_HOOK to POST_HOOK).\n") || strings.Contains(stdout, "[shop-hotfix]") {
		t.Errorf("console output:\n%s", stdout)
	}
}

func TestDisabledNightlyRunsAreSilent(t *testing.T) {
	h := newAgentHost(t)
	os.Remove(h.path("var/lock/subsys/shop-hotfix"))
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || stdout != "" || stderr != "" || len(h.calls()) != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q, calls %v; want 0 and nothing", code, stdout, stderr, h.calls())
	}
}

func TestSubsysRecheckedAfterTheWait(t *testing.T) {
	h := newAgentHost(t, "RANDOMWAIT=30")
	o := h.options(agent.ModeCron)
	slept := false
	o.Sleep = func(context.Context, time.Duration) error {
		slept = true
		// `service stop` during the wait.
		return os.Remove(h.path("var/lock/subsys/shop-hotfix"))
	}
	code, stdout, stderr := h.run(o)
	if !slept || code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("slept %v, exit %d, stdout %q, stderr %q; want a wait, then 0 and nothing", slept, code, stdout, stderr)
	}
	if calls := h.calls(); len(calls) != 0 || h.ledger("host1.txt") != "" {
		t.Errorf("a run that slept through a stop went on: calls %v, ledger %q", calls, h.ledger("host1.txt"))
	}
}

func TestCronRunInstallsTheChainInOneTransaction(t *testing.T) {
	h := newAgentHost(t)
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	// One install of the newest: dnf brings 1 and 2 as dependencies. The fake's %post
	// applies under the agent's LOCK_TS, which works only with the token passed to dnf.
	if calls := strings.Join(h.calls(), " "); calls != "available install-start install-end" {
		t.Errorf("package manager calls: %s", calls)
	}
	if log, _ := os.ReadFile(h.spec().Log); !strings.Contains(string(log), "install-start shop-hotfix-6_14_2_3 ") {
		t.Errorf("install did not ask for the newest hotfix:\n%s", log)
	}
	if got := h.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("ledger %q", got)
	}
	for _, want := range []string{"[shop-hotfix] myhost: 3 hotfixes installed\n\n", "Installed: 6.14.2.1 6.14.2.2 6.14.2.3\n", "Output:\n", "Complete!\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 3 hotfixes installed") {
		t.Errorf("report does not start with its subject:\n%s", stdout)
	}
	if len(h.syslog) != 1 || h.syslog[0] != "shop-hotfix failed=false: 3 hotfixes installed; closed for 0.0 s (PRE_HOOK to POST_HOOK)" {
		t.Errorf("syslog %q", h.syslog)
	}
	last, err := hoststate.ReadLastRun(h.cfg)
	if err != nil || last == nil || last.Outcome != "success" || last.Mode != "cron" || strings.Join(last.Installed, " ") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("last run %+v, %v", last, err)
	}

	// Nothing pending: quiet.
	h.syslog = nil
	code, stdout, stderr = h.run(h.options(agent.ModeCron))
	if code != 0 || stdout != "" || stderr != "" {
		t.Errorf("second run: exit %d, stdout %q, stderr %q; want a quiet 0", code, stdout, stderr)
	}
	if len(h.syslog) != 1 || !strings.HasSuffix(h.syslog[0], ": nothing to do") {
		t.Errorf("syslog %q", h.syslog)
	}
}

func TestInstalledButNotAppliedIsAFailure(t *testing.T) {
	h := newAgentHost(t, `PRE_HOOK=/hooks/pre.sh`, `POST_HOOK="/hooks/post.sh --after"`)
	// Hooks run on the host, not inside -root: their paths are absolute on the host.
	hooks := h.path("hooks")
	h.write("hooks/pre.sh", "#!/bin/sh\necho pre >> "+hooks+"/ran\n")
	h.write("hooks/post.sh", "#!/bin/sh\necho \"post $1 $HOTCHAIN_OUTCOME [$HOTCHAIN_INSTALLED] $PRODUCT $SHOP_SITE\" >> "+hooks+"/ran\n")
	h.write("etc/default/shop", "export SHOP_SITE='north wing'\n") // SCRIPT_ENV_FILE
	h.write("etc/sysconfig/shop-hotfix", agentSettings+"PRE_HOOK="+hooks+"/pre.sh\nPOST_HOOK=\""+hooks+"/post.sh --after\"\n")
	h.load()
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.2/Install/10-migrate.sh", "echo migrating; exit 1\n")

	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if got := h.ledger("host1.txt"); got != "6.14.2.1" {
		t.Errorf("ledger %q, want 6.14.2.1 only", got)
	}
	for _, want := range []string{
		"[shop-hotfix] myhost: FAILED: 1 hotfix installed; hotfix 6.14.2.2 is installed (shop-hotfix-6_14_2_2-1-0) but not applied",
		"see /var/opt/shop/Patches/shop-hotfix-6.14.2.2/shop-hotfix-6.14.2.2-install-host1.log, then run hotchain apply /var/opt/shop/Patches/shop-hotfix-6.14.2.2\n",
		"==> removing shop-hotfix-6_14_2_3 from the rpm database (not applied): the chain stops at 6.14.2.2\n",
		"Installed: 6.14.2.1\n",
		"migrating\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	ran, _ := os.ReadFile(filepath.Join(hooks, "ran"))
	if string(ran) != "pre\npost --after failure [6.14.2.1] shop north wing\n" {
		t.Errorf("hooks ran as %q", ran)
	}
	if len(h.syslog) != 1 || !strings.HasPrefix(h.syslog[0], "shop-hotfix failed=true: FAILED: hotfix 6.14.2.2 is installed") {
		t.Errorf("syslog %q", h.syslog)
	}
	if last, _ := hoststate.ReadLastRun(h.cfg); last == nil || last.Outcome != "failure" || !strings.Contains(last.Error, "6.14.2.2") {
		t.Errorf("last run %+v", last)
	}
}

func TestRepositoryDownIsAFailure(t *testing.T) {
	h := newAgentHost(t)
	h.editSpec(func(s *fakeSpec) { s.Down = true })
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 1 || !strings.HasPrefix(stdout, "[shop-hotfix] myhost: FAILED: check the repository: dnf repoquery: exit status 1") {
		t.Errorf("cron run: exit %d, report:\n%s", code, stdout)
	}
	code, stdout, stderr := h.run(h.options(agent.ModeCheck))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "hotchain: check the repository: dnf repoquery") {
		t.Errorf("-check: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCheckOutput(t *testing.T) {
	h := newAgentHost(t)
	code, stdout, stderr := h.run(h.options(agent.ModeCheck))
	if code != 100 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 100", code, stderr)
	}
	testutil.Golden(t, "testdata/agent/check.txt", []byte(stdout))
	if calls := strings.Join(h.calls(), " "); calls != "available" {
		t.Errorf("-check called %s", calls)
	}
	if cli.FileExists(h.path("var/lock/shop-hotfix.lock/ts.lock")) {
		t.Error("-check took LOCK_TS")
	}

	h.run(h.options(agent.ModeConsole))
	code, stdout, _ = h.run(h.options(agent.ModeCheck))
	if code != 0 || stdout != "No new shop hotfixes available for host: myhost.\n" {
		t.Errorf("nothing pending: exit %d, %q", code, stdout)
	}
}

func TestCheckOnlyAndDownloadOnly(t *testing.T) {
	h := newAgentHost(t, "CHECK_ONLY=yes")
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 0 || !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 3 hotfixes available\n") ||
		!strings.Contains(stdout, "New shop hotfixes available for host: myhost:\n") || h.ledger("host1.txt") != "" {
		t.Errorf("CHECK_ONLY: exit %d, ledger %q, report:\n%s", code, h.ledger("host1.txt"), stdout)
	}

	h = newAgentHost(t, "DOWNLOAD_ONLY=yes")
	code, stdout, _ = h.run(h.options(agent.ModeCron))
	if code != 0 || !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 3 hotfixes downloaded\n") || h.ledger("host1.txt") != "" {
		t.Errorf("DOWNLOAD_ONLY: exit %d, ledger %q, report:\n%s", code, h.ledger("host1.txt"), stdout)
	}
	if log, _ := os.ReadFile(h.spec().Log); string(log) != "available\ndownload shop-hotfix-6_14_2_3\n" {
		t.Errorf("calls:\n%s", log)
	}

	code, stdout, _ = h.run(h.options(agent.ModeDownload))
	if code != 0 || stdout != "Downloaded into the package manager's cache, not installed: shop-hotfix-6_14_2_1 shop-hotfix-6_14_2_2 shop-hotfix-6_14_2_3\n" {
		t.Errorf("-download: exit %d, %q", code, stdout)
	}
}

func TestLocksHeldGiveExit3(t *testing.T) {
	for _, which := range []string{"LOCK_CRON", "LOCK_TS"} {
		h := newAgentHost(t)
		p := h.path("var/lock/shop-hotfix.lock/pidfile")
		if which == "LOCK_TS" {
			p = h.path("var/lock/shop-hotfix.lock/ts.lock")
		}
		l := lock.New(p)
		if err := l.TryLock(); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := h.run(h.options(agent.ModeCron))
		l.Unlock()
		if code != 3 || stdout != "" || !strings.Contains(stderr, "is held by another run (pid ") || !strings.Contains(stderr, "\nhint: ") {
			t.Errorf("%s held: exit %d, stdout %q, stderr %q", which, code, stdout, stderr)
		}
		if len(h.calls()) != 0 {
			t.Errorf("%s held: package manager called %v", which, h.calls())
		}
	}
}

// TestLockFailuresThatAreNotAnotherRun: a lock that cannot be taken for another reason than
// another run (here a directory at the lock path) says what it is and exits 1, not 3.
func TestLockFailuresThatAreNotAnotherRun(t *testing.T) {
	for _, which := range []string{"LOCK_CRON", "LOCK_TS"} {
		h := newAgentHost(t)
		p := h.path("var/lock/shop-hotfix.lock/pidfile")
		if which == "LOCK_TS" {
			p = h.path("var/lock/shop-hotfix.lock/ts.lock")
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := h.run(h.options(agent.ModeCron))
		if code != 1 || strings.Contains(stderr, "another") || !strings.Contains(stderr, "is not a regular file but a directory") {
			t.Errorf("%s is a directory: exit %d, stderr %q; want 1 and what is wrong", which, code, stderr)
		}
		if len(h.calls()) != 0 {
			t.Errorf("%s is a directory: package manager called %v", which, h.calls())
		}
	}
}

func TestSyslogErrorsOnlyWhenVerbose(t *testing.T) {
	h := newAgentHost(t)
	for _, verbose := range []bool{false, true} {
		o := h.options(agent.ModeCheck)
		o.Verbose = verbose
		o.Syslog = func(string, string, bool) error { return errors.New("syslog: dial unix /dev/log: no such file") }
		code, _, stderr := h.run(o)
		if code != 100 || strings.Contains(stderr, "/dev/log") != verbose {
			t.Errorf("verbose %v: exit %d, stderr %q", verbose, code, stderr)
		}
	}
}

// withFakePM makes the command line use the fake for h while the test runs.
func withFakePM(t *testing.T, h *agentHost) {
	old := agent.NewPackageManager
	agent.NewPackageManager = func(cfg *sysconfig.Config, p agent.PMIO) (agent.PackageManager, error) {
		return &fakePM{SpecFile: h.specFile, cfg: cfg, io: p}, nil
	}
	t.Cleanup(func() { agent.NewPackageManager = old })
}

// cli runs hotchain's command line in-process.
func (h *agentHost) cli(environ []string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	e := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Environ: append(append([]string(nil), h.environ...), environ...)}
	code := report(&stderr, run(context.Background(), e, args))
	return code, stdout.String(), stderr.String()
}

func TestAgentCommandLine(t *testing.T) {
	h := newAgentHost(t)
	withFakePM(t, h)
	at := []string{"-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}

	code, stdout, _ := h.cli(nil, append([]string{"agent", "-help"}, at...)...)
	for _, want := range []string{
		"Check if new hotfixes are available:\n  hotchain agent -check\n",
		"The agent gets configuration values from (see there):\n  /etc/sysconfig/shop-hotfix\n",
		"  100  -check: hotfixes are pending\n",
		"  4    the run itself worked but its report could not be mailed, or its notification delivered\n",
	} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("-help: exit %d, lacks %q:\n%s", code, want, stdout)
		}
	}
	if code, _, stderr := h.cli(nil, append([]string{"agent", "-check", "-console"}, at...)...); code != 2 || !strings.Contains(stderr, "exclude each other") {
		t.Errorf("-check -console: exit %d, %s", code, stderr)
	}
	if code, _, stderr := h.cli(nil, append(append([]string{"agent"}, at...), "now")...); code != 2 {
		t.Errorf("an argument: exit %d, %s", code, stderr)
	}
	// -check through the command line, as /etc/cron.daily/shop-hotfix -check runs it.
	if code, stdout, _ := h.cli(nil, append([]string{"agent", "--check"}, at...)...); code != 100 || !strings.Contains(stdout, "shop-hotfix-6_14_2_3") {
		t.Errorf("--check: exit %d:\n%s", code, stdout)
	}
	// A bad SCHEDULE is a bad setting like any other: file, key, value, exit 1.
	code, _, stderr := h.cli([]string{"SCHEDULE=61 * * * *"}, append([]string{"agent", "-daemon"}, at...)...)
	if code != 1 || !strings.Contains(stderr, `SCHEDULE="61 * * * *"`) || !strings.Contains(stderr, "give five fields") {
		t.Errorf("invalid SCHEDULE: exit %d: %s", code, stderr)
	}
}

func TestRealPackageManagerGetsTheRootAndYumParameter(t *testing.T) {
	if _, err := exec.LookPath("dnf"); err != nil {
		if _, err := exec.LookPath("yum"); err != nil {
			t.Skip("neither dnf nor yum installed")
		}
	}
	h := newAgentHost(t)
	var out bytes.Buffer
	pm, err := agent.NewPackageManager(h.cfg, agent.PMIO{Env: []string{"A=1"}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	real, ok := pm.(*dnf.PackageManager)
	if !ok {
		t.Fatalf("agent.NewPackageManager gave %T", pm)
	}
	if real.Root != h.root || strings.Join(real.Params, " ") != "--disablerepo * --enablerepo shop-hotfix" || strings.Join(real.Env, " ") != "A=1" || real.Stdout != &out {
		t.Errorf("package manager %+v", real)
	}
	h.write("etc/sysconfig/shop-hotfix", agentSettings+"PACKAGE_MANAGER=yum\n")
	h.load()
	if _, err := exec.LookPath("yum"); err != nil {
		if _, err := agent.NewPackageManager(h.cfg, agent.PMIO{}); err == nil || !strings.Contains(err.Error(), "PACKAGE_MANAGER=yum") {
			t.Errorf("PACKAGE_MANAGER=yum without yum: %v", err)
		}
	}
}

// TestUnpackedHotfixesAreAppliedByTheNextRun: hotfixes that rpm holds unpacked and never
// applied (a run that died after dnf, a %post without network) show in -check and status,
// and the next run applies them in chain order without installing anything.
func TestUnpackedHotfixesAreAppliedByTheNextRun(t *testing.T) {
	h := newAgentHost(t)
	ctx := context.Background()
	host := &applier.Host{Cfg: h.cfg, Environ: h.environ}
	if err := host.Apply(ctx, host.HotfixDir(mustVersion(t, "6.14.2.1")), applier.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	h.write("fakepm.rpmdb", "shop-hotfix-6_14_2_1\nshop-hotfix-6_14_2_2\nshop-hotfix-6_14_2_3\n")
	if err := os.RemoveAll(h.path("var/opt/shop/Patches/shop-hotfix-6.14.2.4")); err != nil { // not in the rpm database
		t.Fatal(err)
	}

	code, stdout, _ := h.run(h.options(agent.ModeCheck))
	if code != 100 || stdout != "Unpacked, not applied: 6.14.2.2 6.14.2.3 (the next run applies them; hotchain agent -console does now)\n" {
		t.Errorf("-check: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = h.cli(nil, "status", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix")
	if code != 0 || !strings.Contains(stdout, "unpacked:      6.14.2.2 6.14.2.3 (unpacked, not applied") ||
		!strings.Contains(stdout, "check, success: 2 hotfixes unpacked, not applied\n") {
		t.Errorf("status: exit %d:\n%s", code, stdout)
	}

	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("cron run: exit %d, ledger %q\n%s%s", code, h.ledger("host1.txt"), stdout, stderr)
	}
	if !strings.Contains(stdout, "==> applying 6.14.2.2\n") || strings.Contains(stdout, "==> installing") {
		t.Errorf("report:\n%s", stdout)
	}
	if n := count(h.calls(), "install-start"); n != 0 {
		t.Errorf("the package manager installed %d times, want none", n)
	}
}

func mustVersion(t *testing.T, s string) hotfix.Version {
	t.Helper()
	v, err := hotfix.ParseHotfixVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestHealthCheckStopsTheChain: HEALTH_CMD fails once hotfix 3 of a chain of 4 is applied.
// The run ends with 1 and 2 applied, 3 rolled back and out of the rpm database, 4 not
// installed, a FAILED report with the check's output, and exit status 5.
func TestHealthCheckStopsTheChain(t *testing.T) {
	h := newAgentHost(t, `HEALTH_CMD="sh -c 'test ! -f $PRODUCT_ROOT/lib/fix3.txt || { echo shop answers 500; exit 1; }'"`, "HEALTH_RETRIES=1")
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	code, stdout, _ := h.run(h.options(agent.ModeCron))
	if code != 5 {
		t.Errorf("exit %d, want 5", code)
	}
	if got := h.ledger("host1.txt"); got != "6.14.2.1 6.14.2.2" {
		t.Errorf("ledger %q, want 1 and 2", got)
	}
	if _, err := os.Stat(h.path("opt/shop/lib/fix3.txt")); !os.IsNotExist(err) {
		t.Errorf("hotfix 3's file is still there: %v", err)
	}
	db, _ := os.ReadFile(h.path("fakepm.rpmdb"))
	if got := strings.Fields(string(db)); strings.Join(got, " ") != "shop-hotfix-6_14_2_1 shop-hotfix-6_14_2_2" {
		t.Errorf("rpm database %q, want 1 and 2", got)
	}
	for _, want := range []string{
		"[shop-hotfix] myhost: FAILED: 2 hotfixes installed; hotfix 6.14.2.3 failed its health check",
		"shop answers 500\n",
		"==> removing shop-hotfix-6_14_2_3 shop-hotfix-6_14_2_4 from the rpm database (not applied): the chain stops at 6.14.2.3\n",
		"Installed: 6.14.2.1 6.14.2.2\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	h.wantHistory("run-start cron success cron",
		"install 6.14.2.4 success cron",
		"health 6.14.2.1 success cron", "apply 6.14.2.1 success cron",
		"health 6.14.2.2 success cron", "apply 6.14.2.2 success cron",
		"health 6.14.2.3 failure cron", "rollback 6.14.2.3 success cron", "apply 6.14.2.3 failure cron",
		"remove 6.14.2.3 success cron",
		"run-end cron failure cron")
}
