package dnf

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"github.com/hotchain/hotchain/internal/testutil"
)

// The tests of the package-manager client (dnf.go). The first runs the real dnf, rpm and
// createrepo_c against an empty installroot, the way the agent runs them with -root.

// pmRPM is a tiny package for the client tests: no scriptlets, one file.
type pmRPM struct {
	name, release string
	requires      []string
	built         time.Time // zero: 2024-05-01 00:00 UTC
}

func (p pmRPM) write(t *testing.T, dir string) {
	t.Helper()
	var reqs rpmpack.Relations
	for _, r := range p.requires {
		if err := reqs.Set(r); err != nil {
			t.Fatal(err)
		}
	}
	if p.built.IsZero() {
		p.built = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	}
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name: p.name, Version: "1", Release: p.release, Arch: "noarch",
		Summary: p.name, Description: p.name, Licence: "Proprietary",
		BuildTime: p.built, Compressor: "gzip",
		Requires: reqs,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{
		Name: "/var/opt/shop/Patches/" + p.name + "/version.txt", Body: []byte(p.name + "\n"),
		Mode: 0o644, Owner: "root", Group: "root",
	})
	f, err := os.Create(filepath.Join(dir, p.name+"-1-"+p.release+".noarch.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := r.Write(f); err != nil {
		t.Fatal(err)
	}
}

// pmServer serves a repository directory and can play dead.
type pmServer struct {
	*httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	rpms []string // package files requested
}

func newPMServer(t *testing.T, dir string) *pmServer {
	s := &pmServer{}
	files := http.FileServer(http.Dir(dir))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".rpm") {
			s.mu.Lock()
			s.rpms = append(s.rpms, r.URL.Path)
			s.mu.Unlock()
		}
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *pmServer) fetched() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rpms...)
}

func pmNames(pkgs []Package) []string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.Name+" "+p.Arch+" "+p.Version+" "+p.Repo)
	}
	return s
}

