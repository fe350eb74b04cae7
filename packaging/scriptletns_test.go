package packaging

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/rpmpack"
	"github.com/hotchain/hotchain/internal/testutil"
)

// TestScriptletNamespaces shows what a %post (and so every Install script that hotchain
// apply runs from it) sees of the host under the real rpm. rpm 4.20 (RHEL 10, Debian 13)
// runs scriptlets through its unshare plugin with %__transaction_unshare_nonet 1 and
// %__transaction_unshare_paths /tmp:/home: no network, not even loopback, and a /tmp of its
// own that is gone afterwards; under rpm --root (dnf --installroot, hotchain's sandbox
// hosts) only the network goes ("private mounts in chroot not implemented"). rpm 4.18 (and
// RHEL 9's 4.16) shares both with the host.
//
// The package's %post tries to reach a listener of this test on 127.0.0.1, looks for a file
// put in /tmp before, leaves a marker there, and writes what it saw outside /tmp. On the
// host it is installed into / in a private mount namespace with tmpfs over /mnt (where its
// files and database go) and /tmp, so nothing stays on the machine.
func TestScriptletNamespaces(t *testing.T) {
	testutil.RequireTool(t, "rpm")
	testutil.RequireTool(t, "busybox")
	testutil.RequireTool(t, "unshare")
	if os.Geteuid() != 0 {
		t.Skip("rpm -i and mount namespaces need root")
	}
	major, minor := rpmVersion(t)
	isolated := major > 4 || major == 4 && minor >= 20
	macros, _ := run(t, "rpm", "--eval", "unshare_paths=%{?__transaction_unshare_paths} unshare_nonet=%{?__transaction_unshare_nonet}")
	t.Logf("lane %q, rpm %d.%d, %s", os.Getenv("HOTCHAIN_LANE"), major, minor, strings.TrimSpace(macros))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	pkg := probePackage(t, fmt.Sprintf(`seen=/mnt/probe/seen
if [ -e /tmp/before ]; then echo "tmp: shared" > $seen; else echo "tmp: private" > $seen; fi
echo marker > /tmp/marker
if echo probe | busybox nc -w 3 127.0.0.1 %d >/mnt/probe/nc.out 2>&1; then echo "net: connected" >> $seen; else echo "net: no connection" >> $seen; busybox cat /mnt/probe/nc.out >> $seen; fi
echo "links:" >> $seen
busybox ip link >> $seen 2>&1
exit 0
`, port))

	check := func(t *testing.T, seen string, privateTmp, markerLeft bool) {
		t.Helper()
		t.Logf("the %%post saw:\n%s", seen)
		wantNet, wantConns := "net: connected", int32(1)
		if isolated {
			wantNet, wantConns = "net: no connection", 0
		}
		wantTmp := "tmp: shared"
		if privateTmp {
			wantTmp = "tmp: private"
		}
		if !strings.Contains(seen, wantTmp+"\n") {
			t.Errorf("rpm %d.%d: the %%post should say %q", major, minor, wantTmp)
		}
		if !strings.Contains(seen, wantNet+"\n") {
			t.Errorf("rpm %d.%d: the %%post should say %q", major, minor, wantNet)
		}
		if markerLeft == privateTmp {
			t.Errorf("rpm %d.%d: the %%post's /tmp/marker left behind: %v, want %v", major, minor, markerLeft, !privateTmp)
		}
		if got := accepted.Swap(0); got != wantConns {
			t.Errorf("rpm %d.%d: the listener on 127.0.0.1:%d accepted %d connections, want %d", major, minor, port, got, wantConns)
		}
	}

	t.Run("host", func(t *testing.T) {
		script := `set -e
mount -t tmpfs tmpfs /mnt
mkdir /mnt/probe
cp "$1" /mnt/probe.rpm
mount -t tmpfs tmpfs /tmp
echo before > /tmp/before
rpm --dbpath /mnt/db -i --nodeps --nosignature /mnt/probe.rpm >&2
if [ -e /tmp/marker ]; then echo "marker: left"; else echo "marker: gone"; fi
cat /mnt/probe/seen
`
		cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", pkg)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		t.Logf("rpm -i:\n%s", stderr.String())
		if err != nil {
			t.Fatalf("install into / in a private mount namespace: %v\n%s", err, stderr.String())
		}
		marker, seen, _ := strings.Cut(string(out), "\n")
		check(t, seen, isolated, marker == "marker: left")
	})

	t.Run("installroot", func(t *testing.T) {
		root := scriptletRoot(t)
		if err := os.WriteFile(filepath.Join(root, "tmp/before"), []byte("before\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("rpm", "--root", root, "-i", "--nodeps", "--nosignature", pkg).CombinedOutput()
		t.Logf("rpm --root %s -i:\n%s", root, out)
		if err != nil {
			t.Fatalf("rpm -i: %v\n%s", err, out)
		}
		seen, err := os.ReadFile(filepath.Join(root, "mnt/probe/seen"))
		if err != nil {
			t.Fatalf("the %%post wrote nothing: %v", err)
		}
		_, markerErr := os.Stat(filepath.Join(root, "tmp/marker"))
		check(t, string(seen), false, markerErr == nil)
		if warned := strings.Contains(string(out), "private mounts in chroot not implemented"); warned != isolated {
			t.Errorf("rpm %d.%d: rpm -i warns of private mounts in chroot: %v, want %v", major, minor, warned, isolated)
		}
	})
}

// rpmVersion is the version of the rpm on PATH, from "RPM version 4.20.1".
func rpmVersion(t *testing.T) (major, minor int) {
	t.Helper()
	out, _ := run(t, "rpm", "--version")
	m := regexp.MustCompile(`(\d+)\.(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rpm --version: %q has no version", out)
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor
}

// scriptletRoot is an rpm --root with a static busybox as /bin/sh and busybox, and the
// directories rpm 4.20 would mount over (/tmp, /home).
func scriptletRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"bin", "tmp", "home", "mnt/probe"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	bb, _ := exec.LookPath("busybox")
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "["} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// probePackage is a package of one file whose %post is script.
func probePackage(t *testing.T, script string) string {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: "scriptlet-probe", Version: "1", Release: "1", Arch: "noarch", Summary: "probe", Licence: "none"})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/mnt/probe/probe.txt", Body: []byte("probe\n"), Mode: 0o100644, Owner: "root", Group: "root"})
	r.AddPostin(script)
	p := filepath.Join(t.TempDir(), "scriptlet-probe-1-1.noarch.rpm")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}
