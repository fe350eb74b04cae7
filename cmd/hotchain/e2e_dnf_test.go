package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/history"
)

// TestDNFInstallsSignedChain is the vendor side end to end: build a signed chain and the
// base RPM, publish them with hotchain repo and hotchain serve, and let the real dnf install
// hotfix 3 into an installroot with gpgcheck and repo_gpgcheck: base, 1, 2, 3 come in order
// and each %post applies its hotfix. Then dnf remove rolls 3 and 2 back through %preun, and
// a hotfix for another base version is refused by its %pre.
func TestDNFInstallsSignedChain(t *testing.T) {
	e2eHost(t, false)
	bin := buildStatic(t)
	work := t.TempDir()
	key, repoDir := vendorKeyAndRepo(t, bin, work)
	url := serveRepos(t, bin, filepath.Dir(repoDir))
	src := filepath.Join(work, "src")
	rolloutChain(t, src, 1, 3, 0)
	buildHotfixes(t, bin, key, src, repoDir, 1, 3, "-tarball-key", key+".pem")
	runOK(t, nil, bin, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url,
		"-sign-key", key+".asc", "-tarball-key", key+".pem", "-binary", bin, "-set", "HOSTNAME=e2ehost",
		"-set", "YUM_PARAMETER=--disablerepo '*' --enablerepo shop-hotfix --releasever=1", "-out", repoDir)
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url+"/6.14.2", repoDir)

	for _, rpm := range []string{"shop-hotfix-6_14_2_1-1-0.noarch.rpm", "shop-hotfix-6_14_2_3-1-0.noarch.rpm"} {
		if _, err := os.Stat(filepath.Join(repoDir, rpm)); err != nil {
			t.Fatalf("build wrote no %s: %v", rpm, err)
		}
	}

	host := newInstallroot(t, "host")
	repoFile, err := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gpgcheck=1", "repo_gpgcheck=1", "baseurl=" + url + "/6.14.2"} {
		if !strings.Contains(string(repoFile), want) {
			t.Fatalf("shop-hotfix.repo lacks %q:\n%s", want, repoFile)
		}
	}
	host.write("etc/yum.repos.d/shop-hotfix.repo", string(repoFile))
	pub, _ := os.ReadFile(key + ".pub.asc")
	host.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(pub))

	out := runOK(t, nil, "dnf", host.dnfArgs("install", "shop-hotfix-6_14_2_3")...)
	for _, want := range []string{"shop-hotfix-base", "shop-hotfix-6_14_2_1", "shop-hotfix-6_14_2_2", "shop-hotfix-6_14_2_3"} {
		if !strings.Contains(out, want) {
			t.Errorf("dnf output does not name %s", want)
		}
	}
	// rpm 4.20 runs each %post without network (its scriptlet sandbox, even under
	// --installroot): hotchain apply -scriptlet leaves the hotfix unpacked and says how to
	// apply it; status shows them, and agent -console applies them, as the hint says.
	// Older rpm lets each %post apply it.
	if rpmSandboxesScriptlets(t) {
		if got := host.read("etc/opt/shop/hotfix/e2ehost.txt"); !strings.HasPrefix(got, "<") {
			t.Errorf("ledger after dnf install in rpm's scriptlet sandbox = %q, want none", got)
		}
		for i := 1; i <= 3; i++ {
			dir := fmt.Sprintf("/var/opt/shop/Patches/shop-hotfix-6.14.2.%d", i)
			if !strings.Contains(out, dir+": not applied now: it runs without network") ||
				!strings.Contains(out, "hotchain agent -console") {
				t.Errorf("dnf output does not say that %s was left unpacked and how to apply it", dir)
			}
		}
		at := []string{"-root", host.root, "-config", "/etc/sysconfig/shop-hotfix"}
		if st := runOK(t, nil, bin, append([]string{"status"}, at...)...); !strings.Contains(st, "unpacked:      6.14.2.1 6.14.2.2 6.14.2.3") {
			t.Errorf("status does not show the unpacked hotfixes:\n%s", st)
		}
		runOK(t, nil, bin, append([]string{"agent", "-console"}, at...)...)
	}
	// Each hotfix is applied, in chain order.
	if got := host.read("etc/opt/shop/hotfix/e2ehost.txt"); got != "6.14.2.1\n6.14.2.2\n6.14.2.3\n" {
		t.Fatalf("ledger after dnf install = %q, want 1, 2, 3", got)
	}
	// A single host runs every script, the -final ones last.
	want := ""
	for _, v := range []string{"6.14.2.1", "6.14.2.2", "6.14.2.3"} {
		want += "shared " + v + "\nlocal " + v + "\nfinal " + v + "\n"
	}
	if got := host.read("opt/install-notes.txt"); got != want {
		t.Errorf("install scripts ran as %q, want %q", got, want)
	}
	if got := host.read("opt/shop/lib/Shop/Cart.pm"); got != "cart 6.14.2.3\n" {
		t.Errorf("Cart.pm = %q", got)
	}
	patches := "var/opt/shop/Patches/"
	if got := host.read(patches + "shop-hotfix-6.14.2.1/Backup-e2ehost/FileChanges/lib/Shop/Cart.pm"); got != "cart 6.14.2\n" {
		t.Errorf("backup of Cart.pm by hotfix 1 = %q", got)
	}
	order := regexp.MustCompile(`(?m)^\d+ (shop-\S+)$`).FindAllStringSubmatch(host.installed(), -1)
	if len(order) != 4 {
		t.Fatalf("rpm -qa lists %d shop packages, want 4", len(order))
	}
	// The agent's settings, cron entry and repository file came with the base RPM.
	for _, f := range []string{"etc/sysconfig/shop-hotfix", "etc/cron.daily/shop-hotfix", "usr/sbin/hotchain"} {
		if _, err := os.Stat(filepath.Join(host.root, f)); err != nil {
			t.Errorf("base RPM did not install %s: %v", f, err)
		}
	}

	// The vendor publishes two hotfixes that this host must refuse: one of another chain, and
	// hotfix 4 built for another PATCHES_DIR than the host's.
	other := filepath.Join(work, "src-other", "shop-hotfix-6.15.0.1")
	os.MkdirAll(filepath.Join(other, "FileChanges/lib/Shop"), 0o755)
	os.WriteFile(filepath.Join(other, "version.txt"), []byte("6.15.0.1\n"), 0o644)
	os.WriteFile(filepath.Join(other, "FileChanges/lib/Shop/Cart.pm"), []byte("cart 6.15.0.1\n"), 0o644)
	runOK(t, nil, bin, "build", "-product", "shop", "-sign-key", key+".asc", "-out", repoDir, other)
	rolloutChain(t, src, 4, 4, 0)
	runOK(t, nil, bin, "build", "-product", "shop", "-sign-key", key+".asc", "-patches-dir", "/srv/shop/Patches",
		"-out", repoDir, filepath.Join(src, "shop-hotfix-6.14.2.4"))
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url+"/6.14.2", repoDir)
	runOK(t, nil, "dnf", host.dnfArgs("makecache", "--refresh")...)

	// A hotfix of another base version: %pre refuses, nothing of it is unpacked.
	out, code := runCode(t, nil, "dnf", host.dnfArgs("install", "shop-hotfix-6_15_0_1")...)
	if code == 0 && !strings.Contains(out, "scriptlet") {
		t.Errorf("dnf installed a hotfix for 6.15.0 without a scriptlet error")
	}
	if _, err := os.Stat(filepath.Join(host.root, patches, "shop-hotfix-6.15.0.1")); !os.IsNotExist(err) {
		t.Errorf("the refused hotfix was unpacked: %v", err)
	}
	if got := host.read("opt/shop/lib/Shop/Cart.pm"); got != "cart 6.14.2.3\n" {
		t.Errorf("Cart.pm after the refused hotfix = %q", got)
	}

	// A hotfix built for another PATCHES_DIR: %pre refuses it before rpm unpacks anything,
	// naming both directories and the build flag.
	out, code = runCode(t, nil, "dnf", host.dnfArgs("install", "shop-hotfix-6_14_2_4")...)
	for _, want := range []string{"/srv/shop/Patches", "PATCHES_DIR on this host is /var/opt/shop/Patches", "-patches-dir /var/opt/shop/Patches"} {
		if !strings.Contains(out, want) {
			t.Errorf("dnf install of a hotfix for /srv/shop/Patches (exit %d) does not say %q", code, want)
		}
	}
	if _, err := os.Stat(filepath.Join(host.root, "srv/shop/Patches")); !os.IsNotExist(err) {
		t.Errorf("the refused hotfix was unpacked: %v", err)
	}
	if rpms := host.installed(); strings.Contains(rpms, "6_14_2_4") {
		t.Errorf("rpm -qa lists the refused hotfix:\n%s", rpms)
	}

	// Removing hotfix 2 removes 3 first: each %preun rolls its hotfix back.
	runOK(t, nil, "dnf", host.dnfArgs("remove", "--setopt=clean_requirements_on_remove=False", "shop-hotfix-6_14_2_2")...)
	if got := host.read("etc/opt/shop/hotfix/e2ehost.txt"); got != "6.14.2.1\n" {
		t.Fatalf("ledger after dnf remove = %q, want 6.14.2.1", got)
	}
	if got := host.read("opt/shop/lib/Shop/Cart.pm"); got != "cart 6.14.2.1\n" {
		t.Errorf("Cart.pm after removing 3 and 2 = %q, want hotfix 1's", got)
	}
	for _, gone := range []string{"opt/shop/lib/Shop/Fix2.pm", "opt/shop/lib/Shop/Fix3.pm"} {
		if _, err := os.Stat(filepath.Join(host.root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s survived the rollback: %v", gone, err)
		}
	}
	if rpms := host.installed(); strings.Contains(rpms, "6_14_2_2") || !strings.Contains(rpms, "shop-hotfix-base") {
		t.Errorf("rpm -qa after remove:\n%s", rpms)
	}
	wantScriptletHistory(t, bin, host.root, !rpmSandboxesScriptlets(t))
}

// wantScriptletHistory checks that the history names rpm as the starter of the %preun
// rollbacks of 3 and 2 and, when %post could apply, of the applies of 1 to 3.
func wantScriptletHistory(t *testing.T, bin, root string, postApplied bool) {
	t.Helper()
	out := runOK(t, nil, bin, "history", "-json", "-root", root, "-config", "/etc/sysconfig/shop-hotfix")
	var got []string
	for _, line := range strings.Split(out, "\n") {
		var e history.Event
		if !strings.HasPrefix(line, "{") {
			continue
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("history line %q: %v", line, err)
		}
		if e.Event == history.Rollback || e.Event == history.Apply && postApplied {
			got = append(got, e.Event+" "+e.Version+" "+e.Outcome+" "+e.By)
		}
	}
	want := []string{"rollback 6.14.2.3 success rpm", "rollback 6.14.2.2 success rpm"}
	if postApplied {
		want = append([]string{"apply 6.14.2.1 success rpm", "apply 6.14.2.2 success rpm", "apply 6.14.2.3 success rpm"}, want...)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
