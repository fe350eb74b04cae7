package packaging

import (
	"debug/elf"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/rpmpack"
	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/internal/repoconf"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/sysconfig"
)

// BaseOptions say how to build the base RPM.
type BaseOptions struct {
	Product     string
	BaseVersion string // the base version whose repository the .repo file names: 6.14.2
	// RepoFile is /etc/yum.repos.d/shop-hotfix.repo, as repo.RepoFile renders it (the
	// caller renders it: packaging and repo stand beside each other).
	RepoFile []byte
	// Signer signs the package, and its public key is installed as
	// /etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix; nil builds an unsigned package without key.
	Signer *sign.Signer
	// Keys, when set, is the key file to install instead of Signer's public key
	// (sign.ShippedKeys): the old and the new key during a key rotation's overlap.
	Keys []byte
	// TarballKey, when set, has its public half installed where TARBALL_KEY points (by
	// default /etc/pki/shop-hotfix/tarball-key.pem), so hosts can check hotfix tarballs.
	TarballKey *sign.TarballKey
	// Binary is the hotchain executable to install as /usr/sbin/hotchain. It must be
	// statically linked (CGO_ENABLED=0): hosts differ in their C libraries.
	Binary   string
	Version  string            // package version; default "1"
	Release  string            // package release; default "0"
	Settings map[string]string // values written into the settings template
	// Time is every file's mtime, the build time and the signature time (SOURCE_DATE_EPOCH);
	// zero means the binary's mtime.
	Time                 time.Time
	License, Vendor, URL string // License defaults to "Proprietary"
	OutDir               string
}

// BaseResult names what BuildBase wrote.
type BaseResult struct {
	RPM  string // OutDir/shop-hotfix-base-1-0.x86_64.rpm
	Arch string // x86_64 or aarch64, from the binary
}

// KeyPath is where the base RPM installs the vendor's public key:
// /etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix (the same path as repo.KeyPath, which the .repo
// file's gpgkey= names; a test keeps them equal).
func KeyPath(product string) string { return repoconf.KeyPath(product) }

// repoFilePath is where the base RPM installs the .repo file (repo.RepoFileName).
func repoFilePath(product string) string { return "/etc/yum.repos.d/" + product + "-hotfix.repo" }

// CheckRepoURL says whether u can be a repository root in a .repo file.
func CheckRepoURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https" && p.Scheme != "ftp" && p.Scheme != "file") || (p.Host == "" && p.Scheme != "file") {
		return fmt.Errorf("repository URL %q: want an http, https, ftp or file URL, like https://updates.example.com/shop", u)
	}
	return nil
}

// rpmVersionOK reports whether v may be an RPM version or release: letters, digits and
// . _ + ~ ^ (rpm takes '-' as the separator of the two).
func rpmVersionOK(v string) bool {
	return v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._+~^", r))
	}) < 0
}

