package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/repo"
)

// The repository commands: repo and serve on the vendor side, repo-file on a host. The
// work is in package repo.

func runRepo(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "repo", "-base-url URL [-sign-key KEY] DIR", `Writes yum/dnf metadata for the RPMs in DIR, the repository of one base version
(<repo root>/6.14.2): DIR/repodata/ as createrepo_c writes it, repomd.xml.asc and
DIR/RPM-GPG-KEY-PRODUCT-hotfix with -sign-key, and DIR/PRODUCT-hotfix.repo, the file hosts
use, pointing at URL/6.14.2/ for each -base-url (mirrors, tried in order).
Entries of packages whose size and mtime did not change are reused from the old metadata
(as createrepo_c --update does), whatever their compression (gz, zstd, xz, bz2); -no-update
reads every package again. Every package read is checked as rpm -K checks it (header and
payload digests; with -sign-key, its signature by that key, or by one of the keys of a
list); a .rpm that hotchain serve
would not serve through a symlink (one out of DIR, an absolute one) is left out with a
warning. A failed run changes nothing; a killed one leaves the old metadata, and the next
run removes its temporary directory (runs on one DIR take turns: DIR/.repodata.lock).
SOURCE_DATE_EPOCH, if set, is the revision and the time of the metadata: the same packages
and SOURCE_DATE_EPOCH give byte-identical metadata.
Packages are found as createrepo_c finds them (hidden ones and symlinked directories
included, symlinks out of DIR excepted) and written as it writes them; a package with a
control character in its metadata, or a damaged one, fails the run.`)
	var urls buildFlagList
	fs.Var(&urls, "base-url", "`URL` of the repository root, http(s):// or file:// (required; repeat for mirrors)")
	product := fs.String("product", "", "product `name`, like shop (default: taken from the package names)")
	baseVersion := fs.String("base-version", "", "base `version` the repository serves (default: the name of DIR)")
	signKey := fs.String("sign-key", "", "OpenPGP secret key `file` that signs repomd.xml (passphrase in $"+sign.PassphraseEnv+"); OLD,NEW during a key rotation: each key signs it, and RPM-GPG-KEY-PRODUCT-hotfix holds both")
	noUpdate := fs.Bool("no-update", false, "read every package again instead of reusing unchanged entries")
	compress := fs.String("compress", "gz", "`gz|zstd`: compression of the metadata files; every yum and dnf reads gz, zstd is createrepo_c 1.x's default (RHEL 9's dnf reads it, older yum and dnf may not)")
	changelogLimit := fs.Int("changelog-limit", repo.DefaultChangelogLimit, "keep the newest `N` changelog entries of each package, as createrepo_c --changelog-limit (0 none, -1 all); unchanged packages keep theirs unless -no-update")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const example = "hotchain repo -product shop -base-url https://updates.example.com/shop -sign-key vendor.asc repo/6.14.2"
	if fs.NArg() != 1 {
		return cli.WithHint(cli.UsageError{Err: fmt.Errorf("repo takes one repository directory, got %d arguments", fs.NArg())}, example)
	}
	if len(urls) == 0 {
		return cli.WithHint(cli.UsageError{Err: errors.New("repo needs -base-url: the URL hosts reach the repository root at")}, example)
	}
	for _, u := range urls {
		if err := repo.CheckBaseURL(u); err != nil {
			return cli.UsageError{Err: err}
		}
	}
	if err := repo.CheckCompression(*compress); err != nil {
		return cli.UsageError{Err: err}
	}
	limit := *changelogLimit
	switch {
	case limit == 0:
		limit = repo.NoChangelogs
	case limit == -1:
		limit = repo.AllChangelogs
	case limit < -1:
		return cli.WithHint(cli.UsageError{Err: fmt.Errorf("-changelog-limit %d: want a number of entries, 0 for none or -1 for all", limit)}, example)
	}
	when, err := packaging.ParseSourceDateEpoch(e.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	if when.IsZero() {
		when = time.Now().Truncate(time.Second)
	}
	o := repo.Options{
		Dir: fs.Arg(0), Product: *product, BaseVersion: *baseVersion, BaseURLs: urls,
		NoUpdate: *noUpdate, Compress: *compress, Time: when, Log: e.Stderr, ChangelogLimit: limit,
	}
	if *signKey != "" {
		if o.Signer, err = sign.LoadSigners(*signKey); err != nil {
			return err
		}
	}
	res, err := repo.Build(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote %s/repodata: %d packages (%d unchanged)\nwrote %s\n", o.Dir, res.Packages, res.Reused, res.RepoFile)
	if o.Signer == nil {
		e.Warnf("the repository is not signed: hosts check repomd.xml (repo_gpgcheck=1 in the base RPM's .repo file); pass -sign-key")
	}
	return nil
}

func runRepoFile(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "repo-file", "-base-version V", `Points the host's .repo file (REPO_FILE) at the repository of base version V: the last
path element of every baseurl, the old base version, becomes V. A product patch that moves
the product to a new release calls it. The file is replaced atomically and keeps its mode.`)
	baseVersion := fs.String("base-version", "", "the new base `version`, like 6.15.0 (required)")
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, ""); err != nil {
		return err
	}
	if *baseVersion == "" {
		return cli.WithHint(cli.UsageError{Err: errors.New("repo-file needs -base-version")}, "hotchain repo-file -base-version 6.15.0")
	}
	if _, err := hotfix.ParseVersion(*baseVersion); err != nil {
		return cli.UsageError{Err: err}
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	path := cfg.InRoot(cfg.RepoFile)
	if err := repo.RewriteBaseVersion(path, *baseVersion); err != nil {
		return cli.WithHint(err, "reinstall the base RPM to get a fresh .repo file")
	}
	fmt.Fprintf(e.Stdout, "%s: base version %s\n", path, *baseVersion)
	return nil
}

func runServe(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "serve", "-dir DIR [-listen ADDR]", `Serves the repositories under DIR over HTTP until interrupted, for a local or air-gapped
update: point the .repo file's baseurl at http://ADDR/. Only regular files are served: no
directory listings, no hidden files, nothing outside DIR (symlinks included). Each request
is logged to standard error.`)
	dir := fs.String("dir", "", "`DIR` to serve, the repository root (required)")
	listen := fs.String("listen", "127.0.0.1:8000", "`address` to listen on; port 0 picks a free one")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, ""); err != nil {
		return err
	}
	if *dir == "" {
		return cli.WithHint(cli.UsageError{Err: errors.New("serve needs -dir")}, "hotchain serve -dir repo -listen 127.0.0.1:8000")
	}
	return repo.Serve(ctx, *dir, *listen, e.Stderr, func(addr string) {
		fmt.Fprintf(e.Stdout, "serving %s at http://%s/\n", *dir, addr)
	})
}
