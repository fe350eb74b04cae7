package packaging

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"

	"github.com/cavaliergopher/rpm"
	"github.com/google/rpmpack"
	"github.com/hotchain/hotchain/sysconfig"

	"github.com/hotchain/hotchain/internal/sign"
)

const testRepoFile = "[shop-hotfix]\nname=shop hotfixes for 6.14.2\nbaseurl=https://updates.example.com/shop/6.14.2/\n"

func buildBase(t *testing.T, o BaseOptions) *BaseResult {
	t.Helper()
	if o.Product == "" {
		o.Product = "shop"
	}
	if o.BaseVersion == "" {
		o.BaseVersion = "6.14.2"
	}
	if o.RepoFile == nil {
		o.RepoFile = []byte(testRepoFile)
	}
	if o.Binary == "" {
		o.Binary = fakeELF(t, 62, false)
	}
	if o.Time.IsZero() {
		o.Time = sde
	}
	if o.OutDir == "" {
		o.OutDir = t.TempDir()
	}
	res, err := BuildBase(o)
	if err != nil {
		t.Fatalf("build base: %v", err)
	}
	return res
}

func TestBaseRPMFiles(t *testing.T) {
	bin := fakeELF(t, 62, false)
	res := buildBase(t, BaseOptions{Binary: bin, Signer: testSigner(t, sign.Ed25519)})
	if filepath.Base(res.RPM) != "shop-hotfix-base-1-0.x86_64.rpm" || res.Arch != "x86_64" {
		t.Errorf("base RPM %s arch %s", filepath.Base(res.RPM), res.Arch)
	}
	p := openRPM(t, res.RPM)
	if p.Name() != "shop-hotfix-base" || p.Version() != "1" || p.Release() != "0" || p.Architecture() != "x86_64" {
		t.Errorf("NVRA %s-%s-%s.%s", p.Name(), p.Version(), p.Release(), p.Architecture())
	}
	type want struct {
		mode  uint16
		flags int64
	}
	config := int64(rpmpack.ConfigFile | rpmpack.NoReplaceFile)
	wants := map[string]want{
		"/usr/sbin/hotchain":                                  {0o100755, 0},
		"/etc/sysconfig/shop-hotfix":                          {0o100644, config},
		"/etc/cron.daily/shop-hotfix":                         {0o100755, 0},
		"/etc/init.d/shop-hotfix":                             {0o100755, 0},
		"/usr/lib/systemd/system/shop-hotfix.service":         {0o100644, 0},
		"/usr/lib/systemd/system/shop-hotfix.timer":           {0o100644, 0},
		"/usr/lib/systemd/system/shop-hotfix-recover.service": {0o100644, 0},
		"/etc/yum.repos.d/shop-hotfix.repo":                   {0o100644, config},
		"/etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix":            {0o100644, 0},
	}
	modes := p.Header.GetTag(1030).Int64Slice()
	files := map[string]rpm.FileInfo{}
	for i, f := range p.Files() {
		files[f.Name()] = f
		w, ok := wants[f.Name()]
		if !ok {
			t.Errorf("unexpected file %s", f.Name())
			continue
		}
		if uint16(modes[i]) != w.mode || f.Flags() != w.flags {
			t.Errorf("%s mode %o flags %d, want %o flags %d", f.Name(), uint16(modes[i]), f.Flags(), w.mode, w.flags)
		}
		if f.Owner() != "root" || f.Group() != "root" || !f.ModTime().Equal(sde) {
			t.Errorf("%s %s:%s %v", f.Name(), f.Owner(), f.Group(), f.ModTime())
		}
	}
	if len(files) != len(wants) {
		t.Errorf("%d files, want %d", len(files), len(wants))
	}
	binData, _ := os.ReadFile(bin)
	if f := files["/usr/sbin/hotchain"]; f.Size() != int64(len(binData)) {
		t.Errorf("binary is %d bytes in the package, %d on disk", f.Size(), len(binData))
	}
	if f := files["/etc/yum.repos.d/shop-hotfix.repo"]; f.Size() != int64(len(testRepoFile)) {
		t.Errorf(".repo file is %d bytes, want %d", f.Size(), len(testRepoFile))
	}
	pub, _ := testSigner(t, sign.Ed25519).PublicKeyArmored()
	if f := files["/etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix"]; f.Size() != int64(len(pub)) {
		t.Errorf("key file is %d bytes, the public key %d", f.Size(), len(pub))
	}
	wantPost := `# Enable nightly hotfix runs and the recovery at boot on first install; an upgrade keeps
# the current choice.
if [ "$1" = 1 ]; then
    /usr/sbin/hotchain service start -config /etc/sysconfig/shop-hotfix || :
    if command -v systemctl >/dev/null 2>&1; then
        systemctl enable shop-hotfix-recover.service >/dev/null 2>&1 || :
    fi
fi
`
	if p.PostInstallScript() != wantPost {
		t.Errorf("%%post:\n%s\nwant:\n%s", p.PostInstallScript(), wantPost)
	}
	if !strings.Contains(p.PreUninstallScript(), `if [ "$1" = 0 ]; then
    /usr/sbin/hotchain service stop -config /etc/sysconfig/shop-hotfix || :`) {
		t.Errorf("%%preun:\n%s", p.PreUninstallScript())
	}
	if p.PreInstallScript() != "" {
		t.Errorf("unexpected %%pre %q", p.PreInstallScript())
	}
}

