package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/testutil"
)

// TestRPMRemovalsInstallAndErase is FileRemovals end to end with the real rpm and dnf: a
// hotfix built with a FileRemovals is installed with dnf (its %post applies it; under rpm
// 4.20's scriptlet sandbox the agent does) and removes a file, a symlink and a directory
// tree from the product; verify finds no drift; `rpm -e` runs %preun, whose rollback puts
// them back byte-exact: content, mode, owner and modification times.
func TestRPMRemovalsInstallAndErase(t *testing.T) {
	e2eHost(t, false)
	bin := buildStatic(t)
	work := t.TempDir()
	key, repoDir := vendorKeyAndRepo(t, bin, work)
	url := serveRepos(t, bin, filepath.Dir(repoDir))

	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	src := filepath.Join(work, "src", "shop-hotfix-6.14.2.1")
	removals := hotfix.FormatRemovals([]hotfix.Removal{
		{Path: "FileChanges/lib/Shop/Old.pm", Kind: hotfix.RemoveFile, SHA256: sum("old 6.14.2\n")},
		{Path: "FileChanges/bin/old-tool", Kind: hotfix.RemoveLink, SHA256: hotfix.LinkSHA256("../lib/Shop/Old.pm")},
		{Path: "FileChanges/lib/Legacy", Kind: hotfix.RemoveDir},
		{Path: "FileChanges/lib/Legacy/a.pm", Kind: hotfix.RemoveFile, SHA256: sum("a\n")},
		{Path: "FileChanges/lib/Legacy/empty", Kind: hotfix.RemoveDir},
	})
	for rel, content := range map[string]string{
		"version.txt":                  "6.14.2.1\n",
		"fixed-bugs.txt":               "SHOP-301 drop the legacy modules\n",
		"FileChanges/lib/Shop/Cart.pm": "cart 6.14.2.1\n",
		hotfix.RemovalsFile:            string(removals),
	} {
		p := filepath.Join(src, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runOK(t, nil, bin, "build", "-product", "shop", "-sign-key", key+".asc", "-out", repoDir, src)
	runOK(t, nil, bin, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url,
		"-sign-key", key+".asc", "-binary", bin, "-set", "HOSTNAME=e2ehost",
		"-set", "YUM_PARAMETER=--disablerepo '*' --enablerepo shop-hotfix --releasever=1", "-out", repoDir)
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url+"/6.14.2", repoDir)

	host := newInstallroot(t, "host")
	repoFile, err := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	if err != nil {
		t.Fatal(err)
	}
	host.write("etc/yum.repos.d/shop-hotfix.repo", string(repoFile))
	pub, _ := os.ReadFile(key + ".pub.asc")
	host.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(pub))
	// The product entries the hotfix removes, with modes, an owner and times of their own.
	host.write("opt/shop/lib/Shop/Old.pm", "old 6.14.2\n")
	host.write("opt/shop/lib/Legacy/a.pm", "a\n")
	for _, d := range []string{"opt/shop/lib/Legacy/empty", "opt/shop/bin"} {
		if err := os.MkdirAll(filepath.Join(host.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../lib/Shop/Old.pm", filepath.Join(host.root, "opt/shop/bin/old-tool")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(host.root, "opt/shop/lib/Shop/Old.pm"), 0o640)
	os.Chmod(filepath.Join(host.root, "opt/shop/lib/Legacy"), 0o750)
	if os.Geteuid() == 0 {
		os.Lchown(filepath.Join(host.root, "opt/shop/lib/Shop/Old.pm"), 1234, 4321)
		os.Lchown(filepath.Join(host.root, "opt/shop/lib/Legacy"), 1234, 4321)
	}
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	filepath.Walk(filepath.Join(host.root, "opt/shop"), func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	before := testutil.Snapshot(t, host.root, true, "opt/shop")

	out := runOK(t, nil, "dnf", host.dnfArgs("install", "shop-hotfix-6_14_2_1")...)
	at := []string{"-root", host.root, "-config", "/etc/sysconfig/shop-hotfix"}
	if rpmSandboxesScriptlets(t) && strings.Contains(out, "not applied now") {
		runOK(t, nil, bin, append([]string{"agent", "-console"}, at...)...)
	}
	if got := host.read("etc/opt/shop/hotfix/e2ehost.txt"); got != "6.14.2.1\n" {
		t.Fatalf("ledger after the install = %q, want 6.14.2.1", got)
	}
	for _, rel := range []string{"opt/shop/lib/Shop/Old.pm", "opt/shop/bin/old-tool", "opt/shop/lib/Legacy"} {
		if _, err := os.Lstat(filepath.Join(host.root, rel)); !os.IsNotExist(err) {
			t.Errorf("%s after the install: %v, want it removed", rel, err)
		}
	}
	if got := host.read("opt/shop/lib/Shop/Cart.pm"); got != "cart 6.14.2.1\n" {
		t.Errorf("Cart.pm = %q", got)
	}
	if v := runOK(t, nil, bin, append([]string{"verify"}, at...)...); !strings.Contains(v, "0 drifted") {
		t.Errorf("verify after the install:\n%s", v)
	}
	// Back again: verify names the hotfix that removed it.
	host.write("opt/shop/lib/Shop/Old.pm", "old 6.14.2\n")
	if v, code := runCode(t, nil, bin, append([]string{"verify"}, at...)...); code != 1 || !strings.Contains(v, "present again /opt/shop/lib/Shop/Old.pm (removed by hotfix 6.14.2.1)") {
		t.Errorf("verify with a removed file back: exit %d\n%s", code, v)
	}
	os.Remove(filepath.Join(host.root, "opt/shop/lib/Shop/Old.pm"))

	runOK(t, nil, "rpm", "--root", host.root, "-e", "shop-hotfix-6_14_2_1")
	if got := host.read("etc/opt/shop/hotfix/e2ehost.txt"); got != "" && !strings.HasPrefix(got, "<") {
		t.Errorf("ledger after rpm -e = %q, want empty", got)
	}
	// The test's own write and removal of Old.pm changed lib/Shop's time, and the install
	// wrote Cart.pm there; the rollback puts back the time the apply found.
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, host.root, true, "opt/shop")); d != "" {
		t.Fatalf("after rpm -e the product differs from before the install:\n%s", d)
	}
}
