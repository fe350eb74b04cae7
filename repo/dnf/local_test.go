package dnf

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// TestOnlyRepoArgs: a package manager limited to one local repository drops YUM_PARAMETER's
// own choice of repositories, repository directory and cache (in every spelling), keeps
// the rest, and gets its own; the root's .repo files are not read for gpgkey redirection.
func TestOnlyRepoArgs(t *testing.T) {
	root := t.TempDir()
	pm := &PackageManager{Cmd: "dnf", Root: root, Params: []string{
		"--disablerepo", "*", "--enablerepo=shop-hotfix", "--releasever=1", "--repo", "x", "--repoid=y",
		"--setopt=reposdir=/etc/yum.repos.d", "--setopt", "cachedir=/var/cache/dnf", "--setopt=keepcache=1", "--setopt", "tsflags=nodocs",
	}}
	pm.OnlyRepo(LocalRepo{ID: "shop-hotfix-bundle", ReposDir: "/p/repos.d", CacheDir: "/p/cache"})
	got, err := pm.args("install", "shop-hotfix-6_14_2_4")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-y", "--installroot", root, "--releasever=1", "--setopt=keepcache=1", "--setopt=tsflags=nodocs",
		"--setopt=reposdir=/p/repos.d", "--setopt=cachedir=/p/cache", "--disablerepo=*", "--enablerepo=shop-hotfix-bundle",
		"--setopt=skip_if_unavailable=False", "install", "shop-hotfix-6_14_2_4"}
	if !slices.Equal(got, want) {
		t.Errorf("args\n got %q\nwant %q", got, want)
	}
}

