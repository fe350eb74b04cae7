package dnf

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/hotchain/hotchain/packaging/unpack"
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

// RootedLeftovers returns what removes, after the last dnf call with --installroot root
// and a LocalRepo under the private directory private, what dnf made of private inside
// root: dnf prefixes the installroot to cachedir (4.14 keeps its cache at the path given
// but writes expired_repos.json under root+cachedir), which left root/<TMPDIR>/
// hotchain-import-*/cache behind. Call it before the first dnf call: the directories on
// the way to root+private that exist then are kept. Without a root it does nothing.
func RootedLeftovers(root, private string) (remove func()) {
	nothing := func() {}
	if root == "" || root == "/" {
		return nothing
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nothing
	}
	target := filepath.Join(root, private)
	keep := target
	var kept os.FileInfo
	for {
		if kept, err = os.Lstat(keep); err == nil {
			break
		}
		keep = filepath.Dir(keep)
	}
	if keep == target || (keep != root && !strings.HasPrefix(keep, root+"/")) {
		return nothing // there before dnf ran, or no root at all
	}
	return func() {
		os.RemoveAll(target)
		for d := filepath.Dir(target); d != keep && strings.HasPrefix(d, keep+"/"); d = filepath.Dir(d) {
			if os.Remove(d) != nil { // not empty: something else is in it
				return
			}
		}
		os.Chtimes(keep, time.Time{}, kept.ModTime()) // as it was
	}
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

// CheckBundle compares what the unpacked bundle b holds with what its manifest says, before
// anything is changed: the manifest is what the import checks the chain against, but rpm
// and dnf install what the RPM headers and the signed metadata say. Each RPM's header
// (rpm -qp, with the rpm database in dbDir into which CheckSignatures imported the keys)
// must carry the name and version-release the manifest gives it, and its file must be
// named after them and its arch; and the repository's metadata, as dnf reads it
// (repoquery --available of the bundle as the only repository, with the key file keyFile),
// must offer exactly the manifest's packages, each at its own file in the bundle. work is
// a private directory (created) that takes dnf's repository file, cache, logs and an
// empty installroot, so that neither the host nor its -root is read or written. With yum
// alone (no dnf) the metadata is left to yum's own checks at the install.
func CheckBundle(ctx context.Context, b *unpack.Bundle, keyFile, dbDir, work string, env []string) error {
	pm := &PackageManager{Env: env}
	if err := pm.checkHeaders(ctx, b, dbDir); err != nil {
		return err
	}
	if _, err := lookPath("dnf"); err != nil {
		return nil
	}
	return pm.checkOffered(ctx, b, keyFile, work)
}

// headerFormat prints what a package is: name, epoch (0 for none), version-release, arch.
const headerFormat = `%{NAME}\t%{EPOCHNUM}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n`

// evr is [epoch:]version-release, as a bundle's manifest writes it (no epoch 0).
func evr(epoch, vr string) string {
	if epoch == "0" || epoch == "" {
		return vr
	}
	return epoch + ":" + vr
}

// checkHeaders compares each RPM's header with its manifest entry (CheckBundle).
func (pm *PackageManager) checkHeaders(ctx context.Context, b *unpack.Bundle, dbDir string) error {
	rpm := pm.RPM
	if rpm == "" {
		rpm = "rpm"
	}
	args := []string{"--dbpath", dbDir, "-qp", "--qf", headerFormat}
	for _, p := range b.Manifest.Packages {
		args = append(args, filepath.Join(b.Dir, p.File))
	}
	var out bytes.Buffer
	if err := pm.run(ctx, &out, rpm, args...); err != nil {
		return fmt.Errorf("read the packages' headers: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(b.Manifest.Packages) {
		return fmt.Errorf("rpm -qp printed %d headers for %d packages", len(lines), len(b.Manifest.Packages))
	}
	for i, p := range b.Manifest.Packages {
		f := strings.Split(lines[i], "\t")
		if len(f) != 4 {
			return fmt.Errorf("package file %s: rpm -qp printed %q", p.File, lines[i])
		}
		name, vr, arch := f[0], evr(f[1], f[2]), f[3]
		if name != p.Name || vr != p.EVR || name+"-"+vr+"."+arch+".rpm" != p.File {
			return fmt.Errorf("package file %s holds %s %s %s, but the manifest says %s %s: the bundle does not hold what its manifest says",
				p.File, name, vr, arch, p.Name, p.EVR)
		}
	}
	return nil
}

// checkOffered compares what dnf reads in the bundle's metadata with its manifest
// (CheckBundle).
func (pm *PackageManager) checkOffered(ctx context.Context, b *unpack.Bundle, keyFile, work string) error {
	lr := LocalRepo{ID: "hotchain-bundle-check", ReposDir: filepath.Join(work, "repos.d"), CacheDir: filepath.Join(work, "cache")}
	root := filepath.Join(work, "root")
	for _, d := range []string{lr.ReposDir, root} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	repoFile, err := LocalRepoFile(lr.ID, "bundle check", b.Dir, []string{keyFile})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(lr.ReposDir, lr.ID+".repo"), repoFile, 0o644); err != nil {
		return err
	}
	q := &PackageManager{Cmd: "dnf", Root: root, Env: pm.Env, Stderr: pm.Stderr,
		// No plugins: a subscription or versionlock plugin would change what is offered or
		// reach the network. No $releasever in the .repo file, but dnf wants one in an
		// empty installroot.
		Params: []string{"--noplugins", "--releasever=1"}}
	q.OnlyRepo(lr)
	// Two queries: dnf 4.23 has no query tag for the location, only --location.
	query := func(what ...string) ([]string, error) {
		args, err := q.args(append([]string{"-q", "repoquery", "--available"}, what...)...)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		if err := q.run(ctx, &out, q.cmd(), args...); err != nil {
			return nil, fmt.Errorf("list the packages of the bundle's metadata: %w", err)
		}
		var lines []string
		for _, l := range strings.Split(out.String(), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		return lines, nil
	}
	pkgs, err := query("--qf", `%{name}\t%{epoch}\t%{version}-%{release}\t%{arch}`)
	if err != nil {
		return err
	}
	locations, err := query("--location")
	if err != nil {
		return err
	}
	wantPkgs, wantFiles := map[string]bool{}, map[string]bool{}
	for _, p := range b.Manifest.Packages {
		arch := strings.TrimSuffix(strings.TrimPrefix(p.File, p.Name+"-"+p.EVR+"."), ".rpm")
		wantPkgs[p.Name+" "+p.EVR+" "+arch] = true
		wantFiles[p.File] = true
	}
	var extra []string
	for _, line := range pkgs {
		f := strings.Split(line, "\t")
		if len(f) == 4 {
			line = f[0] + " " + evr(f[1], f[2]) + " " + f[3]
		}
		if !wantPkgs[line] {
			extra = append(extra, line)
		}
		delete(wantPkgs, line)
	}
	if len(extra) > 0 {
		return fmt.Errorf("the bundle's metadata (repodata/) offers %s, which the manifest does not list: the bundle does not hold what its manifest says", strings.Join(extra, ", "))
	}
	if len(wantPkgs) > 0 {
		return fmt.Errorf("the bundle's metadata (repodata/) does not offer %s, which the manifest lists: the bundle does not hold what its manifest says",
			strings.Join(slices.Sorted(maps.Keys(wantPkgs)), ", "))
	}
	// Each package at a file of the bundle's top directory that the manifest lists.
	for _, l := range locations {
		rel, ok := strings.CutPrefix(l, "file://"+b.Dir+"/")
		if !ok || !wantFiles[rel] {
			return fmt.Errorf("the bundle's metadata (repodata/) places a package at %s, which is not a package file of the manifest: the bundle does not hold what its manifest says", strings.TrimPrefix(l, "file://"+b.Dir+"/"))
		}
		delete(wantFiles, rel)
	}
	if len(wantFiles) > 0 {
		return fmt.Errorf("the bundle's metadata (repodata/) places no package at %s, which the manifest lists: the bundle does not hold what its manifest says",
			strings.Join(slices.Sorted(maps.Keys(wantFiles)), ", "))
	}
	return nil
}
