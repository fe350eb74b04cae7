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
	got := string(LocalRepoFile("shop-hotfix-bundle", "shop hotfixes", "/tmp/x/b", []string{"/r/etc/pki/rpm-gpg/K"}))
	for _, w := range []string{"[shop-hotfix-bundle]\n", "baseurl=file:///tmp/x/b\n", "gpgcheck=1\n", "repo_gpgcheck=1\n", "gpgkey=file:///r/etc/pki/rpm-gpg/K\n", "skip_if_unavailable=False\n"} {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q:\n%s", w, got)
		}
	}
}
