// Package bundle holds the vendor's writer of offline bundles: the newest build of each
// hotfix FROM..TO picked out of a published repository directory, signed metadata for just
// those packages (written by repo.Build), and the reproducible tar with its manifest,
// signed by the tarball key. The format and the host's reading of it are
// packaging/unpack's. It must not change the repository directory it reads, nor leave a
// bundle behind when it fails; it never builds or signs packages.
package bundle

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cavaliergopher/rpm"
	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging/unpack"
	"github.com/hotchain/hotchain/repo"
	"github.com/hotchain/hotchain/sysconfig"
)

// Options say what Make packs.
type Options struct {
	Dir      string         // the repository directory of hotfix RPMs (what repo.Build works on)
	Product  string         // shop
	From, To hotfix.Version // inclusive, one base version
	// Signer is the repository key: every package must carry its signature, and it signs
	// repodata/repomd.xml.
	Signer *sign.Signer
	// TarballKey signs the bundle (Out.sig).
	TarballKey *sign.TarballKey
	Out        string    // the bundle file
	Time       time.Time // metadata revision and file times; zero: the newest package's build time
	Log        io.Writer // nil discards
}

// Result says what Make wrote.
type Result struct {
	Manifest  *unpack.BundleManifest
	Signature string // Out.sig
}

// pick is the package chosen for one hotfix.
type pick struct {
	path, file string // in Dir; the canonical file name name-version-release.arch.rpm
	name, evr  string
	release    int
	built      time.Time
}

