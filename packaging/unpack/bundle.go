package unpack

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/sysconfig"
)

// An offline bundle: part of one chain (hotfixes FROM..TO of one base version) as one
// uncompressed PAX tar file with a detached signature by the vendor's tarball key (FILE.sig,
// as a hotfix tarball's). `hotchain bundle` writes it (package repo picks and checks the
// packages and writes their metadata), `hotchain import` reads it on a host without network.
// Its one layout:
//
//	shop-hotfix-bundle-6.14.2.3-6.14.2.9/             the top directory (BundleTopDir)
//	shop-hotfix-bundle-6.14.2.3-6.14.2.9/manifest.json  BundleManifest
//	shop-hotfix-bundle-6.14.2.3-6.14.2.9/repodata/...   signed yum/dnf metadata of the RPMs
//	shop-hotfix-bundle-6.14.2.3-6.14.2.9/shop-hotfix-6_14_2_3-1-0.noarch.rpm ...
//
// Nothing else: no other directory, no links, devices or pipes.

// BundleSchema is the manifest's schema; a change that breaks a reader takes a new number.
const BundleSchema = "hotchain-bundle/1"

// Limits of a bundle, checked before anything is written: the copy is at most
// MaxTarballSize bytes, like a hotfix tarball.
const (
	// MaxBundleEntries is the most entries a bundle holds (a chain of a few hundred
	// hotfixes and their metadata files).
	MaxBundleEntries = 10_000
	// maxBundleManifest bounds manifest.json.
	maxBundleManifest = 1 << 20
	// maxBundleName is the longest file name inside the bundle (one path element).
	maxBundleName = 255
)