func TestPackageManagerAgainstDNF(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real dnf")
	}
	testutil.RequireTool(t, "dnf")
	testutil.RequireTool(t, "rpm")
	testutil.RequireTool(t, "createrepo_c")
	ctx := context.Background()

	repoDir := filepath.Join(t.TempDir(), "6.14.2")
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []pmRPM{
		{name: "shop-hotfix-base", release: "0"},
		{name: "shop-hotfix-6_14_2_1", release: "0"},
		{name: "shop-hotfix-6_14_2_1", release: "1"}, // a rebuild: only the newest counts
		{name: "shop-hotfix-6_14_2_2", release: "0", requires: []string{"shop-hotfix-6_14_2_1"}},
		{name: "shop-hotfix-6_14_2_3", release: "0", requires: []string{"shop-hotfix-6_14_2_2"}, built: time.Date(2024, 5, 3, 12, 34, 56, 0, time.UTC)},
		{name: "other-hotfix-6_14_2_1", release: "0"},
	} {
		p.write(t, repoDir)
	}
	if out, err := exec.Command("createrepo_c", "-q", repoDir).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	srv := newPMServer(t, repoDir)

	root := filepath.Join(t.TempDir(), "host")
	repoFile := "[shop-hotfix]\nname=shop hotfixes\nbaseurl=" + srv.URL + "/\nenabled=1\ngpgcheck=0\n"
	if err := os.MkdirAll(filepath.Join(root, "etc/yum.repos.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/yum.repos.d/shop-hotfix.repo"), []byte(repoFile), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	pm := &PackageManager{
		Cmd: "dnf", Root: root,
		// YUM_PARAMETER as a sandbox sets it; "*" reaches dnf unexpanded, as no shell runs.
		Params: []string{"--disablerepo", "*", "--enablerepo", "shop-hotfix", "--releasever=1"},
		Env:    append(os.Environ(), "LC_ALL=C"),
		Stdout: &stdout, Stderr: &stderr,
	}

	avail, err := pm.Available(ctx, "shop")
	if err != nil {
		t.Fatalf("Available: %v\nstderr: %s", err, stderr.String())
	}
	want := []string{
		"shop-hotfix-6_14_2_1 noarch 1-1 shop-hotfix",
		"shop-hotfix-6_14_2_2 noarch 1-0 shop-hotfix",
		"shop-hotfix-6_14_2_3 noarch 1-0 shop-hotfix",
	}
	if got := pmNames(avail); !reflect.DeepEqual(got, want) {
		t.Fatalf("Available = %q, want %q", got, want)
	}
	if avail[2].Hotfix.String() != "6.14.2.3" {
		t.Errorf("Hotfix of %s = %s", avail[2].Name, avail[2].Hotfix)
	}
	// The build time comes from the same repoquery, to the minute (dnf 4 prints no seconds).
	for i, want := range []time.Time{time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 5, 3, 12, 34, 0, 0, time.UTC)} {
		if p := avail[i*2]; !p.BuildTime.Equal(want) {
			t.Errorf("BuildTime of %s = %s, want %s", p.Name, p.BuildTime, want)
		}
	}

	// Download fills dnf's cache inside the root; the install then needs no repository.
	if err := pm.Download(ctx, "shop-hotfix-6_14_2_2"); err != nil {
		t.Fatalf("Download: %v\nstderr: %s", err, stderr.String())
	}
	cached, _ := filepath.Glob(filepath.Join(root, "var/cache/dnf/*/packages/*.rpm"))
	if len(cached) != 2 {
		t.Errorf("cache after Download holds %q, want the packages of 6.14.2.1 and 6.14.2.2", cached)
	}
	if got, err := pm.Installed(ctx, "shop"); err != nil || len(got) != 0 {
		t.Fatalf("Installed after Download = %v, %v; want nothing", got, err)
	}
	before := len(srv.fetched())
	srv.down.Store(true)
	stdout.Reset()
	if err := pm.Install(ctx, "shop-hotfix-6_14_2_2"); err != nil {
		t.Fatalf("Install with the repository down after Download: %v\nstderr: %s", err, stderr.String())
	}
	if n := len(srv.fetched()); n != before {
		t.Errorf("Install fetched %d packages again: %q", n-before, srv.fetched()[before:])
	}
	if !strings.Contains(stdout.String(), "shop-hotfix-6_14_2_1") {
		t.Errorf("dnf's install output did not reach Stdout:\n%s", stdout.String())
	}
	inst, err := pm.Installed(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	wantInst := []string{"shop-hotfix-6_14_2_1 noarch 1-1 ", "shop-hotfix-6_14_2_2 noarch 1-0 "}
	if got := pmNames(inst); !reflect.DeepEqual(got, wantInst) {
		t.Errorf("Installed = %q, want %q", got, wantInst)
	}
	if _, err := os.Stat(filepath.Join(root, "var/opt/shop/Patches/shop-hotfix-6_14_2_2/version.txt")); err != nil {
		t.Errorf("files of the package are not in the root: %v", err)
	}

	// The check asks the repository every time: down is an error, not "nothing pending".
	_, err = pm.Available(ctx, "shop")
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "dnf repoquery") || !strings.Contains(err.Error(), "shop-hotfix") {
		t.Fatalf("Available with the repository down: %v; want a dnf repoquery error naming the repository", err)
	}
	if !strings.Contains(ce.Hint(), "--installroot "+root) {
		t.Errorf("hint does not show the command line: %s", ce.Hint())
	}
	srv.down.Store(false)
	avail, err = pm.Available(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := pmNames(avail); !reflect.DeepEqual(got, want[2:]) {
		t.Errorf("Available after installing 1 and 2 = %q, want %q", got, want[2:])
	}
	if err := pm.Install(ctx, "shop-hotfix-6_14_2_9"); err == nil {
		t.Error("Install of a package nobody offers worked")
	}
}

func TestPackageManagerArgs(t *testing.T) {
	params := []string{"--disablerepo", "*", "--enablerepo", "shop-hotfix"}
	for _, tc := range []struct {
		root string
		want string
	}{
		{"", "-y --disablerepo * --enablerepo shop-hotfix --setopt=skip_if_unavailable=False install x"},
		{"/", "-y --disablerepo * --enablerepo shop-hotfix --setopt=skip_if_unavailable=False install x"},
		{"/srv/alpha", "-y --installroot /srv/alpha --disablerepo * --enablerepo shop-hotfix --setopt=skip_if_unavailable=False install x"},
	} {
		pm := &PackageManager{Cmd: "dnf", Root: tc.root, Params: params}
		got, err := pm.args("install", "x")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("root %q: %q\nwant %q", tc.root, strings.Join(got, " "), tc.want)
		}
	}
}

