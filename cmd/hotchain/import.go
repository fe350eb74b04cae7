package main

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
	"github.com/hotchain/hotchain/internal/filetrust"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/packaging/unpack"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// hotchain import: a bundle of hotfixes (hotchain bundle) installed on a host without
// network. Everything is checked before anything on the host changes: the bundle's
// signature by TARBALL_KEY over a private copy, its layout and manifest, the product, base
// version and chain position, repomd.xml's signature by the host's repository key and every
// RPM by rpm -K with that key alone. Then
// it is an agent console run (the locks, recovery, dnf install with the apply deferred, the
// applies, the health check, the ledger and rpm database compared, the report) whose
// package manager sees only the bundle, unpacked into a private directory, as a local
// repository that dnf and rpm check with gpgcheck=1 and repo_gpgcheck=1 against the same key.

// importedBundle is the bundle an import run installs from.
type importedBundle struct {
	path string // the bundle file, for messages
}

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "import", "FILE", `Installs the hotfixes of an offline bundle (hotchain bundle) on this host, without network
and without any repository configured. FILE.sig must lie beside FILE. Before anything
changes: FILE is read once into a private copy (a regular file only), the copy's
signature is checked against TARBALL_KEY, its entries and manifest are checked (one
directory of RPMs, repodata/ and manifest.json; nothing else), the bundle must be for this
host's product and installed base version, and the first hotfix of it that this host has
not applied must be the next one of its chain (hotfixes already applied are skipped); and
repodata/repomd.xml.asc must verify with the host's repository key
(/etc/pki/rpm-gpg/RPM-GPG-KEY-PRODUCT-hotfix), and every RPM must pass rpm -K with that key
alone (in a private rpm database), and the RPM headers and the packages the metadata offers
must be exactly the manifest's. Then it is agent -console: LOCK_CRON and
LOCK_TS, recovery, dnf install from the bundle alone as a local repository (gpgcheck=1,
repo_gpgcheck=1 with that key), the applies, health check, ledger checked against the rpm
database, and the report (NOTIFY_URL/NOTIFY_CMD as NOTIFY_ON says). The rollout policy
and MIN_AGE_DAYS do not apply: the bundle is the vendor's signed word and the admin's
choice. The private copy is removed afterwards, also when the import fails.`)
	verbose := fs.Bool("verbose", false, "also say on standard error when syslog cannot be written")
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return withHint(usageError{fmt.Errorf("import takes one bundle file, got %d arguments", fs.NArg())},
			"hotchain import shop-hotfix-bundle-6.14.2.3-6.14.2.9.tar (its .sig beside it)")
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	o := agentOptions{cfg: cfg, mode: modeConsole, verbose: *verbose, stdout: e.stdout, stderr: e.stderr, environ: e.environ}
	path := fs.Arg(0)
	return importBundle(ctx, o, path, path+".sig")
}

// importBundle installs the bundle at bundlePath, signed by sigPath, as `hotchain import`
// does, with the run's settings and outside world in o (its mode is made modeConsole). It
// is the one entry point for anything that imports a bundle. It takes LOCK_CRON and
// LOCK_TS itself: call it where no agent run of this process holds them. Its error carries
// the exit status (exitStatus): 1 for a refused bundle (nothing on the host changed) and
// for a failed install, 3 when another run holds a lock, 4 and 5 as for the agent.
func importBundle(ctx context.Context, o agentOptions, bundlePath, sigPath string) error {
	cfg := o.cfg
	private, err := os.MkdirTemp("", "hotchain-import-*") // 0700
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer os.RemoveAll(private)
	defer dnf.RootedLeftovers(cfg.Root, private)()
	b, err := checkBundle(ctx, cfg, o.environ, bundlePath, sigPath, private)
	if err != nil {
		return err
	}
	m := b.Manifest
	if b.allApplied {
		fmt.Fprintf(o.stdout, "Nothing to import: %s holds hotfixes %s to %s, and this host has applied them all.\n", bundlePath, m.From, m.To)
		return nil
	}
	lr := dnf.LocalRepo{ID: cfg.Product + "-hotfix-bundle", ReposDir: filepath.Join(private, "repos.d"), CacheDir: filepath.Join(private, "cache")}
	if err := os.Mkdir(lr.ReposDir, 0o755); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	repoFile, err := dnf.LocalRepoFile(lr.ID, fmt.Sprintf("%s hotfixes %s to %s from %s", m.Product, m.From, m.To, filepath.Base(bundlePath)), b.Dir, []string{b.keyFile})
	if err != nil {
		return &refusedError{bundlePath, err}
	}
	if err := os.WriteFile(filepath.Join(lr.ReposDir, lr.ID+".repo"), repoFile, 0o644); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	o.mode = modeConsole
	o.bundle = &importedBundle{path: bundlePath}
	newPM := o.newPM
	if newPM == nil {
		newPM = newPackageManager
	}
	o.newPM = func(cfg *sysconfig.Config, p pmIO) (packageManager, error) {
		pm, err := newPM(cfg, p)
		if real, ok := pm.(*dnf.PackageManager); ok {
			real.OnlyRepo(lr)
		}
		return pm, err
	}
	fmt.Fprintf(o.stdout, "==> importing %s: hotfixes %s to %s of %s %s (signature checked with %s)\n", bundlePath, m.From, m.To, m.Product, m.Base, cfg.TarballKey)
	return runAgentOnce(ctx, o)
}

