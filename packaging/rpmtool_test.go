package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cavaliergopher/rpm"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
)

// rpmdb is a private rpm database holding the public key of s, so rpm -K can check.
func rpmdb(t *testing.T, s *sign.Signer) string {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	pub, err := s.PublicKeyArmored()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "pub.asc")
	if err := os.WriteFile(key, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "rpm", "--dbpath", db, "--import", key)
	return db
}

// TestRPMSignatures checks signed packages with the real rpm, for RSA and Ed25519 keys.
func TestRPMSignatures(t *testing.T) {
	testutil.RequireTool(t, "rpm")
	src := sampleDir(t, nil)
	for _, algo := range []sign.KeyAlgorithm{sign.RSA, sign.Ed25519} {
		t.Run(string(algo), func(t *testing.T) {
			s := testSigner(t, algo)
			res := buildSample(t, src, BuildOptions{Signer: s})
			db := rpmdb(t, s)
			out, _ := run(t, "rpm", "--dbpath", db, "-K", res.RPM)
			t.Logf("rpm -K: %s", strings.TrimSpace(out))
			if !strings.Contains(out, "digests signatures OK") || strings.Contains(out, "NOT OK") || strings.Contains(out, "NOKEY") {
				t.Errorf("rpm -K: %s", out)
			}
			verbose, _ := run(t, "rpm", "--dbpath", db, "-Kv", res.RPM)
			t.Logf("rpm -Kv:\n%s", verbose)
			keyID := s.KeyID()[8:]
			for _, want := range []string{"Header V4", "Header SHA256 digest: OK", "Payload SHA256 digest: OK", "key ID " + keyID + ": OK"} {
				if !strings.Contains(verbose, want) {
					t.Errorf("rpm -Kv lacks %q:\n%s", want, verbose)
				}
			}
			out, stderr := run(t, "rpm", "--dbpath", db, "-qip", res.RPM)
			if stderr != "" {
				t.Errorf("rpm -qip warns: %s", stderr)
			}
			if !strings.Contains(out, "Signature   : ") || strings.Contains(out, "Signature   : (none)") {
				t.Errorf("rpm -qip shows no signature:\n%s", out)
			}

			// A changed payload byte must fail the check.
			data, err := os.ReadFile(res.RPM)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-20] ^= 0xff
			bad := filepath.Join(t.TempDir(), "bad.rpm")
			if err := os.WriteFile(bad, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("rpm", "--dbpath", db, "-K", bad)
			badOut, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(badOut), "NOT OK") {
				t.Errorf("rpm -K of a damaged package: err %v, output %s", err, badOut)
			}
		})
	}
}