func TestParseYumList(t *testing.T) {
	// yum 3 (RHEL 7) wraps a long name.arch onto a line of its own.
	out := `Loaded plugins: fastestmirror
Loading mirror speeds from cached hostfile
Available Packages
shop-hotfix-6_14_2_2.noarch                1-0               shop-hotfix
shop-hotfix-6_14_2_10.noarch
                                           1-2               shop-hotfix
shop-hotfix-base.noarch                    1.0-1             shop-hotfix
other-hotfix-6_14_2_1.noarch               1-0               shop-hotfix
shop-hotfix-6_14_2_3.noarch                0:1-1             @shop-hotfix
`
	got := pmNames(parseYumList("shop", []byte(out)))
	want := []string{
		"shop-hotfix-6_14_2_2 noarch 1-0 shop-hotfix",
		"shop-hotfix-6_14_2_3 noarch 1-1 shop-hotfix",
		"shop-hotfix-6_14_2_10 noarch 1-2 shop-hotfix",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseYumList = %q\nwant %q", got, want)
	}
}

func TestParseTabbed(t *testing.T) {
	out := "shop-hotfix-6_14_2_2\tnoarch\t1-0\tshop-hotfix\n" +
		"Last metadata expiration check: 0:00:01 ago\n" +
		"shop-hotfix-6_14_2_1\tnoarch\t1-3\tshop-hotfix\n" +
		"shop-hotfix-6_14_2_1\tnoarch\t1-10\tshop-hotfix\n" +
		"shop-hotfix-base\tnoarch\t1.0-1\tshop-hotfix\n"
	got := pmNames(parseTabbed("shop", []byte(out), true))
	want := []string{"shop-hotfix-6_14_2_1 noarch 1-10 shop-hotfix", "shop-hotfix-6_14_2_2 noarch 1-0 shop-hotfix"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseTabbed = %q\nwant %q", got, want)
	}
}

func TestPendingOf(t *testing.T) {
	// 1 is installed and rebuilt since (1-1): not pending. 2 is installed as 1-0 and also
	// offered: not pending. 3 and its rebuild are offered: the rebuild is pending.
	out := "shop-hotfix-6_14_2_1\tnoarch\t1-0\t@System\n" +
		"shop-hotfix-6_14_2_1\tnoarch\t1-1\tshop-hotfix\n" +
		"shop-hotfix-6_14_2_3\tnoarch\t1-1\tshop-hotfix\n" +
		"shop-hotfix-6_14_2_2\tnoarch\t1-0\tshop-hotfix\n" +
		"shop-hotfix-6_14_2_2\tnoarch\t1-0\t@System\n" +
		"shop-hotfix-6_14_2_3\tnoarch\t1-0\tshop-hotfix\n" +
		"other-hotfix-6_14_2_4\tnoarch\t1-0\tshop-hotfix\n" +
		"shop-hotfix-6_14_2_4\tnoarch\t1-0\tmirror\n"
	got := pmNames(pendingOf("shop", []byte(out)))
	want := []string{"shop-hotfix-6_14_2_3 noarch 1-1 shop-hotfix", "shop-hotfix-6_14_2_4 noarch 1-0 mirror"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pendingOf = %q\nwant %q", got, want)
	}
	if got := pendingOf("shop", []byte("shop-hotfix-6_14_2_1\tnoarch\t1-0\t@System\n")); len(got) != 0 {
		t.Errorf("pendingOf with only installed packages = %q, want nothing", pmNames(got))
	}
}

func TestParseBuildTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2024-05-03 12:34", time.Date(2024, 5, 3, 12, 34, 0, 0, time.UTC)}, // dnf 4: UTC, minutes
		{"1714739696", time.Unix(1714739696, 0)},                            // rpm, dnf 5: seconds
		{"", time.Time{}},
		{"(none)", time.Time{}},
		{"0", time.Time{}},
		{"-5", time.Time{}},
		{"2024-05-03", time.Time{}},
	} {
		if got := parseBuildTime(tc.in); !got.Equal(tc.want) {
			t.Errorf("parseBuildTime(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	out := "shop-hotfix-6_14_2_1\tnoarch\t1-0\tshop-hotfix\t2024-05-03 12:34\n"
	if got := pendingOf("shop", []byte(out)); len(got) != 1 || !got[0].BuildTime.Equal(time.Date(2024, 5, 3, 12, 34, 0, 0, time.UTC)) {
		t.Errorf("pendingOf(%q) = %+v, want one package built 2024-05-03 12:34 UTC", out, got)
	}
}

func TestDetect(t *testing.T) {
	defer func(f func(string) (string, error)) { lookPath = f }(lookPath)
	for _, tc := range []struct {
		have    string // space-separated commands on PATH
		setting string
		want    string // Cmd, or "error: <substring>"
	}{
		{"dnf yum", "auto", "dnf"},
		{"yum", "auto", "yum"},
		{"dnf", "auto", "dnf"},
		{"", "auto", "error: neither dnf nor yum"},
		{"dnf yum", "yum", "yum"},
		{"dnf", "yum", "error: PACKAGE_MANAGER=yum, but yum is not installed"},
		{"dnf", "apt", `error: PACKAGE_MANAGER="apt"`},
	} {
		have := strings.Fields(tc.have)
		lookPath = func(name string) (string, error) {
			for _, h := range have {
				if h == name {
					return "/usr/bin/" + name, nil
				}
			}
			return "", exec.ErrNotFound
		}
		pm, err := Detect("/srv/h", tc.setting)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			got = pm.Cmd
			if pm.Root != "/srv/h" {
				t.Errorf("Detect lost the root: %q", pm.Root)
			}
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("have %q, %s: got %q, want %q", tc.have, tc.setting, got, tc.want)
		}
	}
}

func TestCommandErrorMessage(t *testing.T) {
	pm := &PackageManager{Cmd: "sh", Params: nil}
	err := pm.run(context.Background(), nil, "sh", "-c", "echo noise >&2; echo 'Error: no such repo' >&2; exit 3")
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("run: %v, want a *CommandError", err)
	}
	if got := err.Error(); got != "sh: exit status 3: noise; Error: no such repo" {
		t.Errorf("Error() = %q", got)
	}
	if !strings.Contains(ce.Hint(), `sh -c 'echo noise >&2;`) {
		t.Errorf("Hint() = %q", ce.Hint())
	}
}

func TestRootedKeys(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/yum.repos.d"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/yum.repos.d/shop-hotfix.repo"), []byte(
		"[shop-hotfix]\nbaseurl=http://x/6.14.2/\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix\n"+
			"[other]\ngpgkey = https://example.com/key, file:///etc/pki/other\n[nokey]\nbaseurl=http://y/\n"), 0o644)
	got := rootedKeys(root)
	want := []string{
		"--setopt=shop-hotfix.gpgkey=file://" + root + "/etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix",
		"--setopt=other.gpgkey=https://example.com/key,file://" + root + "/etc/pki/other",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rootedKeys =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := rootedKeys(t.TempDir()); len(got) != 0 {
		t.Errorf("no repos: %v", got)
	}
}

// TestRunOneWriterForBoth: a cron run gives dnf one writer, its report, for standard output
// and standard error; a command that writes to both at once must not write into it from two
// goroutines at the same time (go test -race sees it), and nothing of either is lost.
func TestRunOneWriterForBoth(t *testing.T) {
	var report bytes.Buffer
	pm := &PackageManager{Stderr: &report}
	script := `i=0; while [ $i -lt 200 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done`
	if err := pm.run(context.Background(), &report, "sh", "-c", script); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"out0\n", "err0\n", "out199\n", "err199\n"} {
		if !strings.Contains(report.String(), w) {
			t.Errorf("report lacks %q", w)
		}
	}
	if n := strings.Count(report.String(), "\n"); n != 400 {
		t.Errorf("report has %d lines, want 400", n)
	}
}
