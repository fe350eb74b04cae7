package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/repo/bundle"
)

// hotchain bundle: the vendor side of an offline bundle (bundle.Make); the host side is
// hotchain import (import.go).

func runBundle(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bundle", "-product P -repo DIR -from V1 -to V2 -sign-key KEY -tarball-key KEY -out FILE", `Packs the hotfixes V1 to V2 (one base version, no gap) out of the published repository
DIR (what hotchain repo works on; the newest release of each) into one file for hosts
without network: an uncompressed tar holding one directory
PRODUCT-hotfix-bundle-V1-V2/ with the RPMs, their signed yum/dnf metadata (repodata/,
repomd.xml.asc by -sign-key) and manifest.json (product, base version, the chain, every
file's size and SHA-256), and FILE.sig beside it, signed with -tarball-key as a hotfix
tarball is. Every RPM must carry -sign-key's signature: one that does not is refused by
name. The bundle is reproducible (entries in byte order, owner root, every time
SOURCE_DATE_EPOCH, else the newest package's build time) and written atomically.
Hosts install it with hotchain import FILE.`)
	product := fs.String("product", "", "product `name` (required), like shop")
	dir := fs.String("repo", "", "repository `DIR` of hotfix RPMs (required), like repo/6.14.2")
	from := fs.String("from", "", "first hotfix `version` of the bundle (required), like 6.14.2.3")
	to := fs.String("to", "", "last hotfix `version` of the bundle (required), like 6.14.2.9")
	signKey := fs.String("sign-key", "", "OpenPGP secret key `file` of the repository (required): every RPM must be signed with it, and it signs repomd.xml (passphrase in $"+sign.PassphraseEnv+"); OLD,NEW during a key rotation")
	tarballKey := fs.String("tarball-key", "", "private key `file` that signs the bundle (required), as build -tarball-key")
	out := fs.String("out", "", "the bundle `file` to write (required); FILE.sig is written beside it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const example = "hotchain bundle -product shop -repo repo/6.14.2 -from 6.14.2.3 -to 6.14.2.9 -sign-key vendor.asc -tarball-key vendor.pem -out shop-hotfix-bundle-6.14.2.3-6.14.2.9.tar"
	if err := noArgs(fs, example); err != nil {
		return err
	}
	if *product == "" || *dir == "" || *from == "" || *to == "" || *signKey == "" || *tarballKey == "" || *out == "" {
		return withHint(usageError{errors.New("bundle needs -product, -repo, -from, -to, -sign-key, -tarball-key and -out")}, example)
	}
	var o bundle.Options
	var err error
	if o.From, err = hotfix.ParseHotfixVersion(*from); err != nil {
		return usageError{fmt.Errorf("-from: %w", err)}
	}
	if o.To, err = hotfix.ParseHotfixVersion(*to); err != nil {
		return usageError{fmt.Errorf("-to: %w", err)}
	}
	if !o.From.Base().Equal(o.To.Base()) || o.From.Compare(o.To) > 0 {
		return withHint(usageError{fmt.Errorf("-from %s -to %s: want two hotfixes of one base version, the first not after the second", o.From, o.To)}, example)
	}
	if o.Time, err = packaging.ParseSourceDateEpoch(e.getenv("SOURCE_DATE_EPOCH")); err != nil {
		return err
	}
	if o.Signer, err = sign.LoadSigners(*signKey); err != nil {
		return err
	}
	if o.TarballKey, err = sign.LoadTarballKey(*tarballKey); err != nil {
		return err
	}
	o.Product, o.Dir, o.Out, o.Log = *product, *dir, *out, e.stderr
	res, err := bundle.Make(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s hotfixes %s to %s, %d files\nwrote %s\nhosts install it with: hotchain import %s\n",
		o.Out, o.Product, o.From, o.To, len(res.Manifest.Files), res.Signature, o.Out)
	return nil
}
