package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
)

// buildStatic builds the hotchain binary as the base RPM ships it: static, so that it runs
// inside an installroot that has no C library. HOTCHAIN_BIN names one already built (the
// Debian 13 lane runs the test binaries in a root without Go).
func buildStatic(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HOTCHAIN_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("HOTCHAIN_BIN: %v", err)
		}
		return bin
	}
	bin := filepath.Join(t.TempDir(), "hotchain")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runOK runs a command and fails the test unless it exits 0; it returns stdout and stderr.
func runOK(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, code := runCode(t, env, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", filepath.Base(name), strings.Join(args, " "), code, out)
	}
	return out
}

// runCode runs a command and returns its combined output and exit status.
func runCode(t *testing.T, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		x, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = x.ExitCode()
	}
	t.Logf("$ %s %s  (exit %d)\n%s", filepath.Base(name), strings.Join(args, " "), code, out)
	return string(out), code
}

// serveRepos starts `hotchain serve` on a free loopback port and returns its base URL; the
// server stops when the test ends.
func serveRepos(t *testing.T, bin, dir string) string {
	t.Helper()
	url, _ := serveReposStoppable(t, bin, dir)
	return url
}

// serveReposStoppable is serveRepos with a function that stops the server early (a
// repository that goes down).
func serveReposStoppable(t *testing.T, bin, dir string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "-dir", dir, "-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
		for sc.Scan() {
			if u := re.FindString(sc.Text()); u != "" {
				urls <- u
				return
			}
		}
	}()
	select {
	case u := <-urls:
		return strings.TrimSuffix(u, "/"), func() { cancel(); cmd.Wait() }
	case <-time.After(10 * time.Second):
		t.Fatal("hotchain serve did not say where it listens")
	}
	return "", nil
}

// installroot is a host sandbox that dnf installs into: a static busybox for /bin/sh (rpm
// runs scriptlets chrooted into it) and the product tree.
type installroot struct {
	t    *testing.T
	root string
}