func TestBaseRPMWithoutKey(t *testing.T) {
	p := openRPM(t, buildBase(t, BaseOptions{Version: "2.1", Release: "3"}).RPM)
	for _, f := range p.Files() {
		if strings.HasPrefix(f.Name(), "/etc/pki/") {
			t.Errorf("unsigned base package holds %s", f.Name())
		}
	}
	if p.Version() != "2.1" || p.Release() != "3" {
		t.Errorf("version %s release %s", p.Version(), p.Release())
	}
}

func TestBaseRPMScriptsText(t *testing.T) {
	if got, want := cronScript("shop"), "#!/bin/sh\nexec /usr/sbin/hotchain agent -config /etc/sysconfig/shop-hotfix \"$@\"\n"; got != want {
		t.Errorf("cron script %q, want %q", got, want)
	}
	init := initScript("shop")
	for _, want := range []string{"#!/bin/sh\n", "# chkconfig: 345 11 01", "stop|status)\n    exec /usr/sbin/hotchain service \"$1\" -config /etc/sysconfig/shop-hotfix"} {
		if !strings.Contains(init, want) {
			t.Errorf("init script lacks %q:\n%s", want, init)
		}
	}
	if s := systemdService("shop"); !strings.Contains(s, "ExecStart=/usr/sbin/hotchain agent -config /etc/sysconfig/shop-hotfix\n") || !strings.Contains(s, "Type=oneshot") {
		t.Errorf("service unit:\n%s", s)
	}
	if s := systemdTimer("shop"); !strings.Contains(s, "OnCalendar=daily\n") || !strings.Contains(s, "WantedBy=timers.target") {
		t.Errorf("timer unit:\n%s", s)
	}
}

func TestBaseRPMArch(t *testing.T) {
	res := buildBase(t, BaseOptions{Binary: fakeELF(t, 183, false)})
	if filepath.Base(res.RPM) != "shop-hotfix-base-1-0.aarch64.rpm" || openRPM(t, res.RPM).Architecture() != "aarch64" {
		t.Errorf("arm64 binary gives %s", filepath.Base(res.RPM))
	}
}

func TestBaseRPMRefusesBadBinary(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	for _, tc := range []struct {
		name, binary, want string
	}{
		{"dynamic", fakeELF(t, 62, true), "dynamically linked"},
		{"not ELF", notELF, "not a Linux executable"},
		{"other machine", fakeELF(t, 40, false), "x86_64 (GOARCH=amd64) or aarch64"},
		{"missing", filepath.Join(t.TempDir(), "none"), "not a Linux executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			_, err := BuildBase(BaseOptions{Product: "shop", BaseVersion: "6.14.2", RepoFile: []byte(testRepoFile), Binary: tc.binary, OutDir: out})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("wrote %v", entries)
			}
		})
	}
}

