package repo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
)

// dnfHost is an empty installroot that dnf installs into, the way the agent runs dnf on a
// host sandboxed with -root.
//
// The recipe that Debian 12's dnf 4.14 needs against an empty installroot:
//
//		dnf --installroot=$T --setopt=reposdir=$T/etc/yum.repos.d --setopt=cachedir=$T/var/cache/dnf \
//		    --releasever=1 -y --setopt=shop-hotfix.gpgkey=file://$T/etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix ...
//
//	  - --releasever: there is no system-release package in an empty root to take it from;
//	    any value does, the .repo file does not use $releasever.
//	  - reposdir and cachedir: without them dnf reads the build machine's repositories and
//	    writes its cache.
//	  - gpgkey: a file:// gpgkey is read from the machine's file system, not from the
//	    installroot, so the .repo file's /etc/pki/... is pointed into $T.
//	  - -y: dnf imports the key (into the repository's keyring for repo_gpgcheck, and into
//	    the installroot's rpmdb for gpgcheck) only when told yes.
//
// Not needed: --forcearch (noarch packages), --nodocs, install_weak_deps=False (no weak
// dependencies), an rpm --import beforehand (dnf imports gpgkey itself).
type dnfHost struct {
	t    *testing.T
	root string
}

func newDNFHost(t *testing.T, repoFile, key []byte) *dnfHost {
	h := &dnfHost{t: t, root: filepath.Join(t.TempDir(), "host")}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"etc/yum.repos.d/shop-hotfix.repo", repoFile},
		{"etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", key},
	} {
		p := filepath.Join(h.root, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *dnfHost) repoFile() string { return filepath.Join(h.root, "etc/yum.repos.d/shop-hotfix.repo") }

// dnf runs dnf in the installroot and returns its exit status and output.
func (h *dnfHost) dnf(args ...string) (int, string) {
	h.t.Helper()
	all := append([]string{
		"--installroot=" + h.root,
		"--setopt=reposdir=" + filepath.Join(h.root, "etc/yum.repos.d"),
		"--setopt=cachedir=" + filepath.Join(h.root, "var/cache/dnf"),
		"--releasever=1", "-y",
		"--setopt=shop-hotfix.gpgkey=file://" + filepath.Join(h.root, "etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix"),
	}, args...)
	cmd := exec.Command("dnf", all...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		x, ok := err.(*exec.ExitError)
		if !ok {
			h.t.Fatalf("dnf: %v", err)
		}
		code = x.ExitCode()
	}
	h.t.Logf("dnf %s: exit %d\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

func (h *dnfHost) installed() string {
	h.t.Helper()
	out, err := exec.Command("rpm", "--root", h.root, "-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n").CombinedOutput()
	if err != nil {
		h.t.Fatalf("rpm -qa: %v\n%s", err, out)
	}
	return string(out)
}

// TestDNF has the real dnf read a repository that Build wrote and Serve serves: it lists
// and installs signed packages, fails over from a dead mirror, and refuses a tampered
// repomd.xml, an unsigned package and a package signed with another key.
func TestDNF(t *testing.T) {
	testutil.RequireTool(t, "dnf")
	testutil.RequireTool(t, "rpm")
	vendor, other := testKeys(t)
	root := t.TempDir()
	good := filepath.Join(root, "6.14.2")
	os.Mkdir(good, 0o755)
	for _, p := range []testPkg{pkgBase, pkgMeta, pkgFix1} {
		p.build(t, good, vendor)
	}
	url, log := startServe(t, root)
	o := testOptions(good)
	o.Signer = vendor
	// Nothing listens on port 1: dnf must go on to the next URL of the baseurl list.
	o.BaseURLs = []string{"http://127.0.0.1:1/", url}
	mustBuild(t, o)
	repoFile, _ := os.ReadFile(filepath.Join(good, "shop-hotfix.repo"))
	key, _ := os.ReadFile(filepath.Join(good, "RPM-GPG-KEY-shop-hotfix"))
	h := newDNFHost(t, repoFile, key)

	code, out := h.dnf("repoquery", "--available", "--qf", "%{name}-%{version}-%{release}.%{arch}")
	want := []string{"shop-hotfix-6_14_2_1-1-0.noarch", "shop-hotfix-base-1.0-1.noarch", "shop-meta-1-1.noarch"}
	if code != 0 || !containsAll(out, want) {
		t.Fatalf("repoquery: exit %d, want 0 and %v", code, want)
	}
	if l := log.String(); !strings.Contains(l, `"/6.14.2/repodata/repomd.xml.asc" 200`) {
		t.Errorf("dnf did not fetch repomd.xml.asc over HTTP; server log:\n%s", l)
	}

	if code, _ := h.dnf("install", "shop-hotfix-base"); code != 0 {
		t.Fatalf("install: exit %d", code)
	}
	if got := h.installed(); !strings.Contains(got, "shop-hotfix-base-1.0-1.noarch") {
		t.Errorf("rpm -qa after install:\n%s", got)
	}

	// A repomd.xml changed after signing.
	repomdPath := filepath.Join(good, "repodata", "repomd.xml")
	repomd, _ := os.ReadFile(repomdPath)
	os.WriteFile(repomdPath, bytes.Replace(repomd, []byte("<revision>"), []byte("<revision>1"), 1), 0o644)
	code, out = h.dnf("--refresh", "repoquery", "--available")
	if code == 0 || !strings.Contains(out, "repomd.xml GPG signature verification error") {
		t.Errorf("tampered repomd.xml: exit %d, want non-zero and a signature verification error", code)
	}
	os.WriteFile(repomdPath, repomd, 0o644)

	// Packages that dnf must refuse, in a repository whose metadata is signed properly.
	// Build refuses them under a key, so the metadata is built without one and signed here.
	bad := filepath.Join(root, "6.14.3")
	os.Mkdir(bad, 0o755)
	unsigned := pkgMeta
	unsigned.name = "shop-unsigned"
	unsigned.build(t, bad, nil)
	foreign := pkgMeta
	foreign.name = "shop-foreign"
	foreign.build(t, bad, other)
	ob := testOptions(bad)
	ob.Product = "shop"
	mustBuild(t, ob)
	signRepomd(t, bad, vendor)
	// The host moves to the new base version the way a product patch does it.
	if err := RewriteBaseVersion(h.repoFile(), "6.14.3"); err != nil {
		t.Fatal(err)
	}

	code, out = h.dnf("--refresh", "install", "shop-unsigned")
	if code == 0 || !strings.Contains(out, "is not signed") {
		t.Errorf("unsigned package: exit %d, want non-zero and \"is not signed\"", code)
	}
	code, out = h.dnf("install", "shop-foreign")
	if code == 0 || !strings.Contains(out, "not correct for this package") || !strings.Contains(out, "GPG check FAILED") {
		t.Errorf("package signed with another key: exit %d, want non-zero, \"not correct for this package\" and \"GPG check FAILED\"", code)
	}
	if got := h.installed(); strings.Contains(got, "shop-unsigned") || strings.Contains(got, "shop-foreign") {
		t.Errorf("refused packages installed anyway:\n%s", got)
	}
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// signRepomd writes repodata/repomd.xml.asc as Build does with a key.
func signRepomd(t *testing.T, dir string, s *sign.Signer) {
	t.Helper()
	repomd, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var sig bytes.Buffer
	if err := s.SignArmored(&sig, bytes.NewReader(repomd)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml.asc"), sig.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
