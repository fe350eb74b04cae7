package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
)

// TestKeyRotation is the key rotation of README "Key rotation" with the real dnf and rpm,
// on a host that starts with the old key only:
//
//  1. overlap: the base RPM's update (signed with the old key) ships the new and the old
//     key; repomd.xml is signed by both, and a host that knows only the new key reads the
//     repository as well as the host that knows only the old one;
//  2. switch: a hotfix signed with the new key installs (dnf imports the new key from the
//     base RPM's key file);
//  3. end: the base RPM signed with the new key ships it alone, the vendor's repo refuses a
//     package still signed with the old key, the admin removes the old key from the rpm
//     database, and a package signed only with the old key is then refused by dnf.
func TestKeyRotation(t *testing.T) {
	e2eHost(t, false)
	bin := buildStatic(t)
	work := t.TempDir()
	oldKey, newKey := filepath.Join(work, "old"), filepath.Join(work, "new")
	runOK(t, nil, bin, "keygen", "-name", "Shop Hotfixes", "-email", "hotfixes@shop.example", "-out", oldKey)
	runOK(t, nil, bin, "keygen", "-algo", "ed25519", "-name", "Shop Hotfixes 2027", "-email", "hotfixes@shop.example", "-out", newKey)
	oldID := shortKeyID(t, oldKey+".asc")

	repoRoot := filepath.Join(work, "repos")
	repoDir := filepath.Join(repoRoot, "6.14.2")
	os.MkdirAll(repoDir, 0o755)
	url := serveRepos(t, bin, repoRoot)
	src := filepath.Join(work, "src")
	rolloutChain(t, src, 1, 5, 0)
	build := func(key, v string) {
		runOK(t, nil, bin, "build", "-product", "shop", "-sign-key", key, "-out", repoDir, filepath.Join(src, "shop-hotfix-"+v))
	}
	base := func(release, key string, ship ...string) {
		args := []string{"build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url,
			"-release", release, "-sign-key", key, "-binary", bin, "-set", "HOSTNAME=e2ehost",
			"-set", "YUM_PARAMETER=--disablerepo '*' --enablerepo shop-hotfix --releasever=1", "-out", repoDir}
		for _, k := range ship {
			args = append(args, "-gpg-key", k)
		}
		runOK(t, nil, bin, args...)
	}
	repoSign := func(keys string) (string, int) {
		return runCode(t, nil, bin, "repo", "-sign-key", keys, "-base-url", url, repoDir)
	}

	// Before: everything is signed with the old key; the host has it only.
	base("0", oldKey+".asc")
	build(oldKey+".asc", "6.14.2.1")
	if out, code := repoSign(oldKey + ".asc"); code != 0 {
		t.Fatalf("repo: %s", out)
	}
	repoFile, _ := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	oldPub, _ := os.ReadFile(oldKey + ".pub.asc")
	host := newInstallroot(t, "host")
	host.write("etc/yum.repos.d/shop-hotfix.repo", string(repoFile))
	host.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(oldPub))
	runOK(t, nil, "dnf", host.dnfArgs("install", "shop-hotfix-base", "shop-hotfix-6_14_2_1")...)

	// 1. Overlap: the new base RPM ships both keys, signed with the old one; repomd.xml is
	// signed by both keys.
	base("1", oldKey+".asc", newKey+".pub.asc", oldKey+".pub.asc")
	build(oldKey+".asc", "6.14.2.2")
	if out, code := repoSign(oldKey + ".asc," + newKey + ".asc"); code != 0 {
		t.Fatalf("repo with both keys: %s", out)
	}
	if n := strings.Count(gpgList(t, filepath.Join(repoDir, "repodata/repomd.xml.asc")), ":signature packet:"); n != 2 {
		t.Fatalf("repomd.xml.asc holds %d signatures, want 2 (old and new key)", n)
	}
	// The agent checks the policy and repomd.xml, signed by both keys, with the old key.
	runOK(t, nil, bin, "policy", "-sign-key", oldKey+".asc,"+newKey+".asc", repoDir)
	if out, code := agentCheck(t, bin, host); code != cli.ExitPending || !strings.Contains(out, "shop-hotfix-6_14_2_2") {
		t.Fatalf("agent -check on the host with the old key: exit %d, want %d naming 6.14.2.2\n%s", code, cli.ExitPending, out)
	}
	runOK(t, nil, "dnf", host.dnfArgs("upgrade", "--refresh")...)
	if got := rpmQuery(t, host, "shop-hotfix-base"); got != "shop-hotfix-base-1-1" {
		t.Fatalf("after the overlap's upgrade, base = %q, want release 1", got)
	}
	shipped := host.read("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix")
	if n := len(keyIDsOf(t, shipped)); n != 2 {
		t.Fatalf("the overlap's base RPM installed a key file with %d keys, want 2", n)
	}
	// A host that knows only the new key reads the same repository (repo_gpgcheck).
	fresh := newInstallroot(t, "fresh")
	fresh.write("etc/yum.repos.d/shop-hotfix.repo", string(repoFile))
	newPub, _ := os.ReadFile(newKey + ".pub.asc")
	fresh.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(newPub))
	runOK(t, nil, "dnf", fresh.dnfArgs("makecache")...)

	// 2. Switch: hotfixes are signed with the new key; dnf imports it from the key file.
	build(newKey+".asc", "6.14.2.3")
	if out, code := repoSign(oldKey + ".asc," + newKey + ".asc"); code != 0 {
		t.Fatalf("repo with both keys: %s", out)
	}
	runOK(t, nil, "dnf", host.dnfArgs("install", "--refresh", "shop-hotfix-6_14_2_3")...)

	// 3. End of the overlap: the base RPM, signed with the new key, ships it alone; the
	// chain is rebuilt with the new key. The vendor's repo refuses what is left signed
	// with the old key.
	for _, f := range []string{"shop-hotfix-base-1-0", "shop-hotfix-base-1-1"} {
		matches, _ := filepath.Glob(filepath.Join(repoDir, f+".*.rpm"))
		for _, m := range matches {
			os.Remove(m)
		}
	}
	base("2", newKey+".asc")
	if out, code := repoSign(newKey + ".asc"); code == 0 || !strings.Contains(out, "not with the repository key") {
		t.Fatalf("repo -sign-key NEW with packages signed by the old key: exit %d\n%s", code, out)
	}
	build(newKey+".asc", "6.14.2.1")
	build(newKey+".asc", "6.14.2.2")
	if out, code := repoSign(newKey + ".asc"); code != 0 {
		t.Fatalf("repo with the new key: %s", out)
	}
	runOK(t, nil, "dnf", host.dnfArgs("upgrade", "--refresh")...)
	if got := rpmQuery(t, host, "shop-hotfix-base"); got != "shop-hotfix-base-1-2" {
		t.Fatalf("after the end's upgrade, base = %q, want release 2", got)
	}
	if ids := keyIDsOf(t, host.read("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix")); len(ids) != 1 {
		t.Fatalf("the last base RPM installed a key file with %d keys, want the new one", len(ids))
	}
	build(newKey+".asc", "6.14.2.4")
	if out, code := repoSign(newKey + ".asc"); code != 0 {
		t.Fatalf("repo with the new key: %s", out)
	}
	runOK(t, nil, "dnf", host.dnfArgs("install", "--refresh", "shop-hotfix-6_14_2_4")...)
	// The agent trusts the key file the base RPM installed: the new key's policy, and no
	// longer one that only the old key signed.
	runOK(t, nil, bin, "policy", "-sign-key", newKey+".asc", repoDir)
	// 0, or 100 under rpm 4.20, whose scriptlet sandbox left the hotfixes unpacked for the
	// agent: either way the policy verified (a refused one is a failure, 1).
	if out, code := agentCheck(t, bin, host); code != cli.ExitOK && !(code == cli.ExitPending && rpmSandboxesScriptlets(t)) {
		t.Fatalf("agent -check with the new key's policy: exit %d\n%s", code, out)
	}
	os.Remove(filepath.Join(repoDir, "RPM-GPG-KEY-shop-hotfix")) // policy would refuse the old key
	runOK(t, nil, bin, "policy", "-sign-key", oldKey+".asc", repoDir)
	if out, code := agentCheck(t, bin, host); code != cli.ExitFailure || !strings.Contains(out, "rollout") {
		t.Fatalf("agent -check with a policy signed by the retired key: exit %d, want %d\n%s", code, cli.ExitFailure, out)
	}

	// A package signed only with the old key: rpm still trusts it while the old key is in
	// its database, so the admin removes it (README); then dnf refuses the package.
	stray := filepath.Join(work, "stray")
	os.MkdirAll(stray, 0o755)
	runOK(t, nil, bin, "build", "-product", "shop", "-sign-key", oldKey+".asc", "-out", stray, filepath.Join(src, "shop-hotfix-6.14.2.5"))
	strayRPM, _ := filepath.Glob(filepath.Join(stray, "*.rpm"))
	if out, code := rpmkeysCheck(t, host, strayRPM[0]); code != 0 {
		t.Fatalf("before the old key is removed, rpmkeys refuses the old key's package: %s", out)
	}
	runOK(t, nil, "rpm", "--root", host.root, "-e", "gpg-pubkey-"+oldID)
	if out, code := rpmkeysCheck(t, host, strayRPM[0]); code == 0 || !strings.Contains(out, "NOKEY") {
		t.Fatalf("after the old key is removed, rpmkeys: exit %d\n%s", code, out)
	}
	// The vendor's repository would refuse it: publish it with both keys, as a mistake would.
	os.Rename(strayRPM[0], filepath.Join(repoDir, filepath.Base(strayRPM[0])))
	if out, code := repoSign(oldKey + ".asc," + newKey + ".asc"); code != 0 {
		t.Fatalf("repo: %s", out)
	}
	out, code := runCode(t, nil, "dnf", host.dnfArgs("install", "--refresh", "shop-hotfix-6_14_2_5")...)
	if code == 0 || !strings.Contains(strings.ToLower(out), "gpg") {
		t.Fatalf("dnf installed a package signed only with the retired key: exit %d\n%s", code, out)
	}
	if got := rpmQuery(t, host, "shop-hotfix-6_14_2_5"); strings.HasPrefix(got, "shop-hotfix-6_14_2_5-") {
		t.Fatalf("the retired key's package is installed: %s", got)
	}
}

