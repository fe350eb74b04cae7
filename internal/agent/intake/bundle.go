// Package intake holds the checks of what a host takes in from outside its repository,
// each done before anything on the host changes: a signed hotfix tarball
// (UnpackTarball: the signature by TARBALL_KEY over a private copy, then the safe unpack of
// packaging/unpack) and an offline bundle (CheckBundle: its signature and manifest, the
// product, base version and chain position, and repomd.xml and every RPM checked with the
// host's repository key). A bundle it refuses is a RefusedError: the file's fault, which
// the drop folder moves to refused/. It installs and applies nothing: the agent run does.
package intake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/filetrust"
	"github.com/hotchain/hotchain/internal/repoconf"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging/unpack"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// CheckedBundle is a bundle that passed CheckBundle, unpacked in the private directory.
type CheckedBundle struct {
	*unpack.Bundle
	KeyFile    string // the host's repository key, as dnf reads it
	AllApplied bool   // the host has applied every hotfix of it
}

// CheckBundle does every check of an import that needs no lock, writing nothing but into
// private (in: the bundle opened by the caller, nil to open bundlePath): the signature and content of the bundle (unpack.VerifiedBundle, unpacked
// into private), product, base version and chain position, and the signatures of
// repomd.xml and the RPMs by the host's repository key (checkRepoSignatures).
func CheckBundle(ctx context.Context, cfg *sysconfig.Config, environ []string, in *os.File, bundlePath, sigPath, private string) (*CheckedBundle, error) {
	keyPath := cfg.InRoot(cfg.TarballKey)
	pub, err := ReadTarballKey(keyPath)
	var unsafe *filetrust.UnsafeError
	if errors.As(err, &unsafe) {
		return nil, err
	}
	if err != nil {
		return nil, cli.WithHint(err, "TARBALL_KEY in "+cfg.File+" names the vendor's public key (the base RPM installs it with build-base -tarball-key)")
	}
	var b *unpack.Bundle
	if in != nil {
		b, err = unpack.VerifiedBundleFile(in, bundlePath, sigPath, pub, keyPath, private)
	} else {
		b, err = unpack.VerifiedBundle(bundlePath, sigPath, pub, keyPath, private)
	}
	if se := (*unpack.SignatureError)(nil); errors.As(err, &se) {
		return nil, cli.WithHint(&RefusedError{bundlePath, err},
			"get the bundle and its .sig again from the vendor; TARBALL_KEY in the settings names the vendor's public key")
	}
	if err != nil {
		return nil, &RefusedError{bundlePath, err}
	}
	m := b.Manifest
	refuse := func(hint, format string, args ...any) (*CheckedBundle, error) {
		return nil, cli.WithHint(&RefusedError{bundlePath, fmt.Errorf(format, args...)}, hint)
	}
	if m.Product != cfg.Product {
		return refuse("import it on a host of "+m.Product+", or ask the vendor for a bundle of "+cfg.Product,
			"it holds hotfixes of %s, this host runs %s", m.Product, cfg.Product)
	}
	host := &applier.Host{Cfg: cfg, Environ: environ}
	pv, err := host.ProductVersion(ctx)
	if err != nil {
		return nil, err
	}
	if m.Base != pv.String() {
		return refuse(fmt.Sprintf("ask the vendor for a bundle of the chain of %s", pv),
			"it holds the chain of %s %s, the product here is %s", m.Product, m.Base, pv)
	}
	applied, err := host.Applied()
	if err != nil {
		return nil, err
	}
	next := append(slices.Clone(pv), 1)
	for _, v := range applied {
		if v.Base().Equal(pv) && v.Compare(next) >= 0 {
			next = v.Next()
		}
	}
	vs := m.Versions()
	if first, last := vs[0], vs[len(vs)-1]; first.Compare(next) > 0 {
		prev, _ := next.Previous()
		have := "no hotfix of " + pv.String()
		if prev != nil {
			have = prev.String()
		}
		return refuse(fmt.Sprintf("ask the vendor for a bundle -from %s (up to %s)", next, last),
			"host has %s, the bundle starts at %s: %s is missing", have, first, missing(next, first))
	} else if last.Compare(next) < 0 {
		return &CheckedBundle{Bundle: b, AllApplied: true}, nil
	}
	keyFile := cfg.InRoot(repoconf.KeyPath(cfg.Product))
	if err := checkRepoSignatures(ctx, b, keyFile, filepath.Join(private, "rpmdb"), environ, time.Now()); err != nil {
		return nil, cli.WithHint(&RefusedError{bundlePath, err},
			"the bundle's metadata and packages must be signed with this host's repository key: ask the vendor for a bundle signed with it (or, during a key rotation, install the base RPM that brings the new key first)")
	}
	if err := dnf.CheckBundle(ctx, b, keyFile, filepath.Join(private, "rpmdb"), filepath.Join(private, "check"), environ); err != nil {
		return refuse("get the bundle again from the vendor, and tell them: their bundle command writes the manifest from the packages", "%v", err)
	}
	return &CheckedBundle{Bundle: b, KeyFile: keyFile}, nil
}