// BuildBase builds the base RPM of a product: the hotchain binary, the settings file, the
// nightly job (cron.daily, or the systemd timer instead), the init script of the service
// switch, the boot unit that recovers interrupted applies, the .repo file of the base
// version and the vendor's public key.
func BuildBase(o BaseOptions) (*BaseResult, error) {
	if err := checkProduct(o.Product); err != nil {
		return nil, err
	}
	if _, err := hotfix.ParseVersion(o.BaseVersion); err != nil {
		return nil, fmt.Errorf("base version: %w", err)
	}
	if len(o.RepoFile) == 0 {
		return nil, errors.New("no .repo file given for the base package")
	}
	if o.Version == "" {
		o.Version = "1"
	}
	if o.Release == "" {
		o.Release = "0"
	}
	for what, v := range map[string]string{"version": o.Version, "release": o.Release} {
		if !rpmVersionOK(v) {
			return nil, fmt.Errorf("base package %s %q: use letters, digits and . _ + ~ ^ (no '-')", what, v)
		}
	}
	if o.License == "" {
		o.License = "Proprietary"
	}
	if o.OutDir == "" {
		return nil, errors.New("no output directory: say where the package goes with -out DIR")
	}
	bin, arch, mtime, err := readBinary(o.Binary)
	if err != nil {
		return nil, err
	}
	when := o.Time
	if when.IsZero() {
		when = mtime
	}
	when = wholeSeconds(when)
	if err := checkSigner(o.Signer, when); err != nil {
		return nil, err
	}
	spec, err := baseSpec(&o, bin, arch, when)
	if err != nil {
		return nil, err
	}
	res := &BaseResult{
		RPM:  filepath.Join(o.OutDir, fmt.Sprintf("%s-%s-%s.%s.rpm", spec.name, o.Version, o.Release, arch)),
		Arch: arch,
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	tmp, err := spec.build(o.OutDir)
	if err != nil {
		return nil, err
	}
	if err := publishOutputs(o.OutDir, []output{{res.RPM, tmp}}); err != nil {
		return nil, err
	}
	return res, nil
}

// readBinary reads the hotchain executable and names its RPM architecture. A dynamically
// linked binary is refused: it would depend on the build machine's C library.
func readBinary(p string) (data []byte, arch string, mtime time.Time, err error) {
	if p == "" {
		return nil, "", time.Time{}, errors.New("no hotchain binary given: pass -binary PATH (built with CGO_ENABLED=0)")
	}
	f, err := elf.Open(p)
	if err != nil {
		return nil, "", time.Time{}, hint.With(
			fmt.Errorf("binary %s is not a Linux executable: %w", p, err),
			"build it with CGO_ENABLED=0 GOOS=linux GOARCH=amd64 (or arm64) go build ./cmd/hotchain and pass it with -binary",
		)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		arch = "x86_64"
	case elf.EM_AARCH64:
		arch = "aarch64"
	default:
		return nil, "", time.Time{}, fmt.Errorf("binary %s is for %s: the base RPM is built for x86_64 (GOARCH=amd64) or aarch64 (GOARCH=arm64)", p, f.Machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return nil, "", time.Time{}, hint.With(
				fmt.Errorf("binary %s is dynamically linked: hosts may lack its C library", p),
				"build it with CGO_ENABLED=0 go build ./cmd/hotchain and pass it with -binary",
			)
		}
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("binary: %w", err)
	}
	if data, err = os.ReadFile(p); err != nil {
		return nil, "", time.Time{}, fmt.Errorf("binary: %w", err)
	}
	return data, arch, st.ModTime(), nil
}

// baseSpec is the base RPM's content.
func baseSpec(o *BaseOptions, bin []byte, arch string, when time.Time) (*pkgSpec, error) {
	p := o.Product
	id := p + "-hotfix"
	cfg := ConfigPath(p)
	mtime := uint32(when.Unix())
	const script = 0o755
	files := []pkgFile{
		{RPMFile: owned(HotchainPath, script, bin, mtime, rpmpack.GenericFile)},
		{RPMFile: owned(cfg, 0o644, sysconfig.Template(p, o.Settings), mtime, rpmpack.ConfigFile|rpmpack.NoReplaceFile)},
		{RPMFile: owned("/etc/cron.daily/"+id, script, []byte(cronScript(p)), mtime, rpmpack.GenericFile)},
		{RPMFile: owned("/etc/init.d/"+id, script, []byte(initScript(p)), mtime, rpmpack.GenericFile)},
		{RPMFile: owned("/usr/lib/systemd/system/"+id+".service", 0o644, []byte(systemdService(p)), mtime, rpmpack.GenericFile)},
		{RPMFile: owned("/usr/lib/systemd/system/"+id+".timer", 0o644, []byte(systemdTimer(p)), mtime, rpmpack.GenericFile)},
		{RPMFile: owned("/usr/lib/systemd/system/"+RecoverUnit(p), 0o644, []byte(systemdRecover(p)), mtime, rpmpack.GenericFile)},
		{RPMFile: owned(repoFilePath(p), 0o644, o.RepoFile, mtime, rpmpack.ConfigFile|rpmpack.NoReplaceFile)},
	}
	if o.Signer != nil || o.Keys != nil {
		pub := o.Keys
		if pub == nil {
			var err error
			if pub, err = o.Signer.PublicKeyArmored(); err != nil {
				return nil, err
			}
		}
		files = append(files, pkgFile{RPMFile: owned(KeyPath(p), 0o644, pub, mtime, rpmpack.GenericFile)})
	}
	if o.TarballKey != nil {
		dst := sysconfig.Defaults(p).TarballKey
		if v, ok := o.Settings["TARBALL_KEY"]; ok {
			dst = v
		}
		if err := checkAbsDir("TARBALL_KEY", dst); err != nil {
			return nil, fmt.Errorf("cannot install the tarball key: %w", err)
		}
		pub, err := o.TarballKey.PublicPEM()
		if err != nil {
			return nil, err
		}
		files = append(files, pkgFile{RPMFile: owned(dst, 0o644, pub, mtime, rpmpack.GenericFile)})
	}
	return &pkgSpec{
		name:    hotfix.BasePackageName(p),
		version: o.Version,
		release: o.Release,
		arch:    arch,
		summary: fmt.Sprintf("Enables %s hotfixes on this host", p),
		description: fmt.Sprintf(`Installs what a host needs to receive %[1]s hotfixes for base version %[2]s:
the hotchain agent (%[3]s), its settings (%[4]s), the nightly job
(/etc/cron.daily/%[5]s, or %[5]s.timer on hosts without crond), the service switch
(/etc/init.d/%[5]s), the recovery of interrupted hotfix applies at boot
(%[5]s-recover.service), the yum/dnf repository (%[6]s) and the vendor's
signing key.`, p, o.BaseVersion, HotchainPath, cfg, id, repoFilePath(p)),
		license: o.License,
		vendor:  o.Vendor,
		url:     o.URL,
		files:   files,
		post:    basePost(p),
		preun:   basePreun(p),
		when:    when,
		signer:  o.Signer,
	}, nil
}