func newInstallroot(t *testing.T, name string) *installroot {
	t.Helper()
	testutil.RequireTool(t, "busybox")
	r := &installroot{t: t, root: filepath.Join(t.TempDir(), name)}
	for _, d := range []string{"bin", "tmp", "var/tmp", "etc/yum.repos.d", "opt/shop/lib/Shop"} {
		if err := os.MkdirAll(filepath.Join(r.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, _ := exec.LookPath("busybox")
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "echo", "mkdir", "rm", "cp", "ls", "grep", "sleep", "test", "["} {
		os.Symlink("busybox", filepath.Join(r.root, "bin", applet))
	}
	r.write("opt/shop/version.txt", "6.14.2\n")
	r.write("opt/shop/lib/Shop/Cart.pm", "cart 6.14.2\n")
	return r
}

func (r *installroot) write(rel, content string) {
	r.t.Helper()
	p := filepath.Join(r.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *installroot) read(rel string) string {
	data, err := os.ReadFile(filepath.Join(r.root, rel))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(data)
}

// dnfArgs are the options Debian's dnf needs against an installroot: its own repository
// directory and cache (else dnf reads the build machine's), a release version (no
// system-release package to take it from), and the vendor key from inside the root (a
// file:// gpgkey is read from the machine's file system).
func (r *installroot) dnfArgs(args ...string) []string {
	return append([]string{
		"--installroot=" + r.root,
		"--setopt=reposdir=" + filepath.Join(r.root, "etc/yum.repos.d"),
		"--setopt=cachedir=" + filepath.Join(r.root, "var/cache/dnf"),
		"--releasever=1", "-y",
		"--setopt=shop-hotfix.gpgkey=file://" + filepath.Join(r.root, "etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix"),
	}, args...)
}

// installed lists the installed packages in install order.
func (r *installroot) installed() string {
	r.t.Helper()
	out, err := exec.Command("rpm", "--root", r.root, "-qa", "--qf", "%{INSTALLTID} %{NAME}\n").Output()
	if err != nil {
		r.t.Fatalf("rpm -qa: %v", err)
	}
	return string(out)
}

// rpmSandboxesScriptlets: the rpm on PATH runs scriptlets without network, as rpm 4.20's
// unshare plugin does by default (Debian 13, RHEL 10); 4.18 does not.
func rpmSandboxesScriptlets(t *testing.T) bool {
	t.Helper()
	out, err := exec.Command("rpm", "--version").Output()
	if err != nil {
		t.Fatalf("rpm --version: %v", err)
	}
	m := regexp.MustCompile(`(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("rpm --version: %q has no version", out)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 4 || major == 4 && minor >= 20
}

// e2eHost skips an end-to-end test under -short and on machines that cannot run it, and
// fails it in CI when a tool is missing: the real tools (dnf and rpm, and those named), Linux,
// and with mountNS root for the mount namespaces that share a ledger between installroots.
func e2eHost(t *testing.T, mountNS bool, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with the real dnf")
	}
	archOK(t)
	for _, tool := range append([]string{"dnf", "rpm"}, tools...) {
		testutil.RequireTool(t, tool)
	}
	if mountNS && os.Geteuid() != 0 {
		t.Skip("needs root for mount namespaces and installroots")
	}
}

func archOK(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("installroots need Linux")
	}
}

// vendorKeyAndRepo makes the vendor's key pair under work (key+".asc" signs RPMs and
// metadata, key+".pem" tarballs and bundles, key+".pub.asc" is the public key) and the empty
// repository directory work/repos/6.14.2.
func vendorKeyAndRepo(t *testing.T, bin, work string) (key, repoDir string) {
	t.Helper()
	key = filepath.Join(work, "vendor")
	runOK(t, nil, bin, "keygen", "-name", "Shop Hotfixes", "-email", "hotfixes@shop.example", "-out", key)
	repoDir = filepath.Join(work, "repos", "6.14.2")
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return key, repoDir
}

// buildHotfixes builds hotfixes 6.14.2.from..to from their directories under src
// (rolloutChain's) into dir, signed with key+".asc"; flags go to each build as well.
func buildHotfixes(t *testing.T, bin, key, src, dir string, from, to int, flags ...string) {
	t.Helper()
	for i := from; i <= to; i++ {
		args := append([]string{"build", "-product", "shop", "-sign-key", key + ".asc"}, flags...)
		runOK(t, nil, bin, append(args, "-out", dir, filepath.Join(src, fmt.Sprintf("shop-hotfix-6.14.2.%d", i)))...)
	}
}

// servedRepo is a vendor's signed repository of the 6.14.2 chain, served by hotchain serve on
// loopback, with hotfix directories written by rolloutChain under src.
type servedRepo struct {
	t                   *testing.T
	bin, key, dir, src  string
	url                 string
	repoFile, publicKey []byte
}

// newServedRepo makes a key pair, an empty repository served on loopback and the base RPM.
func newServedRepo(t *testing.T, bin string) *servedRepo {
	t.Helper()
	work := t.TempDir()
	v := &servedRepo{t: t, bin: bin, src: filepath.Join(work, "src")}
	v.key, v.dir = vendorKeyAndRepo(t, bin, work)
	v.url = serveRepos(t, bin, filepath.Dir(v.dir))
	runOK(t, nil, bin, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", v.url,
		"-sign-key", v.key+".asc", "-binary", bin, "-out", v.dir)
	return v
}

// publish builds hotfixes from..to (their directories must be under src) and writes the
// repository's signed metadata.
func (v *servedRepo) publish(from, to int) {
	v.t.Helper()
	buildHotfixes(v.t, v.bin, v.key, v.src, v.dir, from, to)
	runOK(v.t, nil, v.bin, "repo", "-sign-key", v.key+".asc", "-base-url", v.url, "-base-version", "6.14.2", v.dir)
	var err error
	if v.repoFile, err = os.ReadFile(filepath.Join(v.dir, "shop-hotfix.repo")); err != nil {
		v.t.Fatal(err)
	}
	if v.publicKey, err = os.ReadFile(v.key + ".pub.asc"); err != nil {
		v.t.Fatal(err)
	}
}

// host makes a sandbox host that shares the ledger directory shared, points it at the
// repository, installs the base RPM with dnf and writes settings as its settings file.
func (v *servedRepo) host(name, shared, settings string) *rolloutHost {
	v.t.Helper()
	h := &rolloutHost{installroot: newInstallroot(v.t, name), name: name, bin: v.bin, shared: shared}
	h.write("etc/yum.repos.d/shop-hotfix.repo", string(v.repoFile))
	h.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(v.publicKey))
	runOK(v.t, nil, "dnf", h.dnfArgs("install", "shop-hotfix-base")...)
	h.write("etc/sysconfig/shop-hotfix", settings)
	return h
}