func agentCheck(t *testing.T, bin string, r *installroot) (string, int) {
	t.Helper()
	return runCode(t, nil, bin, "agent", "-check", "-root", r.root, "-config", "/etc/sysconfig/shop-hotfix")
}

// shortKeyID is the version of the gpg-pubkey package that rpm --import makes of the key:
// the low 8 hex digits of its key id.
func shortKeyID(t *testing.T, secret string) string {
	t.Helper()
	s, err := sign.LoadSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s.KeyID()[8:]
}

func keyIDsOf(t *testing.T, armored string) []string {
	t.Helper()
	var ring sign.Keyring
	if err := ring.Add([]byte(armored), "key file"); err != nil {
		t.Fatal(err)
	}
	return make([]string, ring.Len())
}

func rpmQuery(t *testing.T, r *installroot, name string) string {
	t.Helper()
	out, _ := exec.Command("rpm", "--root", r.root, "-q", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}", name).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// rpmkeysCheck checks a package as dnf does before it installs it.
func rpmkeysCheck(t *testing.T, r *installroot, rpm string) (string, int) {
	t.Helper()
	return runCode(t, []string{"LC_ALL=C"}, "rpmkeys", "--checksig", "--root", r.root, "--verbose",
		"--define=_pkgverify_level signature", "--define=_pkgverify_flags 0x0", rpm)
}

// gpgList is gpg --list-packets of a file, in a throwaway GNUPGHOME.
func gpgList(t *testing.T, path string) string {
	t.Helper()
	testutil.RequireTool(t, "gpg")
	return runOK(t, []string{"GNUPGHOME=" + t.TempDir()}, "gpg", "--batch", "--list-packets", path)
}
