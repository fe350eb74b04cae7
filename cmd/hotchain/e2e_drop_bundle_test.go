package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAgentDropBundle: a bundle copied into the drop folder of a host without a repository
// is imported by agent -console (hotchain import's own checks and install, one call) and
// moved to done/; one signed with another tarball key is refused with its reason.
func TestAgentDropBundle(t *testing.T) {
	e2eHost(t, false)
	bin := buildStatic(t)
	work := t.TempDir()
	key, repoDir := vendorKeyAndRepo(t, bin, work)
	other := filepath.Join(work, "other")
	runOK(t, nil, bin, "keygen", "-name", "Someone Else", "-email", "else@example.org", "-out", other)
	url := "http://127.0.0.1:9/"
	src := filepath.Join(work, "src")
	rolloutChain(t, src, 1, 2, 0)
	buildHotfixes(t, bin, key, src, repoDir, 1, 2)
	runOK(t, nil, bin, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url,
		"-sign-key", key+".asc", "-tarball-key", key+".pem", "-binary", bin, "-set", "HOSTNAME=h1",
		"-set", "YUM_PARAMETER=--disablerepo '*' --enablerepo shop-hotfix --releasever=1", "-out", repoDir)
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url, repoDir)
	bundles := filepath.Join(work, "bundles")
	os.MkdirAll(bundles, 0o755)
	name := "shop-hotfix-bundle-6.14.2.1-6.14.2.2.tar"
	for _, b := range []struct{ dir, tarKey string }{{"good", key}, {"bad", other}} {
		os.MkdirAll(filepath.Join(bundles, b.dir), 0o755)
		runOK(t, nil, bin, "bundle", "-product", "shop", "-repo", repoDir, "-from", "6.14.2.1", "-to", "6.14.2.2",
			"-sign-key", key+".asc", "-tarball-key", b.tarKey+".pem", "-out", filepath.Join(bundles, b.dir, name))
	}

	host := newInstallroot(t, "host")
	repoFile := readFile(t, filepath.Join(repoDir, "shop-hotfix.repo"))
	host.write("etc/yum.repos.d/shop-hotfix.repo", strings.ReplaceAll(string(repoFile), url, "file://"+filepath.Dir(repoDir)+"/"))
	host.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(readFile(t, key+".pub.asc")))
	runOK(t, nil, "dnf", host.dnfArgs("install", "shop-hotfix-base")...)
	if err := os.Remove(filepath.Join(host.root, "etc/yum.repos.d/shop-hotfix.repo")); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(host.root, "etc/sysconfig/shop-hotfix")
	host.write("etc/sysconfig/shop-hotfix", string(readFile(t, settings))+"\nDROP_DIR=/var/opt/shop/drop\nRANDOMWAIT=0\n")
	drop := filepath.Join(host.root, "var/opt/shop/drop")
	os.MkdirAll(drop, 0o755)
	at := []string{"agent", "-root", host.root, "-config", "/etc/sysconfig/shop-hotfix", "-console"}
	env := []string{dropSettleEnv + "=300ms"}
	put := func(dir string) {
		for _, n := range []string{name, name + ".sig"} {
			writeFile(t, filepath.Join(drop, n), readFile(t, filepath.Join(bundles, dir, n)))
		}
	}
	names := func(sub string) []string {
		entries, _ := os.ReadDir(filepath.Join(drop, sub))
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}

	put("bad")
	out, code := runCode(t, env, bin, at...)
	if code != 1 || !strings.Contains(out, "refused "+name) {
		t.Fatalf("a bundle of another tarball key: exit %d, want 1 and refused", code)
	}
	reason := string(readFile(t, filepath.Join(drop, "refused", name+".reason")))
	if !strings.Contains(reason, "signature does not match") || !strings.Contains(reason, "hint: get the bundle and its .sig again") {
		t.Errorf("reason %q", reason)
	}
	if got := host.read("etc/opt/shop/hotfix/h1.txt"); !strings.HasPrefix(got, "<") {
		t.Fatalf("ledger after the refusal %q", got)
	}

	put("good")
	out, code = runCode(t, env, bin, at...)
	if code != 0 || !strings.Contains(out, "Installed: 6.14.2.1 6.14.2.2") || !strings.Contains(out, "imported "+name) {
		t.Fatalf("the good bundle: exit %d", code)
	}
	if got := host.read("etc/opt/shop/hotfix/h1.txt"); got != "6.14.2.1\n6.14.2.2\n" {
		t.Fatalf("ledger %q", got)
	}
	if got := names("done"); !slices.Equal(got, []string{name, name + ".sig"}) {
		t.Fatalf("done/ holds %q", got)
	}
}
