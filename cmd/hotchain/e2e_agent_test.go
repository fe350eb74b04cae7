package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
)

// rolloutHost is one host of a distributed installation, sandboxed in an installroot. The
// hosts share LEDGER_DIR, as they would on shared storage: each hotchain command runs in a
// mount namespace of its own with the shared directory bound onto the root's LEDGER_DIR, so
// that the %post inside dnf's chroot sees it too, and nothing is left mounted afterwards.
type rolloutHost struct {
	*installroot
	name, bin, shared string
}

func (h *rolloutHost) run(args ...string) (string, int) {
	h.t.Helper()
	return h.runEnv(nil, args...)
}

// runEnv is run with env added to the environment (a variable named like a setting
// overrides the settings file).
func (h *rolloutHost) runEnv(env []string, args ...string) (string, int) {
	h.t.Helper()
	ledger := filepath.Join(h.root, "etc/opt/shop/hotfix")
	all := append([]string{"-m", "sh", "-c", `mkdir -p "$1" && mount --bind "$0" "$1" && shift && exec "$@"`,
		h.shared, ledger, h.bin}, args...)
	return runCode(h.t, env, "unshare", all...)
}

// agent runs `hotchain agent` with the host's settings; mode is "" for the cron run.
func (h *rolloutHost) agent(mode string) (string, int) {
	args := []string{"agent", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"}
	if mode != "" {
		args = append(args, mode)
	}
	return h.run(args...)
}

func (h *rolloutHost) ledger(name string) string {
	data, _ := os.ReadFile(filepath.Join(h.shared, name))
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\n", " "))
}

// notes are what the hotfixes' install scripts wrote on this host, one line each.
func (h *rolloutHost) notes() string {
	return strings.TrimSpace(h.read("opt/install-notes.txt"))
}

// rolloutChain writes hotfix directories whose scripts say which kind ran where.
func rolloutChain(t *testing.T, src string, from, to int, failing int) {
	t.Helper()
	for i := from; i <= to; i++ {
		v := fmt.Sprintf("6.14.2.%d", i)
		d := filepath.Join(src, "shop-hotfix-"+v)
		note := func(kind string) string {
			return `echo "` + kind + ` $HOTFIX_VERSION" >> "$PRODUCT_ROOT/../install-notes.txt"` + "\n"
		}
		files := map[string]string{
			"version.txt":                  v + "\n",
			"fixed-bugs.txt":               fmt.Sprintf("SHOP-%d fix %d\n", 200+i, i),
			"FileChanges/lib/Shop/Cart.pm": "cart " + v + "\n",
			fmt.Sprintf("FileChanges/lib/Shop/Fix%d.pm", i): fmt.Sprintf("fix %d\n", i),
			"Install/10-db-shared.sh":                       note("shared"),
			"Install/20-conf-local.sh":                      note("local"),
			"Install/90-index-final.sh":                     note("final"),
		}
		if i == failing {
			files["Install/30-migrate.sh"] = "echo 'migration failed: table locked' >&2\nexit 7\n"
		}
		for rel, content := range files {
			p := filepath.Join(d, rel)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestAgentRollout is the host agent end to end with the real dnf over HTTP: an alpha and two
// secondaries sharing one ledger install a signed chain in alpha-then-others order, the
// alpha finalizes once, a new hotfix is checked, downloaded and installed, and the failure
// paths (repository down, an install script that fails, a product patch to a new base
// version under hotchain hold) are reported as they should be.
func TestAgentRollout(t *testing.T) {
	e2eHost(t, true, "unshare", "mount")
	bin := buildStatic(t)
	work := t.TempDir()
	key, repoDir := vendorKeyAndRepo(t, bin, work)
	repoRoot := filepath.Dir(repoDir)
	url, stopServer := serveReposStoppable(t, bin, repoRoot)
	src := filepath.Join(work, "src")
	publish := func(dir, base string, versions ...string) {
		for _, v := range versions {
			runOK(t, nil, bin, "build", "-product", "shop", "-sign-key", key+".asc", "-out", dir, filepath.Join(src, "shop-hotfix-"+v))
		}
		runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url, "-base-version", base, dir)
	}
	rolloutChain(t, src, 1, 3, 0)
	if err := os.WriteFile(filepath.Join(src, "shop-hotfix-6.14.2.2", "restart.txt"), []byte("services shop-web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runOK(t, nil, bin, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url,
		"-sign-key", key+".asc", "-binary", bin, "-out", repoDir)
	publish(repoDir, "6.14.2", "6.14.2.1", "6.14.2.2", "6.14.2.3")
	repoFile, _ := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	pub, _ := os.ReadFile(key + ".pub.asc")

	shared := filepath.Join(work, "shared-ledger")
	os.MkdirAll(shared, 0o755)
	hooks := filepath.Join(work, "hooks.log")
	hosts := map[string]*rolloutHost{}
	for _, name := range []string{"alpha", "sec1", "sec2"} {
		h := &rolloutHost{installroot: newInstallroot(t, name), name: name, bin: bin, shared: shared}
		h.write("etc/yum.repos.d/shop-hotfix.repo", string(repoFile))
		h.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(pub))
		// Enabling hotfixes on a host: the base RPM, once, as an admin would.
		runOK(t, nil, "dnf", h.dnfArgs("install", "shop-hotfix-base")...)
		role, secondaries, restartCmd := "secondary", "", ""
		if name == "alpha" {
			role, secondaries = "alpha", "sec1 sec2"
			restartCmd = fmt.Sprintf(`RESTART_CMD="sh -c 'echo $HOTCHAIN_RESTART $HOTCHAIN_SERVICES >> %s'"`, filepath.Join(work, "restart.log"))
		}
		h.write("etc/sysconfig/shop-hotfix", fmt.Sprintf(`PRODUCT=shop
HOSTNAME=%s
HOST_ROLE=%s
SECONDARY_HOSTS="%s"
RANDOMWAIT=0
YUM_PARAMETER="--disablerepo '*' --enablerepo shop-hotfix --releasever=1"
POST_HOOK="sh -c 'echo %s $HOTCHAIN_OUTCOME >> %s'"
%s
`, name, role, secondaries, name, hooks, restartCmd))
		if _, err := os.Stat(filepath.Join(h.root, "var/lock/subsys/shop-hotfix")); err != nil {
			t.Fatalf("%s: the base RPM's %%post did not enable nightly runs: %v", name, err)
		}
		hosts[name] = h
	}
	alpha, sec1, sec2 := hosts["alpha"], hosts["sec1"], hosts["sec2"]

	// 1. The secondaries go first by mistake: they install nothing and wait for the alpha.
	for _, h := range []*rolloutHost{sec1, sec2} {
		out, code := h.agent("")
		if code != 0 || !strings.Contains(out, "Waiting for the alpha host") {
			t.Fatalf("%s before the alpha: exit %d, want 0 and a wait for the alpha", h.name, code)
		}
		if got := h.ledger(h.name + ".txt"); got != "" {
			t.Fatalf("%s installed %q before the alpha", h.name, got)
		}
	}

	// 2. The alpha installs the chain on the console: -shared scripts, no -final yet.
	out, code := alpha.agent("-console")
	if code != 0 {
		t.Fatalf("alpha -console: exit %d", code)
	}
	if got := alpha.ledger("alpha.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("alpha ledger %q", got)
	}
	if got := alpha.ledger("version.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("installation ledger %q", got)
	}
	if got := alpha.notes(); got != "shared 6.14.2.1\nshared 6.14.2.2\nshared 6.14.2.3" {
		t.Errorf("alpha ran %q", got)
	}
	if !strings.Contains(out, "the final tasks of 6.14.2.1 wait for sec1, sec2") {
		t.Errorf("alpha does not say that finalize waits for the secondaries")
	}
	// 6.14.2.2's restart.txt: RESTART_CMD ran once for the chain.
	if log, _ := os.ReadFile(filepath.Join(work, "restart.log")); string(log) != "services shop-web\n" {
		t.Errorf("alpha's RESTART_CMD ran as %q, want once for shop-web", log)
	}
	out, _ = sec1.run("status", "-installation", "-root", sec1.root, "-config", "/etc/sysconfig/shop-hotfix")
	for _, want := range []string{"host sec1 (secondary)\n  applied:     none\n  lacking:     6.14.2.1 6.14.2.2 6.14.2.3",
		"waits:         sec1 installs 6.14.2.1 6.14.2.2 6.14.2.3 after alpha\n", "waits:         alpha finalizes 6.14.2.1 after sec1, sec2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("sec1 status -installation lacks %q:\n%s", want, out)
		}
	}

	// 3. The secondaries' cron runs install the chain with their -local scripts.
	for _, h := range []*rolloutHost{sec1, sec2} {
		if _, code := h.agent(""); code != 0 {
			t.Fatalf("%s cron run: exit %d", h.name, code)
		}
		if got := h.ledger(h.name + ".txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
			t.Fatalf("%s ledger %q", h.name, got)
		}
		if got := h.notes(); got != "local 6.14.2.1\nlocal 6.14.2.2\nlocal 6.14.2.3" {
			t.Errorf("%s ran %q", h.name, got)
		}
	}

	// Without RESTART_CMD the restart is recorded; status shows it, and on the alpha
	// status -installation shows every host.
	at := []string{"-root", sec1.root, "-config", "/etc/sysconfig/shop-hotfix"}
	if out, _ := sec1.run(append([]string{"status"}, at...)...); !strings.Contains(out, "RESTART:       restart of shop-web required") {
		t.Errorf("sec1 status does not show the restart:\n%s", out)
	}
	if _, code := sec1.run(append([]string{"agent", "-check"}, at...)...); code != cli.ExitRestart {
		t.Errorf("sec1 agent -check: exit %d, want %d", code, cli.ExitRestart)
	}
	out, _ = alpha.run("status", "-installation", "-root", alpha.root, "-config", "/etc/sysconfig/shop-hotfix")
	for _, want := range []string{"host alpha (alpha)", "host sec1 (secondary)\n  applied:     6.14.2.1 6.14.2.2 6.14.2.3\n",
		"host sec2 (secondary)", "RESTART:     restart of shop-web required"} {
		if !strings.Contains(out, want) {
			t.Errorf("alpha status -installation lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "waits:") || strings.Contains(out, "lacking:") {
		t.Errorf("every host has the chain, yet status -installation says something waits:\n%s", out)
	}
	for _, h := range []*rolloutHost{sec1, sec2} {
		if out, code := h.run("restarted", "-root", h.root, "-config", "/etc/sysconfig/shop-hotfix"); code != 0 || !strings.Contains(out, "cleared: restart of shop-web required (6.14.2.2)") {
			t.Errorf("%s restarted: exit %d: %s", h.name, code, out)
		}
	}

	// 4. The alpha's next run finalizes, once.
	for i := 0; i < 2; i++ {
		if _, code := alpha.agent(""); code != 0 {
			t.Fatalf("alpha cron run %d: exit %d", i+1, code)
		}
	}
	if got := alpha.ledger("finalized.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Fatalf("finalized %q", got)
	}
	if got := strings.Count(alpha.notes(), "final "); got != 3 {
		t.Errorf("alpha ran %d -final scripts, want 3:\n%s", got, alpha.notes())
	}
	out, _ = alpha.run("status", "-root", alpha.root, "-config", "/etc/sysconfig/shop-hotfix")
	for _, want := range []string{"applied here:  6.14.2.1 6.14.2.2 6.14.2.3", "finalized:     6.14.2.1 6.14.2.2 6.14.2.3",
		"secondary:     sec1 has 6.14.2.1 6.14.2.2 6.14.2.3", "nightly runs:  enabled", " cron, success: "} {
		if !strings.Contains(out, want) {
			t.Errorf("alpha status lacks %q", want)
		}
	}

	// 5. The vendor publishes 6.14.2.4: -check shows exactly it, -download fetches it,
	// -console installs it.
	built := time.Now().UTC().Truncate(time.Minute)
	rolloutChain(t, src, 4, 4, 0)
	publish(repoDir, "6.14.2", "6.14.2.4")
	// MIN_AGE_DAYS counts from the build time that dnf's repoquery reads from the signed
	// package: built just now, 6.14.2.4 waits a day.
	out, code = alpha.runEnv([]string{"MIN_AGE_DAYS=1", "TZ=UTC"}, "agent", "-root", alpha.root, "-config", "/etc/sysconfig/shop-hotfix", "-check")
	if _, after, ok := strings.Cut(out, "Held back: 6.14.2.4 (MIN_AGE_DAYS=1: published "); code != 100 || !ok {
		t.Errorf("-check with MIN_AGE_DAYS=1: exit %d, want 100 and 6.14.2.4 held back:\n%s", code, out)
	} else if at, err := time.Parse("2006-01-02 15:04 MST", strings.SplitN(after, ";", 2)[0]); err != nil || at.Before(built) || at.After(time.Now()) {
		t.Errorf("-check with MIN_AGE_DAYS=1: published %v (%v), want the build time, after %s:\n%s", at, err, built, out)
	}
	out, code = alpha.agent("-check")
	if code != 100 || !strings.Contains(out, "New shop hotfixes available for host: alpha:") ||
		!strings.Contains(out, "shop-hotfix-6_14_2_4") || strings.Contains(out, "shop-hotfix-6_14_2_3 ") {
		t.Fatalf("-check: exit %d, want 100 and exactly shop-hotfix-6_14_2_4", code)
	}
	if _, code := alpha.agent("-download"); code != 0 {
		t.Fatalf("-download: exit %d", code)
	}
	cached, _ := filepath.Glob(filepath.Join(alpha.root, "var/cache/dnf/*/packages/shop-hotfix-6_14_2_4-1-0.noarch.rpm"))
	if len(cached) != 1 {
		t.Errorf("-download left no shop-hotfix-6_14_2_4 in dnf's cache")
	}
	if got := alpha.ledger("alpha.txt"); strings.Contains(got, "6.14.2.4") {
		t.Fatalf("-download installed: %q", got)
	}
	if _, code := alpha.agent("-console"); code != 0 {
		t.Fatalf("-console 6.14.2.4: exit %d", code)
	}
	if got := alpha.ledger("alpha.txt"); got != "6.14.2.1 6.14.2.2 6.14.2.3 6.14.2.4" {
		t.Fatalf("alpha ledger after 6.14.2.4: %q", got)
	}

	// Failure: an install script of 6.14.2.5 fails. Exit 1, reported, not in the ledger,
	// POST_HOOK told of the failure.
	rolloutChain(t, src, 5, 5, 5)
	publish(repoDir, "6.14.2", "6.14.2.5")
	os.Remove(hooks)
	out, code = alpha.agent("")
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "6.14.2.5") {
		t.Fatalf("failing install script: exit %d, want 1 and a FAILED report naming 6.14.2.5", code)
	}
	if got := alpha.ledger("alpha.txt"); strings.Contains(got, "6.14.2.5") {
		t.Fatalf("a failed hotfix reached the ledger: %q", got)
	}
	if got, _ := os.ReadFile(hooks); !strings.Contains(string(got), "alpha failure") {
		t.Errorf("POST_HOOK after the failure wrote %q", got)
	}

	// Failure: the repository is down. Exit 1 and a FAILED report, never "nothing to do".
	stopServer()
	out, code = sec1.agent("")
	if code != 1 || !strings.Contains(out, "FAILED") {
		t.Fatalf("repository down: exit %d, want 1 and FAILED", code)
	}

	// A product patch to 6.15.0 under hotchain hold: nightly runs are off while it runs,
	// it points the repository at 6.15.0, and the next check offers only that chain.
	repo615 := filepath.Join(repoRoot, "6.15.0")
	os.MkdirAll(repo615, 0o755)
	other := filepath.Join(src, "shop-hotfix-6.15.0.1")
	os.MkdirAll(filepath.Join(other, "FileChanges/lib/Shop"), 0o755)
	os.WriteFile(filepath.Join(other, "version.txt"), []byte("6.15.0.1\n"), 0o644)
	os.WriteFile(filepath.Join(other, "FileChanges/lib/Shop/Cart.pm"), []byte("cart 6.15.0.1\n"), 0o644)
	url2, _ := serveReposStoppable(t, bin, repoRoot)
	url = url2
	publish(repo615, "6.15.0", "6.15.0.1")
	// The host's repository file names the new server (the old one is down).
	rf := filepath.Join(alpha.root, "etc/yum.repos.d/shop-hotfix.repo")
	old, _ := os.ReadFile(rf)
	os.WriteFile(rf, []byte(strings.ReplaceAll(string(old), strings.Split(strings.Split(string(old), "baseurl=")[1], "/6.14.2")[0], url2)), 0o644)
	patch := fmt.Sprintf(`test ! -e %[1]s/var/lock/subsys/shop-hotfix && echo 6.15.0 > %[1]s/opt/shop/version.txt && %[2]s repo-file -root %[1]s -config /etc/sysconfig/shop-hotfix -base-version 6.15.0`, alpha.root, bin)
	if out, code := alpha.run("hold", "-root", alpha.root, "-config", "/etc/sysconfig/shop-hotfix", "--", "sh", "-c", patch); code != 0 {
		t.Fatalf("hold -- patch: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(alpha.root, "var/lock/subsys/shop-hotfix")); err != nil {
		t.Errorf("hold did not enable nightly runs again: %v", err)
	}
	out, code = alpha.agent("-check")
	if code != 100 || !strings.Contains(out, "shop-hotfix-6_15_0_1") || strings.Contains(out, "6_14_2") {
		t.Fatalf("-check after the patch: exit %d, want 100 and only the 6.15.0 chain", code)
	}
	_ = exec.Command // the hosts run through unshare
}
