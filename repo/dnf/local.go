package dnf

import (
	"fmt"
	"strings"
)

// A package manager that sees one local repository only: `hotchain import` installs a
// bundle's hotfixes from the directory it was unpacked into, whatever repositories the host
// has (none, on a host without network). Every dnf/yum call then gets, after YUM_PARAMETER
// less its own choice of repositories:
//
//	--setopt=reposdir=DIR --setopt=cachedir=CACHE --disablerepo=* --enablerepo=ID
//
// DIR is a private directory holding one .repo file (LocalRepoFile), CACHE a private cache
// that goes with it, so that neither the host's repositories nor its dnf cache are read or
// changed; the gpgkey redirection for the root's own .repo files (rootedKeys) is left out.

// LocalRepo is the one repository a PackageManager sees (OnlyRepo).
type LocalRepo struct {
	ID       string // the repository id in the .repo file
	ReposDir string // the directory that holds the .repo file
	CacheDir string // dnf's cache for it
}

// OnlyRepo makes every dnf or yum call of pm see the repository r and no other.
func (pm *PackageManager) OnlyRepo(r LocalRepo) { pm.only = &r }

// onlyRepoArgs is Params without the words that choose repositories, then r's options.
func (r *LocalRepo) args(params []string) []string {
	var out []string
	for i := 0; i < len(params); i++ {
		p := params[i]
		name, _, withValue := strings.Cut(p, "=")
		switch name {
		case "--disablerepo", "--enablerepo", "--repo", "--repoid":
			if !withValue {
				i++ // the value is the next word
			}
			continue
		case "--setopt":
			if !withValue && i+1 < len(params) {
				i++
				p = params[i]
			} else {
				_, p, _ = strings.Cut(p, "=")
			}
			if k, _, _ := strings.Cut(p, "="); k == "reposdir" || k == "cachedir" {
				continue
			}
			out = append(out, "--setopt="+p)
			continue
		}
		out = append(out, p)
	}
	return append(out, "--setopt=reposdir="+r.ReposDir, "--setopt=cachedir="+r.CacheDir,
		"--disablerepo=*", "--enablerepo="+r.ID)
}

// LocalRepoFile is the .repo file of a local repository at dir (an absolute path), checked
// as the vendor's repository is: package signatures and repomd.xml's, with the key files
// gpgkeys (absolute paths as dnf reads them).
func LocalRepoFile(id, name, dir string, gpgkeys []string) []byte {
	var keys []string
	for _, k := range gpgkeys {
		keys = append(keys, "file://"+k)
	}
	return fmt.Appendf(nil, "[%s]\nname=%s\nbaseurl=file://%s\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=%s\nskip_if_unavailable=False\nmetadata_expire=0\n",
		id, name, dir, strings.Join(keys, " "))
}