// checkedBundle is a bundle that passed checkBundle, unpacked in the private directory.
type checkedBundle struct {
	*unpack.Bundle
	keyFile    string // the host's repository key, as dnf reads it
	allApplied bool   // the host has applied every hotfix of it
}

// checkBundle does every check of an import that needs no lock, writing nothing but into
// private: the signature and content of the bundle (unpack.VerifiedBundle, unpacked
// into private), product, base version and chain position, and the signatures of
// repomd.xml and the RPMs by the host's repository key (checkRepoSignatures).
func checkBundle(ctx context.Context, cfg *sysconfig.Config, environ []string, bundlePath, sigPath, private string) (*checkedBundle, error) {
	keyPath := cfg.InRoot(cfg.TarballKey)
	pub, err := readTarballKey(keyPath)
	var unsafe *filetrust.UnsafeError
	if errors.As(err, &unsafe) {
		return nil, err
	}
	if err != nil {
		return nil, withHint(err, "TARBALL_KEY in "+cfg.File+" names the vendor's public key (the base RPM installs it with build-base -tarball-key)")
	}
	b, err := unpack.VerifiedBundle(bundlePath, sigPath, pub, keyPath, private)
	if se := (*unpack.SignatureError)(nil); errors.As(err, &se) {
		return nil, withHint(&refusedError{bundlePath, err},
			"get the bundle and its .sig again from the vendor; TARBALL_KEY in the settings names the vendor's public key")
	}
	if err != nil {
		return nil, &refusedError{bundlePath, err}
	}
	m := b.Manifest
	refuse := func(hint, format string, args ...any) (*checkedBundle, error) {
		return nil, withHint(&refusedError{bundlePath, fmt.Errorf(format, args...)}, hint)
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
		return &checkedBundle{Bundle: b, allApplied: true}, nil
	}
	keyFile := cfg.InRoot(packaging.KeyPath(cfg.Product))
	if err := checkRepoSignatures(ctx, b, keyFile, filepath.Join(private, "rpmdb"), environ, time.Now()); err != nil {
		return nil, withHint(&refusedError{bundlePath, err},
			"the bundle's metadata and packages must be signed with this host's repository key: ask the vendor for a bundle signed with it (or, during a key rotation, install the base RPM that brings the new key first)")
	}
	if err := dnf.CheckBundle(ctx, b, keyFile, filepath.Join(private, "rpmdb"), filepath.Join(private, "check"), environ); err != nil {
		return refuse("get the bundle again from the vendor, and tell them: their bundle command writes the manifest from the packages", "%v", err)
	}
	return &checkedBundle{Bundle: b, keyFile: keyFile}, nil
}

// refusedError is a bundle that an import refuses before it changes anything.
type refusedError struct {
	bundle string
	err    error
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("bundle %s refused, nothing was changed: %s", e.bundle, strings.TrimPrefix(e.err.Error(), "bundle "+e.bundle+": "))
}

func (e *refusedError) Unwrap() error { return e.err }

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