// Refused is the RefusedError of the bundle at bundlePath for err.
func Refused(bundlePath string, err error) *RefusedError { return &RefusedError{bundlePath, err} }

// RefusedError is a bundle that an import refuses before it changes anything.
type RefusedError struct {
	bundle string
	err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("bundle %s refused, nothing was changed: %s", e.bundle, strings.TrimPrefix(e.err.Error(), "bundle "+e.bundle+": "))
}

func (e *RefusedError) Unwrap() error { return e.err }

// missing names the hotfixes from next up to before first: "6.14.2.6" or "6.14.2.6 to 6.14.2.7".
func missing(next, first hotfix.Version) string {
	last, _ := first.Previous()
	if last.Equal(next) {
		return next.String()
	}
	return next.String() + " to " + last.String()
}

// checkRepoSignatures checks, in the unpacked bundle b, repodata/repomd.xml.asc and every
// RPM with the keys in keyFile (the host's repository key) alone, as dnf's repo_gpgcheck
// and gpgcheck will, but before anything is changed: a refusal by dnf would come after the
// run's locks and records. The RPMs are checked by rpm itself (rpm -K), with the key in a
// new rpm database in dbDir.
func checkRepoSignatures(ctx context.Context, b *unpack.Bundle, keyFile, dbDir string, environ []string, now time.Time) error {
	data, err := sign.ReadKeyFile(keyFile, "repository key")
	if err != nil {
		return fmt.Errorf("%w (the base RPM installs it)", err)
	}
	var ring sign.Keyring
	if err := ring.Add(data, keyFile); err != nil {
		return err
	}
	repomd := filepath.Join(b.Dir, "repodata", "repomd.xml")
	signed, err := os.ReadFile(repomd)
	if err != nil {
		return err
	}
	sig, err := sign.ReadSignatureFile(repomd+".asc", "repomd.xml signature")
	if err != nil {
		return err
	}
	if err := ring.CheckArmoredDetached(signed, sig, now); err != nil {
		return fmt.Errorf("repodata/repomd.xml.asc does not verify with %s: %w", keyFile, err)
	}
	if err := os.Mkdir(dbDir, 0o700); err != nil {
		return err
	}
	var pkgs []string
	for _, p := range b.Manifest.Packages {
		pkgs = append(pkgs, filepath.Join(b.Dir, p.File))
	}
	rpm := &dnf.PackageManager{Env: environ}
	if err := rpm.CheckSignatures(ctx, dbDir, []string{keyFile}, pkgs); err != nil {
		// Named as in the bundle: the private directory goes when the import ends.
		return fmt.Errorf("%s (checked with %s)", strings.ReplaceAll(err.Error(), b.Dir+"/", ""), keyFile)
	}
	return nil
}
