package dnf

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode"
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
// gpgkeys (absolute paths as dnf reads them). A .repo file is lines of key=value: name (it
// may hold the bundle's file name, which anyone who can drop a file chooses) has every
// control character replaced by '?', so that no newline in it adds a line (excludepkgs=,
// gpgcheck=0); an id other than letters, digits and -_.: and a path that holds a control
// character, a space or a comma (the separators of dnf's lists) are refused.
func LocalRepoFile(id, name, dir string, gpgkeys []string) ([]byte, error) {
	if id == "" || strings.IndexFunc(id, func(r rune) bool { return !strings.ContainsRune(repoIDChars, r) }) >= 0 {
		return nil, fmt.Errorf("repository id %q: an id is letters, digits and -_.: only", id)
	}
	var keys []string
	for what, paths := range map[string][]string{"repository directory": {dir}, "key file": gpgkeys} {
		for _, p := range paths {
			if i := strings.IndexFunc(p, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == ',' }); i >= 0 {
				return nil, fmt.Errorf("%s %q holds %q, which a .repo file cannot carry in a path: use a path without control characters, spaces and commas (TMPDIR, -root)", what, p, []rune(p[i:])[0])
			}
		}
	}
	for _, k := range gpgkeys {
		keys = append(keys, "file://"+k)
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, name)
	return fmt.Appendf(nil, "[%s]\nname=%s\nbaseurl=file://%s\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=%s\nskip_if_unavailable=False\nmetadata_expire=0\n",
		id, name, dir, strings.Join(keys, " ")), nil
}

// repoIDChars are the characters of a repository id (dnf's own rule).
const repoIDChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"

// CheckSignatures checks the RPM files pkgs with rpm itself (rpm -K) against the OpenPGP
// keys in keyFiles and no other: they are imported into a new rpm database in dbDir, a
// private empty directory of the caller's, so that the host's database is neither read nor
// changed. Every package must be intact and carry a signature by one of those keys; an
// unsigned, damaged or otherwise signed one is an error that names it with rpm's verdict.
func (pm *PackageManager) CheckSignatures(ctx context.Context, dbDir string, keyFiles, pkgs []string) error {
	rpm := pm.RPM
	if rpm == "" {
		rpm = "rpm"
	}
	for _, k := range keyFiles {
		if err := pm.run(ctx, nil, rpm, "--dbpath", dbDir, "--import", k); err != nil {
			return fmt.Errorf("read key %s: %w", k, err)
		}
	}
	var out bytes.Buffer
	runErr := pm.run(ctx, &out, rpm, append([]string{"--dbpath", dbDir, "-K"}, pkgs...)...)
	verdicts := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if name, verdict, ok := strings.Cut(line, ": "); ok {
			verdicts[name] = strings.TrimSpace(verdict)
		}
	}
	for _, p := range pkgs {
		v, ok := verdicts[p]
		switch {
		case !ok:
			return fmt.Errorf("package %s: rpm -K says nothing of it (%v)", p, runErr)
		case !strings.Contains(v, "signatures OK"):
			return fmt.Errorf("package %s: rpm -K with these keys alone says %q", p, v)
		}
	}
	return runErr
}
