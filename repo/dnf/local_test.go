package dnf

import (
	"slices"
	"strings"
	"testing"
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