// Make writes the bundle of o. It changes nothing in o.Dir, and leaves no o.Out when it
// fails.
func Make(ctx context.Context, o Options) (*Result, error) {
	if !sysconfig.ValidProduct(o.Product) {
		return nil, fmt.Errorf("product %q: want lower-case letters, digits and dashes, like shop", o.Product)
	}
	if o.From == nil || o.To == nil || len(o.From) < 2 || !o.From.Base().Equal(o.To.Base()) || o.From.Compare(o.To) > 0 {
		return nil, fmt.Errorf("-from %s -to %s: want two hotfixes of one base version, the first not after the second", o.From, o.To)
	}
	if o.Signer == nil || o.TarballKey == nil {
		return nil, errors.New("a bundle is signed: it needs the repository key (-sign-key) and the tarball key (-tarball-key)")
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	picks, err := pickPackages(o, log)
	if err != nil {
		return nil, err
	}
	if o.Time.IsZero() {
		for _, p := range picks {
			if p.built.After(o.Time) {
				o.Time = p.built
			}
		}
	}
	o.Time = time.Unix(o.Time.Unix(), 0)
	outDir := filepath.Dir(o.Out)
	stage, err := os.MkdirTemp(outDir, ".hotchain-bundle-*")
	if err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	defer os.RemoveAll(stage)
	rename := map[string]string{}
	for _, p := range picks {
		dst := filepath.Join(stage, p.file)
		if err := linkOrCopy(p.path, dst); err != nil {
			return nil, fmt.Errorf("write bundle: %w", err)
		}
		rename[dst] = p.path
	}
	base := o.From.Base().String()
	// The metadata of just these packages, by repo.Build itself: every package is checked as rpm
	// -K checks it and must carry the repository key's signature. The .repo file and key it
	// also writes stay out of the bundle: a host uses its own key.
	_, err = repo.Build(ctx, repo.Options{Dir: stage, Product: o.Product, BaseVersion: base, BaseURLs: []string{"file:///"},
		Signer: o.Signer, Time: o.Time, NoUpdate: true, Log: io.Discard})
	if err != nil {
		return nil, stagedError(err, rename)
	}
	m := &unpack.BundleManifest{Schema: unpack.BundleSchema, Product: o.Product, Base: base, From: o.From.String(), To: o.To.String()}
	v := o.From
	for _, p := range picks {
		m.Packages = append(m.Packages, unpack.BundlePackage{Version: v.String(), Name: p.name, EVR: p.evr, File: p.file})
		v = v.Next()
	}
	rels := []string{}
	for _, p := range picks {
		rels = append(rels, p.file)
	}
	meta, err := os.ReadDir(filepath.Join(stage, "repodata"))
	if err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	for _, e := range meta {
		rels = append(rels, "repodata/"+e.Name())
	}
	slices.Sort(rels)
	for _, rel := range rels {
		f, err := fileEntry(stage, rel)
		if err != nil {
			return nil, fmt.Errorf("write bundle: %w", err)
		}
		m.Files = append(m.Files, f)
	}
	if err := write(o.Out, stage, m, o.Time, o.TarballKey); err != nil {
		return nil, err
	}
	return &Result{Manifest: m, Signature: o.Out + ".sig"}, nil
}

// pickPackages finds, among the RPMs in o.Dir, the newest release of each hotfix
// From..To, by the name, version and release in their headers; a hotfix with none is an
// error that names it.
func pickPackages(o Options, log io.Writer) ([]pick, error) {
	hrefs, err := repo.FindPackages(o.Dir, log)
	if err != nil {
		return nil, err
	}
	byVersion := map[string]pick{}
	for _, href := range hrefs {
		path := filepath.Join(o.Dir, filepath.FromSlash(href))
		p, err := rpm.Open(path)
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", path, err)
		}
		v, ok := hotfix.ParsePackageName(o.Product, p.Name())
		if !ok || !v.Base().Equal(o.From.Base()) || v.Compare(o.From) < 0 || v.Compare(o.To) > 0 {
			continue
		}
		rel, err := strconv.Atoi(p.Release())
		if err != nil {
			return nil, fmt.Errorf("package %s: release %q is not a number", path, p.Release())
		}
		pk := pick{path: path, name: p.Name(), evr: p.Version() + "-" + p.Release(), release: rel, built: p.BuildTime(),
			file: fmt.Sprintf("%s-%s-%s.%s.rpm", p.Name(), p.Version(), p.Release(), p.Architecture())}
		if old, ok := byVersion[v.String()]; ok {
			if c := cmp.Compare(old.release, rel); c > 0 || c == 0 && old.path < path {
				continue
			}
		}
		byVersion[v.String()] = pk
	}
	var picks []pick
	for v := o.From; v.Compare(o.To) <= 0; v = v.Next() {
		p, ok := byVersion[v.String()]
		if !ok {
			return nil, fmt.Errorf("%s has no package of hotfix %s (%s): a bundle holds the chain %s..%s without a gap; build it, or choose -from and -to around it",
				o.Dir, v, hotfix.PackageName(o.Product, v), o.From, o.To)
		}
		fmt.Fprintf(log, "bundle %s (%s)\n", p.file, p.path)
		picks = append(picks, p)
	}
	return picks, nil
}

// linkOrCopy puts the file src at dst: a hard link, else a copy.
func linkOrCopy(src, dst string) error {
	// The repository walker follows symlinks; link(2) would link the symlink itself,
	// which may be relative and then dangle in the staging directory: link what it leads to.
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fileEntry is the manifest entry of stage/rel: size and SHA-256.
func fileEntry(stage, rel string) (unpack.BundleFile, error) {
	p := filepath.Join(stage, filepath.FromSlash(rel))
	f, err := os.Open(p)
	if err != nil {
		return unpack.BundleFile{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return unpack.BundleFile{}, err
	}
	if !fi.Mode().IsRegular() {
		return unpack.BundleFile{}, fmt.Errorf("%s is a %s, not a file", p, fs.FormatFileInfo(fi))
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return unpack.BundleFile{}, err
	}
	return unpack.BundleFile{Path: rel, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// stagedError names the packages of o.Dir in an error of repo.Build on the staging directory.
func stagedError(err error, rename map[string]string) error {
	msg := err.Error()
	for staged, orig := range rename {
		msg = strings.ReplaceAll(msg, staged, orig)
	}
	return &renamedError{msg: msg, err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }
