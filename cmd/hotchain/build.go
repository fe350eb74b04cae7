package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/repo"
)

// The vendor-side commands: build, build-base, keygen. The work is in package packaging.

func runBuild(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "build", "-product P -out DIR SRC", `Builds the RPM and the tarball of the hotfix directory SRC into DIR:
  P-hotfix-6_14_2_3-1-RELEASE.noarch.rpm, P-hotfix-6.14.2.3.tar.gz and, with -tarball-key,
  P-hotfix-6.14.2.3.tar.gz.sig. When SRC has no filelist.txt, the packages get one (SRC is
  never written to); when it has one, it must match the content.
SOURCE_DATE_EPOCH, if set, is every file's mtime and the build time; otherwise the newest
mtime in SRC is. The same input and SOURCE_DATE_EPOCH give byte-identical outputs.
Check a tarball signature with
  openssl dgst -sha256 -verify pub.pem -signature X.tar.gz.sig X.tar.gz          (RSA key)
  openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in X.tar.gz -sigfile X.tar.gz.sig  (Ed25519 key)`)
	product := fs.String("product", "", "product `name` (required), like shop")
	release := fs.Int("release", 0, "RPM release: raise it for each rebuild of the same hotfix")
	patchesDir := fs.String("patches-dir", "", "`DIR` where hosts unpack hotfixes (default /var/opt/PRODUCT/Patches, as PATCHES_DIR)")
	signKey := fs.String("sign-key", "", "OpenPGP secret key `file` that signs the RPM (passphrase in $"+sign.PassphraseEnv+")")
	tarballKey := fs.String("tarball-key", "", "private key `file` that signs the tarball: PEM (RSA or Ed25519), or an OpenPGP secret key such as -sign-key's")
	license := fs.String("license", "", "RPM License tag (default Proprietary)")
	vendor := fs.String("vendor", "", "RPM Vendor tag")
	url := fs.String("url", "", "RPM URL tag")
	out := fs.String("out", "", "output `DIR` (required; created if missing)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.WithHint(cli.UsageError{Err: fmt.Errorf("build takes one hotfix directory, got %d arguments", fs.NArg())}, "hotchain build -product shop -out dist/ path/to/hotfix")
	}
	if *product == "" || *out == "" {
		return cli.WithHint(cli.UsageError{Err: errors.New("build needs -product and -out")}, "hotchain build -product shop -out dist/ path/to/hotfix")
	}
	when, err := packaging.ParseSourceDateEpoch(e.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	o := packaging.BuildOptions{
		Product: *product, Release: *release, PatchesDir: *patchesDir, Time: when,
		License: *license, Vendor: *vendor, URL: *url, OutDir: *out,
	}
	if *signKey != "" {
		if o.Signer, err = loadPackageSigner("build", *signKey); err != nil {
			return err
		}
	}
	if *tarballKey != "" {
		if o.TarballKey, err = sign.LoadTarballKey(*tarballKey); err != nil {
			return err
		}
	}
	res, err := packaging.Build(fs.Arg(0), o)
	if err != nil {
		return err
	}
	if res.FilelistWritten {
		fmt.Fprintf(e.Stdout, "filelist.txt: made for the packages (%s has none)\n", fs.Arg(0))
	}
	fmt.Fprintf(e.Stdout, "wrote %s\nwrote %s\n", res.RPM, res.Tarball)
	if res.Signature != "" {
		fmt.Fprintf(e.Stdout, "wrote %s\ncheck it with: %s\n", res.Signature,
			sign.VerifyCommand(o.TarballKey.Algorithm(), "pub.pem", res.Tarball, res.Signature))
	}
	if o.Signer == nil {
		e.Warnf("the RPM is not signed: hosts check signatures (gpgcheck=1); pass -sign-key")
	}
	return nil
}

func runBuildBase(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "build-base", "-product P -base-version V -repo-url URL -out DIR", `Builds the base RPM that enables hotfixes on a host, P-hotfix-base-VERSION-RELEASE.ARCH.rpm:
/usr/sbin/hotchain, /etc/sysconfig/P-hotfix, /etc/cron.daily/P-hotfix, /etc/init.d/P-hotfix,
the P-hotfix.service and .timer systemd units, /etc/yum.repos.d/P-hotfix.repo, with
-sign-key the vendor's OpenPGP public key, and with -tarball-key the public key that checks
hotfix tarballs (at TARBALL_KEY). The architecture is the binary's (x86_64 or aarch64).
The binary must be statically linked: build it with CGO_ENABLED=0 go build ./cmd/hotchain.
SOURCE_DATE_EPOCH, if set, is every file's mtime and the build time; otherwise the binary's
mtime is.`)
	product := fs.String("product", "", "product `name` (required), like shop")
	baseVersion := fs.String("base-version", "", "base `version` whose repository the host uses (required), like 6.14.2")
	var urls buildFlagList
	fs.Var(&urls, "repo-url", "repository root `URL` (required; repeat it for mirrors)")
	signKey := fs.String("sign-key", "", "OpenPGP secret key `file` that signs the RPM; its public key goes into the package")
	var gpgKeys buildFlagList
	fs.Var(&gpgKeys, "gpg-key", "OpenPGP public key `file` to install for the .repo file's gpgkey= instead of -sign-key's (repeat it: the new and the old key during a key rotation)")
	tarballKey := fs.String("tarball-key", "", "key `file` that signs hotfix tarballs (as build -tarball-key): its public half is installed where TARBALL_KEY points")
	binary := fs.String("binary", "", "hotchain executable to install, built with CGO_ENABLED=0 (default: this executable)")
	version := fs.String("version", "1", "base package version")
	release := fs.String("release", "0", "base package release")
	var settings buildFlagList
	fs.Var(&settings, "set", "`KEY=VALUE` to set in the settings file (repeatable), like -set PRODUCT_ROOT=/opt/shop")
	license := fs.String("license", "", "RPM License tag (default Proprietary)")
	vendor := fs.String("vendor", "", "RPM Vendor tag")
	url := fs.String("url", "", "RPM URL tag")
	out := fs.String("out", "", "output `DIR` (required; created if missing)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const example = "hotchain build-base -product shop -base-version 6.14.2 -repo-url https://updates.example.com/shop -sign-key vendor.asc -out dist/"
	if err := noArgs(fs, example); err != nil {
		return err
	}
	if *product == "" || *baseVersion == "" || len(urls) == 0 || *out == "" {
		return cli.WithHint(cli.UsageError{Err: errors.New("build-base needs -product, -base-version, -repo-url and -out")}, example)
	}
	for _, u := range urls {
		if err := packaging.CheckRepoURL(u); err != nil {
			return cli.UsageError{Err: err}
		}
	}
	overrides := map[string]string{}
	for _, kv := range settings {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return cli.UsageError{Err: fmt.Errorf("-set %q: want KEY=VALUE", kv)}
		}
		overrides[k] = v
	}
	when, err := packaging.ParseSourceDateEpoch(e.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	if *binary == "" {
		if *binary, err = os.Executable(); err != nil {
			return cli.WithHint(fmt.Errorf("find this executable: %w", err), "pass -binary PATH")
		}
	}
	o := packaging.BaseOptions{
		Product: *product, BaseVersion: *baseVersion, Binary: *binary,
		Version: *version, Release: *release, Settings: overrides, Time: when,
		License: *license, Vendor: *vendor, URL: *url, OutDir: *out,
	}
	if *signKey != "" {
		if o.Signer, err = loadPackageSigner("build-base", *signKey); err != nil {
			return err
		}
	}
	if len(gpgKeys) > 0 {
		if o.Keys, err = shippedKeys(gpgKeys, o.Signer); err != nil {
			return err
		}
	}
	if *tarballKey != "" {
		if o.TarballKey, err = sign.LoadTarballKey(*tarballKey); err != nil {
			return err
		}
	}
	o.RepoFile = repo.RepoFile(*product, *baseVersion, urls, o.Signer != nil || o.Keys != nil)
	res, err := packaging.BuildBase(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote %s\n", res.RPM)
	if o.Signer == nil {
		e.Warnf("the RPM is not signed and carries no vendor key: hosts check signatures (gpgcheck=1); pass -sign-key")
	}
	return nil
}

func runKeygen(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "keygen", "-name N -email E -out PREFIX", `Makes a signing key for packages, repositories and tarballs, and writes
  PREFIX.asc      OpenPGP secret key (-sign-key; keep it safe), mode 0600
  PREFIX.pub.asc  OpenPGP public key (rpm --import; the base RPM installs it)
  PREFIX.pem      the same key as PEM (-tarball-key), mode 0600
  PREFIX.pub.pem  its public half, for openssl and TARBALL_KEY on hosts
Existing files are never overwritten. RSA works with every rpm; Ed25519 needs rpm 4.14 or
later, and openssl pkeyutl instead of openssl dgst to check tarball signatures.`)
	name := fs.String("name", "", "key owner's `name` (required), like \"Example Corp Hotfixes\"")
	email := fs.String("email", "", "key owner's `address` (required)")
	algo := fs.String("algo", "rsa", "key algorithm: rsa (3072 bits) or ed25519")
	out := fs.String("out", "", "`PREFIX` of the files to write (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const example = `hotchain keygen -name "Example Corp Hotfixes" -email hotfixes@example.com -out vendor`
	if err := noArgs(fs, example); err != nil {
		return err
	}
	if *name == "" || *email == "" || *out == "" {
		return cli.WithHint(cli.UsageError{Err: errors.New("keygen needs -name, -email and -out")}, example)
	}
	a := sign.KeyAlgorithm(*algo)
	if a != sign.RSA && a != sign.Ed25519 {
		return cli.UsageError{Err: fmt.Errorf("-algo %q: want rsa or ed25519", *algo)}
	}
	s, err := sign.GenerateKey(*name, *email, a, time.Now())
	if err != nil {
		return err
	}
	kf, err := packaging.WriteKeyFiles(s, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "key %s\nwrote %s (secret)\nwrote %s\nwrote %s (secret)\nwrote %s\n",
		s.KeyID(), kf.Secret, kf.Public, kf.TarballSecret, kf.TarballPublic)
	return nil
}

// buildFlagList is a repeatable string flag.
type buildFlagList []string

func (l *buildFlagList) String() string     { return strings.Join(*l, ",") }
func (l *buildFlagList) Set(s string) error { *l = append(*l, s); return nil }

// loadPackageSigner loads the one key that signs a package. A package carries no second
// signature for a key rotation: dnf (rpmkeys --checksig, rpm 4.18 and 4.20) refuses a
// package with any signature whose key the host lacks (NOKEY), even when another one is
// good, so a package signed by the old and the new key installs only on hosts that hold
// both.
func loadPackageSigner(cmd, path string) (*sign.Signer, error) {
	if strings.Contains(path, ",") {
		return nil, cli.WithHint(cli.UsageError{Err: fmt.Errorf("%s -sign-key %s: a package is signed with one key", cmd, path)},
			"dnf refuses a package signed by a key the host lacks even when another signature is good; "+
				"in a key rotation, sign packages with the old key until every host has the base RPM that brings the new one, then with the new key (README: Key rotation)")
	}
	return sign.LoadSigner(path)
}

// shippedKeys reads the -gpg-key files of build-base, in order, into the key file the base
// RPM installs.
func shippedKeys(paths []string, signer *sign.Signer) ([]byte, error) {
	var files [][]byte
	for _, p := range paths {
		data, err := sign.ReadKeyFile(p, "public key")
		if err != nil {
			return nil, err
		}
		files = append(files, data)
	}
	return sign.ShippedKeys(files, paths, signer)
}