// TestRPMPayloadWithCpio lists the payload with rpm2cpio and cpio: it must end cleanly and
// hold every file of the package. rpm 4.18's rpm2cpio copies the payload as it is; rpm
// 4.20's reads it through librpm and writes a new archive (libarchive's cpio: "./" before
// every name, padded to 10240-byte blocks), so names are compared without the leading "."
// and the ARCHIVESIZE that rpm reports is compared with the payload in the package itself.
func TestRPMPayloadWithCpio(t *testing.T) {
	testutil.RequireTool(t, "rpm2cpio")
	testutil.RequireTool(t, "cpio")
	res := buildSample(t, sampleDir(t, nil), BuildOptions{})
	var payload bytes.Buffer
	c := exec.Command("rpm2cpio", res.RPM)
	c.Stdout = &payload
	if err := c.Run(); err != nil {
		t.Fatalf("rpm2cpio: %v", err)
	}
	list := exec.Command("cpio", "-t")
	list.Stdin = &payload
	var stdout, stderr bytes.Buffer
	list.Stdout, list.Stderr = &stdout, &stderr
	if err := list.Run(); err != nil {
		t.Fatalf("cpio -t: %v\n%s", err, stderr.String())
	}
	var got []string
	for _, name := range strings.Fields(stdout.String()) {
		got = append(got, strings.TrimPrefix(name, "."))
	}
	var want []string
	for _, f := range openRPM(t, res.RPM).Files() {
		want = append(want, f.Name())
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cpio -t lists:\n%s\nthe header lists:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// rpm's own ARCHIVESIZE must be the payload's size.
	out, _ := run(t, "rpm", "-qp", "--nosignature", "--qf", "%{ARCHIVESIZE}", res.RPM)
	f, err := os.Open(res.RPM)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := rpm.Read(f); err != nil {
		t.Fatal(err)
	}
	if n := payloadLen(t, f); out != strconv.FormatInt(n, 10) {
		t.Errorf("rpm says ARCHIVESIZE %s, the payload is %d bytes", out, n)
	}
}

// TestRPMQuery reads the package back with rpm -qp.
func TestRPMQuery(t *testing.T) {
	testutil.RequireTool(t, "rpm")
	res := buildSample(t, sampleDir(t, nil), BuildOptions{})
	q := func(args ...string) string {
		out, stderr := run(t, "rpm", append(append([]string{"-qp", "--nosignature"}, args...), res.RPM)...)
		if stderr != "" {
			t.Errorf("rpm -qp %v warns: %s", args, stderr)
		}
		return out
	}
	if got, want := q("--requires"), "rpmlib(CompressedFileNames) <= 3.0.4-1\nrpmlib(FileDigests) <= 4.6.0-1\nshop-hotfix-base\nshop-hotfix-6_14_2_2\n"; got != want {
		t.Errorf("--requires:\n%s\nwant:\n%s", got, want)
	}
	if got, want := q("--qf", "[%{REQUIRENAME} %{REQUIREFLAGS:deptype}\n]"), "rpmlib(CompressedFileNames) rpmlib\nrpmlib(FileDigests) rpmlib\nshop-hotfix-base pre,post,preun\nshop-hotfix-6_14_2_2 pre,preun\n"; got != want {
		t.Errorf("requirement kinds:\n%s\nwant:\n%s", got, want)
	}
	if got, want := q("--provides"), "shop-hotfix-6_14_2_3 = 1-0\n"; got != want {
		t.Errorf("--provides: %q, want %q", got, want)
	}
	scripts := q("--scripts")
	for _, want := range []string{
		"preinstall scriptlet (using /bin/sh):\n# Refuse the install",
		"postinstall scriptlet (using /bin/sh):\n# Apply the hotfix",
		"preuninstall scriptlet (using /bin/sh):\n# Roll the hotfix back",
		"/usr/sbin/hotchain prereq -config /etc/sysconfig/shop-hotfix -patches-dir /var/opt/shop/Patches 6.14.2.3",
		"/usr/sbin/hotchain apply -config /etc/sysconfig/shop-hotfix -scriptlet " + hotfixDir,
		"/usr/sbin/hotchain rollback -config /etc/sysconfig/shop-hotfix 6.14.2.3",
	} {
		if !strings.Contains(scripts, want) {
			t.Errorf("--scripts lacks %q:\n%s", want, scripts)
		}
	}
	list := q("-l")
	for _, want := range []string{hotfixDir + "\n", hotfixDir + "/filelist.txt\n", hotfixDir + "/FileChanges/lib/Shop/Default.pm\n", hotfixDir + "/FileChanges/empty\n"} {
		if !strings.Contains(list, want) {
			t.Errorf("-l lacks %q:\n%s", want, list)
		}
	}
	if got := q("--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH} %{EPOCH} %{BUILDTIME}"); got != "shop-hotfix-6_14_2_3-1-0.noarch (none) 1767323045" {
		t.Errorf("NEVRA, epoch, build time: %q", got)
	}
	info := q("-i")
	if !strings.Contains(info, "Summary     : SHOP-101 cart total rounds wrong") || !strings.Contains(info, "SHOP-107: login page typo.") {
		t.Errorf("-i:\n%s", info)
	}
}

// TestRPMSignatureOlderThanKey: a SOURCE_DATE_EPOCH before the key was made still gives a
// package rpm accepts (the signature takes the key's creation time).
func TestRPMSignatureOlderThanKey(t *testing.T) {
	testutil.RequireTool(t, "rpm")
	s := testSigner(t, sign.Ed25519)
	old := keyTime.AddDate(-5, 0, 0)
	res := buildSample(t, sampleDir(t, nil), BuildOptions{Signer: s, Time: old})
	p := openRPM(t, res.RPM)
	if !p.BuildTime().Equal(old) {
		t.Errorf("build time %v, want %v", p.BuildTime(), old)
	}
	db := rpmdb(t, s)
	out, _ := run(t, "rpm", "--dbpath", db, "-K", res.RPM)
	if !strings.Contains(out, "digests signatures OK") {
		t.Errorf("rpm -K: %s", out)
	}
	cmd := exec.Command("rpm", "--dbpath", db, "-qp", "--qf", "%{RSAHEADER:pgpsig}", res.RPM)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	info, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := keyTime.Format("Jan _2 15:04:05 2006"); !strings.Contains(string(info), want) {
		t.Errorf("signature made %q, want the key's creation time %s", info, want)
	}
}