// TestLocalRepoFile: the .repo file of a bundle checks packages and repomd.xml with the keys
// given.
func TestLocalRepoFile(t *testing.T) {
	b, err := LocalRepoFile("shop-hotfix-bundle", "shop hotfixes", "/tmp/x/b", []string{"/r/etc/pki/rpm-gpg/K"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, w := range []string{"[shop-hotfix-bundle]\n", "baseurl=file:///tmp/x/b\n", "gpgcheck=1\n", "repo_gpgcheck=1\n", "gpgkey=file:///r/etc/pki/rpm-gpg/K\n", "skip_if_unavailable=False\n"} {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q:\n%s", w, got)
		}
	}
}

// TestLocalRepoFileInjection: a bundle file name with a newline (anyone who can drop a file
// chooses it) stays inside name= instead of adding lines; an id or a path that a .repo
// file cannot carry is refused.
func TestLocalRepoFileInjection(t *testing.T) {
	b, err := LocalRepoFile("shop-hotfix-bundle", "shop hotfixes from shop-hotfix-bundle-1-2.tar\nexcludepkgs=*\r\x1b[2J", "/tmp/x/b", []string{"/k"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{"[shop-hotfix-bundle]", "name=shop hotfixes from shop-hotfix-bundle-1-2.tar?excludepkgs=*??[2J", "baseurl=file:///tmp/x/b",
		"enabled=1", "gpgcheck=1", "repo_gpgcheck=1", "gpgkey=file:///k", "skip_if_unavailable=False", "metadata_expire=0"}
	if !slices.Equal(lines, want) {
		t.Errorf("lines\n got %q\nwant %q", lines, want)
	}
	for _, tc := range []struct {
		id, dir string
		keys    []string
		want    string
	}{
		{"a]\n[b", "/d", []string{"/k"}, `repository id "a]\n[b": an id is letters, digits and -_.: only`},
		{"", "/d", []string{"/k"}, `repository id ""`},
		{"x", "/tmp/a\nexcludepkgs=*", []string{"/k"}, `repository directory "/tmp/a\nexcludepkgs=*" holds '\n'`},
		{"x", "/d", []string{"/r/k\ngpgcheck=0"}, `key file "/r/k\ngpgcheck=0" holds '\n'`},
		{"x", "/d", []string{"/my root/k"}, `key file "/my root/k" holds ' '`},
		{"x", "/a,b", []string{"/k"}, `repository directory "/a,b" holds ','`},
	} {
		if b, err := LocalRepoFile(tc.id, "n", tc.dir, tc.keys); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LocalRepoFile(%q, %q, %q) = %q, %v; want an error saying %q", tc.id, tc.dir, tc.keys, b, err, tc.want)
		}
	}
}

// bundleRepo is an unpacked bundle for CheckBundle: the RPMs rpms (written under their
// own names unless files renames them: name -> file), createrepo_c's metadata, signed
// by a new key (written to dir/key.asc), and a manifest that lists listed. A package of
// files is then copied to its own name again, which the metadata does not know.
func bundleRepo(t *testing.T, rpms []pmRPM, files map[string]string, listed []string) (*unpack.Bundle, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop-hotfix-bundle-6.14.2.3-6.14.2.4")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range rpms {
		p.write(t, dir)
		if f, ok := files[p.name]; ok {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(dir, p.name+"-1-"+p.release+".noarch.rpm"), filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := exec.Command("createrepo_c", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	for name, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-1-0.noarch.rpm"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key, err := sign.GenerateKey("Shop Hotfixes", "hotfixes@shop.example", sign.RSA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	repomd, err := os.Open(filepath.Join(dir, "repodata/repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer repomd.Close()
	var asc bytes.Buffer
	if err := key.SignArmored(&asc, repomd); err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKeyArmored()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(filepath.Dir(dir), "key.asc")
	for p, data := range map[string][]byte{filepath.Join(dir, "repodata/repomd.xml.asc"): asc.Bytes(), keyFile: pub} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &unpack.BundleManifest{Product: "shop", Base: "6.14.2", From: "6.14.2.3", To: "6.14.2.4"}
	for _, name := range listed {
		v := strings.ReplaceAll(strings.TrimPrefix(name, "shop-hotfix-"), "_", ".")
		m.Packages = append(m.Packages, unpack.BundlePackage{Version: v, Name: name, EVR: "1-0", File: name + "-1-0.noarch.rpm"})
	}
	return &unpack.Bundle{Dir: dir, Manifest: m}, keyFile
}

// TestCheckBundle: the RPM headers and the signed metadata, as the real rpm and dnf read
// them, must be what the manifest lists: an RPM named 6.14.2.3 that holds 6.14.2.4,
// metadata with a package more, and metadata that places a package outside the bundle's
// top directory are each refused with what is wrong.
func TestCheckBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real dnf and rpm")
	}
	testutil.RequireTool(t, "dnf")
	testutil.RequireTool(t, "rpm")
	testutil.RequireTool(t, "createrepo_c")
	three, four := pmRPM{name: "shop-hotfix-6_14_2_3", release: "0"}, pmRPM{name: "shop-hotfix-6_14_2_4", release: "0"}
	both := []string{"shop-hotfix-6_14_2_3", "shop-hotfix-6_14_2_4"}
	for _, tc := range []struct {
		name   string
		rpms   []pmRPM
		files  map[string]string
		listed []string
		want   string // "" for none
	}{
		{"as listed", []pmRPM{three, four}, nil, both, ""},
		{"6.14.2.4 in the file of 6.14.2.3", []pmRPM{four}, map[string]string{four.name: "shop-hotfix-6_14_2_3-1-0.noarch.rpm"}, both[:1],
			"package file shop-hotfix-6_14_2_3-1-0.noarch.rpm holds shop-hotfix-6_14_2_4 1-0 noarch, but the manifest says shop-hotfix-6_14_2_3 1-0"},
		{"a package more in the metadata", []pmRPM{three, four}, map[string]string{four.name: "sub/shop-hotfix-6_14_2_4-1-0.noarch.rpm"}, both[:1],
			"the bundle's metadata (repodata/) offers shop-hotfix-6_14_2_4 1-0 noarch, which the manifest does not list"},
		{"a package placed elsewhere", []pmRPM{three, four}, map[string]string{four.name: "sub/shop-hotfix-6_14_2_4-1-0.noarch.rpm"}, both,
			"the bundle's metadata (repodata/) places a package at sub/shop-hotfix-6_14_2_4-1-0.noarch.rpm, which is not a package file of the manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, keyFile := bundleRepo(t, tc.rpms, tc.files, tc.listed)
			work := filepath.Join(t.TempDir(), "check")
			err := CheckBundle(context.Background(), b, keyFile, t.TempDir(), work, append(os.Environ(), "LC_ALL=C"))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("CheckBundle: %v\nwant %q", err, tc.want)
			}
		})
	}
}

// TestRootedLeftovers: what dnf makes of the private directory inside the installroot
// goes, with the directories it made on the way; the ones that were there stay.
func TestRootedLeftovers(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	before := testutil.Snapshot(t, root, true, ".")
	private := "/tmp/work/x/hotchain-import-123"
	remove := RootedLeftovers(root, private)
	// What dnf 4.14 leaves.
	cache := filepath.Join(root, private, "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "expired_repos.json"), []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	remove()
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, root, true, ".")); d != "" {
		t.Errorf("the root after the cleanup:\n%s", d)
	}
	// Without a root there is nothing to clean.
	RootedLeftovers("", private)()
	RootedLeftovers("/", private)()
}
