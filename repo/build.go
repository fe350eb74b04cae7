package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/packaging"
)

// Options say what Build publishes.
type Options struct {
	// Dir is the repository: a directory of RPMs, named after its base version
	// (<repo root>/6.14.2). RPMs in subdirectories count too.
	Dir string
	// Product names the .repo file and the repository id (shop: shop-hotfix); empty: the
	// product that the package names (shop-hotfix-6_14_2_1, shop-hotfix-base) agree on.
	Product string
	// BaseVersion is the base version the repository serves; empty: the name of Dir.
	BaseVersion string
	// BaseURLs are the URLs of the repository root (the parent of Dir) for the .repo file,
	// tried in order. See RepoFile.
	BaseURLs []string
	// Signer signs repomd.xml and must have signed every package read in this run; nil
	// publishes an unsigned repository.
	Signer *packaging.Signer
	// NoUpdate reads every package again instead of reusing the entries of unchanged ones.
	NoUpdate bool
	// Time is the repository's revision and the time of its metadata files: the time of the
	// run, or SOURCE_DATE_EPOCH for a reproducible one.
	Time time.Time
	// Log receives a line per package read and warnings; nil discards them.
	Log io.Writer
}

// Result says what Build did.
type Result struct {
	Packages int    // in the repository
	Reused   int    // entries taken from the old metadata without reading the package
	RepoFile string // path of the .repo file written
}

var productRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// CheckBaseURL accepts the URL of a repository root that dnf and yum can fetch from.
func CheckBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("base URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("base URL %q has no host: want http://host/path", raw)
		}
	case "file":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("base URL %q: a file URL takes an absolute path, like file:///srv/repo", raw)
		}
	default:
		return fmt.Errorf("base URL %q: scheme must be http, https or file", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, " \t\n,") {
		return fmt.Errorf("base URL %q: no spaces, commas, query or fragment: dnf splits the baseurl list on them", raw)
	}
	return nil
}

func (o *Options) check() (baseVersion string, err error) {
	if o.Product != "" && !productRE.MatchString(o.Product) {
		return "", fmt.Errorf("product %q: want lower-case letters, digits and dashes, like shop", o.Product)
	}
	if len(o.BaseURLs) == 0 {
		return "", fmt.Errorf("no base URL: give the URL that hosts will reach the repository root at with -base-url")
	}
	for _, u := range o.BaseURLs {
		if err := CheckBaseURL(u); err != nil {
			return "", err
		}
	}
	baseVersion = o.BaseVersion
	if baseVersion == "" {
		abs, err := filepath.Abs(o.Dir)
		if err != nil {
			return "", err
		}
		baseVersion = filepath.Base(abs)
		if _, err := hotfix.ParseVersion(baseVersion); err != nil {
			return "", fmt.Errorf("repository directory %s is not named after a base version (%v): name it like 6.14.2 or give -base-version", o.Dir, err)
		}
	}
	if _, err := hotfix.ParseVersion(baseVersion); err != nil {
		return "", fmt.Errorf("base version: %w", err)
	}
	if o.Time.IsZero() {
		return "", fmt.Errorf("no time for the metadata")
	}
	return baseVersion, nil
}

// Build writes repodata/ for the RPMs in o.Dir, its signature, the public key and the
// .repo file. It changes nothing when it fails: the new metadata is written to a
// temporary directory in o.Dir and takes the place of the old one only when complete.
func Build(ctx context.Context, o Options) (*Result, error) {
	baseVersion, err := o.check()
	if err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	if fi, err := os.Stat(o.Dir); err != nil {
		return nil, fmt.Errorf("repository directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("repository directory %s is not a directory", o.Dir)
	}

	hrefs, err := findPackages(o.Dir)
	if err != nil {
		return nil, err
	}
	var old map[string]*pkg
	if !o.NoUpdate {
		old, err = loadOld(o.Dir)
		if err != nil {
			// Old metadata only saves time: read every package instead.
			fmt.Fprintf(log, "warning: old metadata in %s not reused: %v\n", filepath.Join(o.Dir, "repodata"), err)
			old = nil
		}
	}

	res := &Result{}
	var pkgs []*pkg
	var bad []error
	for _, href := range hrefs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		path := filepath.Join(o.Dir, filepath.FromSlash(href))
		fi, err := os.Stat(path)
		if err != nil {
			bad = append(bad, fmt.Errorf("read package %s: %w", path, err))
			continue
		}
		// createrepo_c --update's test: same location, size and mtime (seconds).
		if p := old[href]; p != nil && p.PackageSize == fi.Size() && p.FileTime == fi.ModTime().Unix() {
			pkgs = append(pkgs, p)
			res.Reused++
			continue
		}
		p, raw, err := readPackageFile(path, href, fi)
		if err == nil && o.Signer != nil {
			err = checkSignature(raw, o.Signer)
			if err != nil {
				err = fmt.Errorf("package %s: %w", path, err)
			}
		}
		if err != nil {
			bad = append(bad, err)
			continue
		}
		fmt.Fprintf(log, "read %s\n", href)
		pkgs = append(pkgs, p)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w\nnothing was written: the old metadata in %s is unchanged", errors.Join(bad...), filepath.Join(o.Dir, "repodata"))
	}
	res.Packages = len(pkgs)
	if o.Product == "" {
		if o.Product, err = inferProduct(pkgs); err != nil {
			return nil, err
		}
	}

	files, err := o.render(pkgs, baseVersion)
	if err != nil {
		return nil, err
	}
	if err := publish(o.Dir, files, o.Time); err != nil {
		return nil, err
	}
	res.RepoFile = filepath.Join(o.Dir, RepoFileName(o.Product))
	return res, nil
}