func TestBaseRPMRefusesBadOptions(t *testing.T) {
	bin := fakeELF(t, 62, false)
	for _, tc := range []struct {
		name string
		o    BaseOptions
		want string
	}{
		{"bad base version", BaseOptions{BaseVersion: "6"}, "base version"},
		{"version with a dash", BaseOptions{Version: "1-2"}, `version "1-2"`},
		{"release with a blank", BaseOptions{Release: "1 2"}, `release "1 2"`},
		{"product with a capital", BaseOptions{Product: "Shop"}, `product "Shop"`},
		{"no repo file", BaseOptions{RepoFile: []byte{}}, "no .repo file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Binary, o.OutDir = bin, t.TempDir()
			if o.Product == "" {
				o.Product = "shop"
			}
			if o.BaseVersion == "" {
				o.BaseVersion = "6.14.2"
			}
			if o.RepoFile == nil {
				o.RepoFile = []byte(testRepoFile)
			}
			if _, err := BuildBase(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	for _, u := range []string{"https://updates.example.com/shop", "file:///srv/repo", "http://10.0.0.1:8080/r"} {
		if err := CheckRepoURL(u); err != nil {
			t.Errorf("CheckRepoURL(%q): %v", u, err)
		}
	}
	for _, u := range []string{"updates.example.com/shop", "gopher://x/", "https:///nohost", ""} {
		if err := CheckRepoURL(u); err == nil {
			t.Errorf("CheckRepoURL(%q) accepted", u)
		}
	}
}

func TestBaseRPMGolden(t *testing.T) {
	settings := map[string]string{"PRODUCT_ROOT": "/opt/shop"}
	p := openRPM(t, buildBase(t, BaseOptions{Settings: settings}).RPM)
	// The settings file is package sysconfig's template, with the overrides given.
	sum := sha256.Sum256(sysconfig.Template("shop", settings))
	for _, f := range p.Files() {
		if f.Name() == "/etc/sysconfig/shop-hotfix" && f.Digest() != hex.EncodeToString(sum[:]) {
			t.Errorf("settings file digest %s, want sysconfig.Template's %x", f.Digest(), sum)
		}
	}
	testutil.Golden(t, "testdata/base.golden", []byte(dumpRPM(p, "/etc/sysconfig/shop-hotfix")))
}

// TestBaseRPMWithRPM lists and checks the base package with the real rpm, and its signature
// for each kind of key.
func TestBaseRPMWithRPM(t *testing.T) {
	testutil.RequireTool(t, "rpm")
	s := testSigner(t, sign.RSA)
	res := buildBase(t, BaseOptions{Signer: s})
	db := rpmdb(t, s)
	out, stderr := run(t, "rpm", "--dbpath", db, "-qlp", res.RPM)
	if stderr != "" {
		t.Errorf("rpm -qlp warns: %s", stderr)
	}
	got := strings.Fields(out)
	want := []string{
		"/etc/cron.daily/shop-hotfix", "/etc/init.d/shop-hotfix", "/etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix",
		"/etc/sysconfig/shop-hotfix", "/etc/yum.repos.d/shop-hotfix.repo", "/usr/lib/systemd/system/shop-hotfix-recover.service",
		"/usr/lib/systemd/system/shop-hotfix.service",
		"/usr/lib/systemd/system/shop-hotfix.timer", "/usr/sbin/hotchain",
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rpm -qlp:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	cfg, _ := run(t, "rpm", "--dbpath", db, "-qcp", res.RPM)
	if cfg != "/etc/sysconfig/shop-hotfix\n/etc/yum.repos.d/shop-hotfix.repo\n" {
		t.Errorf("rpm -qcp (config files):\n%s", cfg)
	}
	// Signed with either kind of key, rpm (rpm-sequoia from 4.19 on) accepts the package.
	for _, algo := range []sign.KeyAlgorithm{sign.RSA, sign.Ed25519} {
		s := testSigner(t, algo)
		res := buildBase(t, BaseOptions{Signer: s})
		k, _ := run(t, "rpm", "--dbpath", rpmdb(t, s), "-Kv", res.RPM)
		if !strings.Contains(k, "key ID "+s.KeyID()[8:]+": OK") || strings.Contains(k, "NOT OK") || strings.Contains(k, "NOKEY") {
			t.Errorf("%s key: rpm -Kv: %s", algo, k)
		}
	}
	flags, _ := run(t, "rpm", "--dbpath", db, "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", res.RPM)
	if !strings.Contains(flags, "/etc/sysconfig/shop-hotfix cn\n") || !strings.Contains(flags, "/etc/yum.repos.d/shop-hotfix.repo cn\n") {
		t.Errorf("%%config(noreplace) flags:\n%s", flags)
	}
}
