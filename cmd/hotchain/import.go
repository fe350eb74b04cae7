package main

import (
	"context"
	"fmt"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/cli"
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

func runImport(ctx context.Context, e *cli.Env, args []string) error {
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
		return cli.WithHint(cli.UsageError{Err: fmt.Errorf("import takes one bundle file, got %d arguments", fs.NArg())},
			"hotchain import shop-hotfix-bundle-6.14.2.3-6.14.2.9.tar (its .sig beside it)")
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	o := agent.Options{Config: cfg, Mode: agent.ModeConsole, Verbose: *verbose, Stdout: e.Stdout, Stderr: e.Stderr, Environ: e.Environ}
	path := fs.Arg(0)
	return agent.Import(ctx, o, path, path+".sig")
}