// hotfixName matches the packages of a hotfix chain: PRODUCT-hotfix-6_14_2_3 and
// PRODUCT-hotfix-base.
var hotfixName = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*)-hotfix-(base|[0-9]+(_[0-9]+)+)$`)

func inferProduct(pkgs []*pkg) (string, error) {
	var product string
	for _, p := range pkgs {
		m := hotfixName.FindStringSubmatch(p.Name)
		if m == nil {
			continue
		}
		if product != "" && m[1] != product {
			return "", fmt.Errorf("packages of two products (%s and %s) in one repository: pass -product, or keep each product in its own repository", product, m[1])
		}
		product = m[1]
	}
	if product == "" {
		return "", fmt.Errorf("no hotfix package tells the product: pass -product")
	}
	return product, nil
}

// outFile is a file that Build writes: in repodata/ (meta) or beside it.
type outFile struct {
	name string
	data []byte
	meta bool
}

func (o *Options) render(pkgs []*pkg, baseVersion string) ([]outFile, error) {
	var recs []*record
	for _, m := range []struct {
		typ   string
		write func([]*pkg) []byte
	}{{"primary", writePrimary}, {"filelists", writeFilelists}, {"other", writeOther}} {
		r, err := newRecord(m.typ, m.write(pkgs))
		if err != nil {
			return nil, fmt.Errorf("compress %s: %w", m.typ, err)
		}
		recs = append(recs, r)
	}
	repomd := writeRepomd(recs, o.Time.Unix())
	var out []outFile
	for _, r := range recs {
		out = append(out, outFile{r.FileName, r.Data, true})
	}
	out = append(out, outFile{"repomd.xml", repomd, true})
	if o.Signer != nil {
		// A copy: the signature time is the run's, whatever the caller's Signer says.
		s := *o.Signer
		s.Time = o.Time
		var sig bytes.Buffer
		if err := s.SignArmored(&sig, bytes.NewReader(repomd)); err != nil {
			return nil, fmt.Errorf("sign repomd.xml: %w", err)
		}
		out = append(out, outFile{"repomd.xml.asc", sig.Bytes(), true})
		key, err := s.PublicKeyArmored()
		if err != nil {
			return nil, err
		}
		out = append(out, outFile{"RPM-GPG-KEY-" + RepoName(o.Product), key, false})
	}
	out = append(out, outFile{RepoFileName(o.Product), RepoFile(o.Product, baseVersion, o.BaseURLs, o.Signer != nil), false})
	return out, nil
}

// findPackages lists the *.rpm files under dir as slash-separated relative paths, sorted
// (the order of the metadata). Hidden entries and repodata/ are skipped: they hold our
// own temporary directories.
func findPackages(dir string) ([]string, error) {
	var hrefs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("list packages: %w", err)
		}
		if path == dir {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || (d.IsDir() && name == "repodata" && filepath.Dir(path) == dir) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(name, ".rpm") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		hrefs = append(hrefs, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(hrefs)
	return hrefs, err
}

// loadOld reads the current metadata of dir, keyed by location; nil when there is none.
func loadOld(dir string) (map[string]*pkg, error) {
	repodata := filepath.Join(dir, "repodata")
	repomd, err := os.ReadFile(filepath.Join(repodata, "repomd.xml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	locs, err := metadataLocations(repomd)
	if err != nil {
		return nil, fmt.Errorf("repomd.xml: %w", err)
	}
	var data [3][]byte
	for i, typ := range []string{"primary", "filelists", "other"} {
		l, ok := locs[typ]
		if !ok {
			return nil, fmt.Errorf("repomd.xml lists no %s", typ)
		}
		data[i], err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(l.href)))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data[i])
		if hex.EncodeToString(sum[:]) != l.sha256 {
			return nil, fmt.Errorf("%s does not match its sha256 in repomd.xml", l.href)
		}
	}
	pkgs, err := parseMetadata(data[0], data[1], data[2])
	if err != nil {
		return nil, err
	}
	m := make(map[string]*pkg, len(pkgs))
	for _, p := range pkgs {
		m[p.Location] = p
	}
	return m, nil
}
