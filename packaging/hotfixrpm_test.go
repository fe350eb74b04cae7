package packaging

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"

	"github.com/cavaliergopher/rpm"
	"github.com/hotchain/hotchain/hotfix"
)

const hotfixDir = "/var/opt/shop/Patches/shop-hotfix-6.14.2.3"

func TestHotfixRPMNames(t *testing.T) {
	src := sampleDir(t, nil)
	for _, tc := range []struct {
		release int
		file    string
	}{
		{0, "shop-hotfix-6_14_2_3-1-0.noarch.rpm"},
		{2, "shop-hotfix-6_14_2_3-1-2.noarch.rpm"},
	} {
		res := buildSample(t, src, BuildOptions{Release: tc.release})
		if filepath.Base(res.RPM) != tc.file {
			t.Errorf("release %d: RPM file %s, want %s", tc.release, filepath.Base(res.RPM), tc.file)
		}
		if filepath.Base(res.Tarball) != "shop-hotfix-6.14.2.3.tar.gz" {
			t.Errorf("tarball file %s", filepath.Base(res.Tarball))
		}
		p := openRPM(t, res.RPM)
		if p.Name() != "shop-hotfix-6_14_2_3" || p.Version() != "1" || p.Architecture() != "noarch" || p.OperatingSystem() != "linux" {
			t.Errorf("name %s version %s arch %s os %s", p.Name(), p.Version(), p.Architecture(), p.OperatingSystem())
		}
		if p.Release() != strconv.Itoa(tc.release) {
			t.Errorf("release %q, want %d", p.Release(), tc.release)
		}
		if tag := p.Header.GetTag(1003); tag != nil {
			t.Errorf("package has an epoch tag (%d): hotfix packages have none", tag.Int64())
		}
	}
}

func TestHotfixRPMRequires(t *testing.T) {
	rpmlib := []string{
		"rpmlib(CompressedFileNames) flags=0x100000a 3.0.4-1",
		"rpmlib(FileDigests) flags=0x100000a 4.6.0-1",
	}
	for _, tc := range []struct {
		version string
		want    []string
	}{
		{"6.14.2.3", append(rpmlib, "shop-hotfix-base flags=0xe00 ", "shop-hotfix-6_14_2_2 flags=0xa00 ")},
		{"6.14.2.1", append(rpmlib, "shop-hotfix-base flags=0xe00 ")},
	} {
		src := sampleDir(t, map[string]string{"version.txt": tc.version + "\n"})
		p := openRPM(t, buildSample(t, src, BuildOptions{}).RPM)
		var got []string
		for _, d := range p.Requires() {
			got = append(got, fmt.Sprintf("%s flags=%#x %s", d.Name(), d.Flags(), versionOf(d)))
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s requires:\n%s\nwant:\n%s", tc.version, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// TestHotfixRPMProvides checks the self-provide: exactly NAME = VERSION-RELEASE, without an
// epoch, because the package has none (rpmpack would provide a package with an epoch
// without it).
func TestHotfixRPMProvides(t *testing.T) {
	p := openRPM(t, buildSample(t, sampleDir(t, nil), BuildOptions{Release: 4}).RPM)
	prov := p.Provides()
	if len(prov) != 1 {
		t.Fatalf("provides %v, want only the package itself", prov)
	}
	d := prov[0]
	if d.Name() != "shop-hotfix-6_14_2_3" || versionOf(d) != "1-4" || d.Flags() != rpm.DepFlagEqual {
		t.Errorf("provides %s flags %#x version %q, want shop-hotfix-6_14_2_3 = 1-4", d.Name(), d.Flags(), versionOf(d))
	}
	if p.Epoch() != 0 || p.Header.GetTag(1003) != nil {
		t.Errorf("epoch %d: the package must have none, or provide itself with it", p.Epoch())
	}
}

func TestHotfixRPMScripts(t *testing.T) {
	p := openRPM(t, buildSample(t, sampleDir(t, nil), BuildOptions{}).RPM)
	wantPre := `# Refuse the install unless this host's chain is ready for 6.14.2.3 and its PATCHES_DIR is /var/opt/shop/Patches.
if [ "$1" = 1 ]; then
    /usr/sbin/hotchain prereq -config /etc/sysconfig/shop-hotfix -patches-dir /var/opt/shop/Patches 6.14.2.3 || exit 1
fi
`
	wantPost := `# Apply the hotfix; SHOP_DO_PATCH=0 installs its files without applying it.
if [ "$1" = 1 ]; then
    if [ "${SHOP_DO_PATCH:-}" = 0 ]; then
        echo "shop-hotfix-6_14_2_3: SHOP_DO_PATCH=0: not applied; apply it with: /usr/sbin/hotchain apply -config /etc/sysconfig/shop-hotfix /var/opt/shop/Patches/shop-hotfix-6.14.2.3" >&2
    else
        HOTCHAIN_BY=rpm /usr/sbin/hotchain apply -config /etc/sysconfig/shop-hotfix -scriptlet /var/opt/shop/Patches/shop-hotfix-6.14.2.3 || exit 1
    fi
fi
`
	wantPreun := `# Roll the hotfix back on erase; SHOP_DO_PATCH=0 erases its files without a rollback.
if [ "$1" = 0 ] && [ "${SHOP_DO_PATCH:-}" != 0 ]; then
    HOTCHAIN_BY=rpm /usr/sbin/hotchain rollback -config /etc/sysconfig/shop-hotfix 6.14.2.3 || exit 1
fi
`
	for _, s := range []struct {
		name      string
		got, want string
		prog      int
	}{
		{"%pre", p.PreInstallScript(), wantPre, 1085},
		{"%post", p.PostInstallScript(), wantPost, 1086},
		{"%preun", p.PreUninstallScript(), wantPreun, 1087},
	} {
		if s.got != s.want {
			t.Errorf("%s:\n%s\nwant:\n%s", s.name, s.got, s.want)
		}
		if prog := p.Header.GetTag(s.prog).String(); prog != "/bin/sh" {
			t.Errorf("%s runs with %q, want /bin/sh", s.name, prog)
		}
	}
	if p.PostUninstallScript() != "" {
		t.Errorf("unexpected %%postun: %q", p.PostUninstallScript())
	}
}

// TestHotfixScriptsRun runs the scriptlets with sh, with a stand-in for hotchain that
// records its arguments, for each way rpm calls them.
func TestHotfixScriptsRun(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	dir := t.TempDir()
	fake := filepath.Join(dir, "hotchain")
	log := filepath.Join(dir, "calls")
	testutil.WriteTree(t, dir, map[string]string{"hotchain#0755": "#!/bin/sh\necho \"$*\" >> " + log + "\nexit ${FAKE_EXIT:-0}\n"})
	v, _ := hotfix.ParseHotfixVersion("6.14.2.3")
	pre, post, preun := hotfixScripts("shop", v, "/var/opt/shop/Patches", hotfixDir)
	for _, tc := range []struct {
		name, script, arg string
		env               []string
		want              string // the call recorded, "" for none
		fail              bool
	}{
		{"pre install", pre, "1", nil, "prereq -config /etc/sysconfig/shop-hotfix -patches-dir /var/opt/shop/Patches 6.14.2.3", false},
		{"pre install, prerequisites fail", pre, "1", []string{"FAKE_EXIT=3"}, "prereq -config /etc/sysconfig/shop-hotfix -patches-dir /var/opt/shop/Patches 6.14.2.3", true},
		{"pre upgrade", pre, "2", nil, "", false},
		{"post install", post, "1", nil, "apply -config /etc/sysconfig/shop-hotfix -scriptlet " + hotfixDir, false},
		{"post install, apply fails", post, "1", []string{"FAKE_EXIT=1"}, "apply -config /etc/sysconfig/shop-hotfix -scriptlet " + hotfixDir, true},
		{"post install, SHOP_DO_PATCH=0", post, "1", []string{"SHOP_DO_PATCH=0"}, "", false},
		{"post install, SHOP_DO_PATCH=1", post, "1", []string{"SHOP_DO_PATCH=1"}, "apply -config /etc/sysconfig/shop-hotfix -scriptlet " + hotfixDir, false},
		{"post upgrade", post, "2", nil, "", false},
		{"preun erase", preun, "0", nil, "rollback -config /etc/sysconfig/shop-hotfix 6.14.2.3", false},
		{"preun erase, rollback fails", preun, "0", []string{"FAKE_EXIT=1"}, "rollback -config /etc/sysconfig/shop-hotfix 6.14.2.3", true},
		{"preun erase, SHOP_DO_PATCH=0", preun, "0", []string{"SHOP_DO_PATCH=0"}, "", false},
		{"preun upgrade", preun, "1", nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(log)
			cmd := exec.Command(sh, "-c", strings.ReplaceAll(tc.script, HotchainPath, fake), "scriptlet", tc.arg)
			cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, tc.env...)
			out, err := cmd.CombinedOutput()
			if (err != nil) != tc.fail {
				t.Errorf("exit error %v, want failure %v; output %s", err, tc.fail, out)
			}
			calls, _ := os.ReadFile(log)
			if got := strings.TrimSpace(string(calls)); got != tc.want {
				t.Errorf("hotchain called with %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHotfixRPMFiles(t *testing.T) {
	src := sampleDir(t, nil)
	res := buildSample(t, src, BuildOptions{})
	p := openRPM(t, res.RPM)
	d, err := hotfix.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]hotfix.Entry{"": {Mode: 0o755 | os.ModeDir}}
	for _, e := range d.Entries {
		want[e.Rel] = e
	}
	want["filelist.txt"] = hotfix.Entry{Rel: "filelist.txt", Mode: 0o644}
	modes := p.Header.GetTag(1030).Int64Slice()
	seen := map[string]bool{}
	for i, f := range p.Files() {
		rel, ok := strings.CutPrefix(f.Name(), hotfixDir)
		rel = strings.TrimPrefix(rel, "/")
		if !ok {
			t.Errorf("file %s lies outside %s", f.Name(), hotfixDir)
			continue
		}
		e, ok := want[rel]
		if !ok {
			t.Errorf("unexpected file %s", f.Name())
			continue
		}
		seen[rel] = true
		if f.Owner() != "root" || f.Group() != "root" {
			t.Errorf("%s owned by %s:%s, want root:root", f.Name(), f.Owner(), f.Group())
		}
		if !f.ModTime().Equal(sde) {
			t.Errorf("%s mtime %v, want SOURCE_DATE_EPOCH %v", f.Name(), f.ModTime(), sde)
		}
		if f.Mode().Perm() != e.Mode.Perm() || f.Mode().Type() != e.Mode.Type() {
			t.Errorf("%s mode %v, want %v", f.Name(), f.Mode(), e.Mode)
		}
		var typ int64
		switch {
		case e.Mode.IsDir():
			typ = 0o040000
		case e.Mode&os.ModeSymlink != 0:
			typ = 0o120000
			if f.Linkname() != e.Link {
				t.Errorf("%s links to %q, want %q", f.Name(), f.Linkname(), e.Link)
			}
		default:
			typ = 0o100000
			if e.SHA256 != "" && f.Digest() != e.SHA256 {
				t.Errorf("%s digest %s, want %s", f.Name(), f.Digest(), e.SHA256)
			}
		}
		if modes[i]&0o170000 != typ {
			t.Errorf("%s file type %o, want %o", f.Name(), modes[i]&0o170000, typ)
		}
	}
	for rel := range want {
		if !seen[rel] {
			t.Errorf("%s/%s is not in the package", hotfixDir, rel)
		}
	}
	if _, err := os.Stat(filepath.Join(src, "filelist.txt")); !os.IsNotExist(err) {
		t.Errorf("the build wrote filelist.txt into the source directory (stat: %v)", err)
	}
	if !res.FilelistWritten {
		t.Error("FilelistWritten is false for a source without filelist.txt")
	}
}

func TestHotfixRPMSummary(t *testing.T) {
	p := openRPM(t, buildSample(t, sampleDir(t, nil), BuildOptions{}).RPM)
	if p.Summary() != "SHOP-101 cart total rounds wrong" {
		t.Errorf("summary %q", p.Summary())
	}
	if want := strings.TrimRight(sampleFiles()["fixed-bugs.txt"], "\n"); p.Description() != want {
		t.Errorf("description %q, want %q", p.Description(), want)
	}
	p = openRPM(t, buildSample(t, sampleDir(t, map[string]string{"fixed-bugs.txt": ""}), BuildOptions{}).RPM)
	if p.Summary() != "shop hotfix 6.14.2.3" || p.Description() != "shop hotfix 6.14.2.3" {
		t.Errorf("without fixed-bugs.txt: summary %q description %q", p.Summary(), p.Description())
	}
	if p.License() != "Proprietary" {
		t.Errorf("license %q", p.License())
	}
}

// TestPayloadSizeTag checks RPMSIGTAG_PAYLOADSIZE against the real uncompressed payload
// (rpmpack v0.7.1 stores the sum of the file sizes instead).
func TestPayloadSizeTag(t *testing.T) {
	res := buildSample(t, sampleDir(t, nil), BuildOptions{})
	f, err := os.Open(res.RPM)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := rpm.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	n := payloadLen(t, f)
	if got := p.ArchiveSize(); got != uint64(n) {
		t.Errorf("payload size tag %d, the payload is %d bytes", got, n)
	}
}

func TestHotfixRPMGolden(t *testing.T) {
	res := buildSample(t, sampleDir(t, nil), BuildOptions{Vendor: "Example Corp", URL: "https://example.com/shop"})
	testutil.Golden(t, "testdata/hotfix-6.14.2.3.golden", []byte(dumpRPM(openRPM(t, res.RPM))))
	res = buildSample(t, sampleDir(t, map[string]string{"version.txt": "6.14.2.1\n", "fixed-bugs.txt": ""}), BuildOptions{Release: 1})
	testutil.Golden(t, "testdata/hotfix-6.14.2.1.golden", []byte(dumpRPM(openRPM(t, res.RPM))))
}

// payloadLen is the uncompressed length of the gzip payload that r is positioned at.
func payloadLen(t *testing.T, r io.Reader) int64 {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNoSetuidInPackages: a setuid or setgid file in the hotfix directory is packed without
// those bits, in the RPM (which rpm would install into PATCHES_DIR as it says) and in the
// tarball alike.
func TestNoSetuidInPackages(t *testing.T) {
	src := sampleDir(t, nil)
	if err := os.Chmod(filepath.Join(src, "FileChanges/bin/shopctl"), 0o755|os.ModeSetuid|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	res := buildSample(t, src, BuildOptions{})
	p := openRPM(t, res.RPM)
	modes := p.Header.GetTag(1030).Int64Slice()
	for i, f := range p.Files() {
		if modes[i]&0o6000 != 0 {
			t.Errorf("RPM: %s has mode %o", f.Name(), modes[i])
		}
	}
	f, err := os.Open(res.Tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Mode&0o6000 != 0 {
			t.Errorf("tarball: %s has mode %o", h.Name, h.Mode)
		}
	}
}

// TestDoPatchVarInScripts: the scriptlets test the variable of their own product.
func TestDoPatchVarInScripts(t *testing.T) {
	p := openRPM(t, buildSample(t, sampleDir(t, nil), BuildOptions{Product: "my-shop", PatchesDir: "/srv/patches"}).RPM)
	if post := p.PostInstallScript(); !strings.Contains(post, `"${MY_SHOP_DO_PATCH:-}" = 0`) ||
		!strings.Contains(post, "apply -config /etc/sysconfig/my-shop-hotfix -scriptlet /srv/patches/my-shop-hotfix-6.14.2.3") {
		t.Errorf("%%post of my-shop:\n%s", post)
	}
}