// BundleManifest is manifest.json: what the bundle holds, which the bundle's signature
// covers.
type BundleManifest struct {
	Schema   string          `json:"schema"`
	Product  string          `json:"product"`
	Base     string          `json:"base"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	Packages []BundlePackage `json:"packages"` // one per hotfix, in chain order
	Files    []BundleFile    `json:"files"`    // every file but manifest.json, in byte order
}

// BundlePackage is one hotfix RPM of a bundle.
type BundlePackage struct {
	Version string `json:"version"` // 6.14.2.3
	Name    string `json:"name"`    // shop-hotfix-6_14_2_3
	EVR     string `json:"evr"`     // 1-0
	File    string `json:"file"`    // shop-hotfix-6_14_2_3-1-0.noarch.rpm
}

// BundleFile is one file of a bundle, relative to its top directory.
type BundleFile struct {
	Path   string `json:"path"` // shop-hotfix-6_14_2_3-1-0.noarch.rpm, repodata/repomd.xml
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// BundleTopDir is the bundle's top directory, and the base of its file name:
// shop-hotfix-bundle-6.14.2.3-6.14.2.9.
func BundleTopDir(product string, from, to hotfix.Version) string {
	return product + "-hotfix-bundle-" + from.String() + "-" + to.String()
}

// Versions are the manifest's hotfixes, checked by check.
func (m *BundleManifest) Versions() []hotfix.Version {
	var vs []hotfix.Version
	for _, p := range m.Packages {
		v, _ := hotfix.ParseVersion(p.Version)
		vs = append(vs, v)
	}
	return vs
}

var (
	bundleFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	sha256Hex      = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Check holds the manifest to the rules: one product and base version, a contiguous chain
// from From to To with one package each, named as the product names them, and a file list
// of exactly those packages and repodata/ files, repomd.xml and its signature among them.
func (m *BundleManifest) Check() error {
	if m.Schema != BundleSchema {
		return fmt.Errorf("schema %q, want %q", m.Schema, BundleSchema)
	}
	if !sysconfig.ValidProduct(m.Product) {
		return fmt.Errorf("product %q is not a product name", m.Product)
	}
	base, err := hotfix.ParseVersion(m.Base)
	if err != nil {
		return fmt.Errorf("base version: %w", err)
	}
	from, err := hotfix.ParseHotfixVersion(m.From)
	if err != nil {
		return fmt.Errorf("from: %w", err)
	}
	to, err := hotfix.ParseHotfixVersion(m.To)
	if err != nil {
		return fmt.Errorf("to: %w", err)
	}
	if !from.Base().Equal(base) || !to.Base().Equal(base) || from.Compare(to) > 0 {
		return fmt.Errorf("chain %s..%s is not a part of the chain of %s", from, to, base)
	}
	files := map[string]BundleFile{}
	for i, f := range m.Files {
		if i > 0 && m.Files[i-1].Path >= f.Path {
			return fmt.Errorf("file list is not in byte order, or names %s twice", f.Path)
		}
		dir, name := path.Split(f.Path)
		if (dir != "" && dir != "repodata/") || len(name) > maxBundleName || !bundleFileName.MatchString(name) ||
			(dir == "" && !strings.HasSuffix(name, ".rpm")) {
			return fmt.Errorf("file %q: a bundle holds only RPMs and repodata/ files", f.Path)
		}
		if f.Size < 0 || !sha256Hex.MatchString(f.SHA256) {
			return fmt.Errorf("file %s: bad size or SHA-256", f.Path)
		}
		files[f.Path] = f
	}
	for _, must := range []string{"repodata/repomd.xml", "repodata/repomd.xml.asc"} {
		if _, ok := files[must]; !ok {
			return fmt.Errorf("file list has no %s: the metadata must be signed", must)
		}
	}
	want := from
	rpms := 0
	for _, p := range m.Packages {
		v, err := hotfix.ParseVersion(p.Version)
		if err != nil {
			return fmt.Errorf("package %s: %w", p.Name, err)
		}
		if !v.Equal(want) || want.Compare(to) > 0 {
			return fmt.Errorf("packages do not make the chain %s..%s: %s where %s belongs", from, to, v, want)
		}
		if p.Name != hotfix.PackageName(m.Product, v) || !strings.HasPrefix(p.File, p.Name+"-"+p.EVR+".") {
			return fmt.Errorf("package %s (%s) is not named as hotfix %s of %s", p.Name, p.File, v, m.Product)
		}
		if _, ok := files[p.File]; !ok {
			return fmt.Errorf("package file %s is not in the file list", p.File)
		}
		rpms++
		want = v.Next()
	}
	if !want.Equal(to.Next()) {
		return fmt.Errorf("packages end before %s: %s is missing", to, want)
	}
	for _, f := range m.Files {
		if !strings.Contains(f.Path, "/") {
			rpms--
		}
	}
	if rpms != 0 {
		return errors.New("file list holds RPMs that are not among its packages")
	}
	return nil
}

// Bundle is a bundle read and checked by VerifiedBundle.
type Bundle struct {
	Dir      string // the unpacked top directory: the RPMs and repodata/, a local repository
	Manifest *BundleManifest
}

// VerifiedBundle is how a host takes a bundle in, as VerifiedTarballWith takes a
// tarball: it reads the file at bundlePath once (a regular file only) into a private copy
// without a name, checks the detached signature sigPath over exactly those bytes with pub
// (read from keyPath, which messages name), then checks every entry of that copy and its
// manifest (checkBundle) and only then writes the files into dest, which must be a private
// directory of the caller's. On any error nothing is written to dest.
func VerifiedBundle(bundlePath, sigPath string, pub *sign.TarballPublicKey, keyPath, dest string) (*Bundle, error) {
	in, err := openTarball("bundle", bundlePath)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return VerifiedBundleFile(in, bundlePath, sigPath, pub, keyPath, dest)
}

// VerifiedBundleFile is VerifiedBundle for a bundle the caller has opened (in, a regular
// file; bundlePath names it in messages).
func VerifiedBundleFile(in *os.File, bundlePath, sigPath string, pub *sign.TarballPublicKey, keyPath, dest string) (*Bundle, error) {
	if err := checkRegular("bundle", in, bundlePath); err != nil {
		return nil, err
	}
	c, err := copyTarball("bundle", in, bundlePath, dest)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := verifySignature("bundle", bundlePath, c.data, sigPath, pub, keyPath); err != nil {
		return nil, signatureError(err)
	}
	return unpackBundle(c.data, bundlePath, dest)
}

// BundleError is a bundle whose content breaks the rules (checkBundle); Entry names the
// entry, when one is to blame.
type BundleError struct {
	Path  string // the bundle
	Entry string
	Why   string
}

func (e *BundleError) Error() string {
	if e.Entry != "" {
		return fmt.Sprintf("bundle %s: entry %q %s", e.Path, e.Entry, e.Why)
	}
	return fmt.Sprintf("bundle %s: %s", e.Path, e.Why)
}

func (e *BundleError) Hint() string {
	return "a bundle holds one directory of RPMs, repodata/ and manifest.json, as hotchain bundle writes it: get the bundle from the vendor again"
}

// bundleEntry is one regular file of a bundle, as checkBundle found it.
type bundleEntry struct {
	rel    string // under the top directory
	offset int64  // of its content in the copy
	size   int64
	sha256 string
}

// unpackBundle checks the copy data (checkBundle) and then writes its files into dest.
func unpackBundle(data []byte, bundlePath, dest string) (*Bundle, error) {
	top, m, files, err := checkBundle(data, bundlePath)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dest, top)
	for _, d := range []string{dir, filepath.Join(dir, "repodata")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("unpack bundle %s: %w", bundlePath, err)
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := writeExclusive(p, data[f.offset:f.offset+f.size]); err != nil {
			return nil, fmt.Errorf("unpack bundle %s: %w", bundlePath, err)
		}
	}
	return &Bundle{Dir: dir, Manifest: m}, nil
}

// writeExclusive writes a new file (never through an existing name).
func writeExclusive(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkBundle reads the tar archive data and checks it without writing anything: only the
// fixed layout (one top directory named after the manifest, its repodata/ directory,
// manifest.json, RPMs and repodata files as plain files with plain names), no entry twice,
// at most MaxBundleEntries; a manifest that checks (BundleManifest.check) and lists exactly
// the files there are, with their sizes and SHA-256. It returns the top directory, the
// manifest and the files to write.
func checkBundle(data []byte, bundlePath string) (top string, m *BundleManifest, files []bundleEntry, err error) {
	bad := func(entry, format string, args ...any) error {
		return &BundleError{Path: bundlePath, Entry: entry, Why: fmt.Sprintf(format, args...)}
	}
	topName := regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-hotfix-bundle-[0-9.]+-[0-9.]+$`)
	r := bytes.NewReader(data)
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	var manifest []byte
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, nil, bad("", "is not a tar archive, or is damaged: %v", err)
		}
		name := h.Name
		if n >= MaxBundleEntries {
			return "", nil, nil, bad(name, "is one more than %d entries, the most a bundle holds", MaxBundleEntries)
		}
		if len(name) > MaxTarballName || strings.ContainsRune(name, 0) || strings.Contains(name, "\\") {
			return "", nil, nil, bad(name, "has a name that is too long or holds a NUL or backslash")
		}
		if path.IsAbs(name) {
			return "", nil, nil, bad(name, "has an absolute name")
		}
		isDir := h.Typeflag == tar.TypeDir
		clean := strings.TrimSuffix(name, "/")
		if path.Clean(clean) != clean || slices.Contains(strings.Split(clean, "/"), "..") {
			return "", nil, nil, bad(name, "has a name that is not clean (.., ., or an empty element)")
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		default:
			return "", nil, nil, bad(name, "is a %s: a bundle holds only directories and regular files", tarKind(h.Typeflag))
		}
		first, rest, _ := strings.Cut(clean, "/")
		if top == "" {
			top = first
			if !topName.MatchString(top) {
				return "", nil, nil, bad(name, "is not under a top directory named like shop-hotfix-bundle-6.14.2.3-6.14.2.9")
			}
		}
		if first != top {
			return "", nil, nil, bad(name, "lies outside the bundle's one top directory %q", top)
		}
		if seen[clean] {
			return "", nil, nil, bad(name, "appears twice")
		}
		seen[clean] = true
		dir, base := path.Split(rest)
		switch {
		case isDir && (rest == "" || rest == "repodata"):
			continue
		case isDir:
			return "", nil, nil, bad(name, "is a directory other than repodata/")
		case rest == "":
			return "", nil, nil, bad(name, "is the top directory but not a directory")
		case rest == "manifest.json":
			if h.Size > maxBundleManifest {
				return "", nil, nil, bad(name, "is %d bytes, more than %d", h.Size, maxBundleManifest)
			}
			if manifest, err = io.ReadAll(tr); err != nil {
				return "", nil, nil, bad(name, "cannot be read: %v", err)
			}
			continue
		case dir != "" && dir != "repodata/", len(base) > maxBundleName, !bundleFileName.MatchString(base),
			dir == "" && !strings.HasSuffix(base, ".rpm"):
			return "", nil, nil, bad(name, "is not an RPM, a repodata/ file or manifest.json")
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return "", nil, nil, bad(name, "is a sparse file")
			}
		}
		// The content is taken from the copy itself: what is hashed is what is written.
		off, _ := r.Seek(0, io.SeekCurrent)
		if h.Size < 0 || off+h.Size > int64(len(data)) {
			return "", nil, nil, bad(name, "is cut short")
		}
		sum := sha256.Sum256(data[off : off+h.Size])
		files = append(files, bundleEntry{rel: rest, offset: off, size: h.Size, sha256: hex.EncodeToString(sum[:])})
	}
	if top == "" {
		return "", nil, nil, bad("", "is empty")
	}
	if manifest == nil {
		return "", nil, nil, bad("", "has no %s/manifest.json", top)
	}
	m = &BundleManifest{}
	dec := json.NewDecoder(bytes.NewReader(manifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return "", nil, nil, bad(top+"/manifest.json", "is not a bundle manifest: %v", err)
	}
	if err := m.Check(); err != nil {
		return "", nil, nil, bad(top+"/manifest.json", "%v", err)
	}
	from, _ := hotfix.ParseVersion(m.From)
	to, _ := hotfix.ParseVersion(m.To)
	if want := BundleTopDir(m.Product, from, to); top != want {
		return "", nil, nil, bad(top+"/", "is not named %s, after the manifest", want)
	}
	listed := map[string]BundleFile{}
	for _, f := range m.Files {
		listed[f.Path] = f
	}
	for _, f := range files {
		l, ok := listed[f.rel]
		switch {
		case !ok:
			return "", nil, nil, bad(top+"/"+f.rel, "is not in the manifest")
		case l.Size != f.size || l.SHA256 != f.sha256:
			return "", nil, nil, bad(top+"/"+f.rel, "does not match its SHA-256 in the manifest")
		}
		delete(listed, f.rel)
	}
	for p := range listed {
		return "", nil, nil, bad(top+"/"+p, "is in the manifest but not in the bundle")
	}
	return top, m, files, nil
}

// tarKind names a tar entry type for messages.
func tarKind(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "named pipe"
	case tar.TypeXGlobalHeader:
		return "global PAX header"
	}
	return fmt.Sprintf("entry of type %q", t)
}
