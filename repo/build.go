package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hotchain/hotchain/internal/ordered"
	"github.com/hotchain/hotchain/repo/compress"
	"github.com/hotchain/hotchain/repo/rpmfile"
	"github.com/hotchain/hotchain/repo/rpmmd"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/sysconfig"
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
	Signer *sign.Signer
	// Compress is the compression of the metadata files: "gz" (also when empty), which
	// every yum and dnf reads, or "zstd", createrepo_c 1.x's default, which RHEL 9's dnf
	// reads (older yum and dnf may not).
	Compress string
	// NoUpdate reads every package again instead of reusing the entries of unchanged ones.
	NoUpdate bool
	// Time is the repository's revision and the time of its metadata files: the time of the
	// run, or SOURCE_DATE_EPOCH for a reproducible one.
	Time time.Time
	// Log receives a line per package read and warnings; nil discards them.
	Log io.Writer
	// ChangelogLimit is how many of the newest changelog entries of each package other.xml
	// keeps, as createrepo_c's --changelog-limit: 0 means DefaultChangelogLimit,
	// AllChangelogs every entry, NoChangelogs none. Entries reused in an update keep the
	// changelog they were written with (createrepo_c --update does the same): a new limit
	// reaches unchanged packages with NoUpdate.
	ChangelogLimit int
}

// Changelog limits (Options.ChangelogLimit).
const (
	DefaultChangelogLimit = 10 // createrepo_c's default
	AllChangelogs         = rpmfile.AllChangelogs
	NoChangelogs          = -2
)

func (o *Options) readOptions() rpmfile.Options {
	switch l := o.ChangelogLimit; {
	case l == 0:
		return rpmfile.Options{ChangelogLimit: DefaultChangelogLimit}
	case l == NoChangelogs:
		return rpmfile.Options{ChangelogLimit: 0}
	case l < 0:
		return rpmfile.Options{ChangelogLimit: rpmfile.AllChangelogs}
	default:
		return rpmfile.Options{ChangelogLimit: l}
	}
}

// CheckCompression accepts the compressions that Options.Compress takes: gz and zstd.
func CheckCompression(name string) error {
	_, err := compress.ForOutput(name)
	return err
}

// Result says what Build did.
type Result struct {
	Packages int    // in the repository
	Reused   int    // entries taken from the old metadata without reading the package
	RepoFile string // path of the .repo file written
}

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
	if o.Product != "" && !sysconfig.ValidProduct(o.Product) {
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
	if o.Compress != "" {
		if _, err := compress.ForOutput(o.Compress); err != nil {
			return "", err
		}
	}
	if o.ChangelogLimit < NoChangelogs {
		return "", fmt.Errorf("changelog limit %d: want a number of entries, AllChangelogs or NoChangelogs", o.ChangelogLimit)
	}
	if o.Signer != nil {
		// A key that cannot sign repomd.xml fails here, before any package is read.
		if _, err := o.Signer.SignatureTime(o.Time); err != nil {
			return "", err
		}
	}
	return baseVersion, nil
}

// Build writes repodata/ for the RPMs in o.Dir, its signature, the public key and the
// .repo file. It changes nothing when it fails: the new metadata is written to a
// temporary directory in o.Dir and takes the place of the old one only when complete.
// It holds o.Dir's lock while it runs (see runlock.go).
func Build(ctx context.Context, o Options) (*Result, error) {
	if _, err := o.check(); err != nil {
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
	fl, err := lockRepo(ctx, o.Dir, log)
	if err != nil {
		return nil, err
	}
	defer fl.Unlock()
	return buildLocked(ctx, o, log)
}

// buildLocked is Build under the repository's lock.
// buildLocked builds the metadata under the repository's lock. Old metadata only saves
// time: when it turns out unusable while the new is written (oldMetadataError), the build
// starts again reading every package.
func buildLocked(ctx context.Context, o Options, log io.Writer) (*Result, error) {
	for {
		res, err := buildOnce(ctx, o, log)
		var oe *oldMetadataError
		if errors.As(err, &oe) && !o.NoUpdate {
			fmt.Fprintf(log, "warning: old metadata in %s not reused: %v\n", filepath.Join(o.Dir, "repodata"), err)
			o.NoUpdate = true
			continue
		}
		return res, err
	}
}

// listed is the packages the metadata lists: what FindPackages finds, less what hotchain
// serve would not serve (servable), each with a warning.
func listed(o Options, root *os.Root, log io.Writer) ([]string, error) {
	found, err := FindPackages(o.Dir, log)
	if err != nil {
		return nil, err
	}
	var hrefs []string
	for _, href := range found {
		if err := servable(root, href); err != nil {
			fmt.Fprintf(log, "warning: %s not listed: %v\n", filepath.Join(o.Dir, filepath.FromSlash(href)), err)
			continue
		}
		hrefs = append(hrefs, href)
	}
	return hrefs, nil
}

func buildOnce(ctx context.Context, o Options, log io.Writer) (*Result, error) {
	baseVersion, err := o.check()
	if err != nil {
		return nil, err
	}

	root, err := os.OpenRoot(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("repository directory: %w", err)
	}
	defer root.Close()
	hrefs, err := listed(o, root, log)
	if err != nil {
		return nil, err
	}
	oldSig := readOldSignature(o.Dir)
	var old *oldMetadata
	if !o.NoUpdate && o.Signer != nil && oldSig.keysChanged(o.Signer) {
		fmt.Fprintf(log, "note: the signing keys changed to %s: every package is read again to check its signature\n", o.Signer.KeyIDs())
		o.NoUpdate = true
	}
	if !o.NoUpdate {
		old, err = loadOld(o.Dir)
		if err != nil {
			// Old metadata only saves time: read every package instead.
			fmt.Fprintf(log, "warning: old metadata in %s not reused: %v\n", filepath.Join(o.Dir, "repodata"), err)
			old = nil
		}
	}

	comp := compress.Formats[0]
	if o.Compress != "" {
		comp, _ = compress.ForOutput(o.Compress)
	}
	res := &Result{Packages: len(hrefs)}
	rp := planReads(o, root, hrefs, old)
	res.Reused = rp.reused
	// The new metadata is written into a temporary directory beside the old one, which it
	// replaces only once complete (publish).
	tmp, err := os.MkdirTemp(o.Dir, tmpPrefix)
	if err != nil {
		return nil, fmt.Errorf("write metadata: %w", err)
	}
	defer os.RemoveAll(tmp)
	// MkdirTemp makes 0700; the web server and rsync of a mirror must read it.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("write metadata: %w", err)
	}
	recs, err := readAndWrite(ctx, o, root, hrefs, rp, old, oldSig, tmp, comp)
	if err != nil {
		return nil, err
	}
	entries, toRead := rp.entries, rp.toRead
	var logText bytes.Buffer
	for _, i := range toRead {
		fmt.Fprintf(&logText, "read %s\n", hrefs[i])
	}
	log.Write(logText.Bytes())
	if o.Product == "" {
		if o.Product, err = inferProduct(entries); err != nil {
			return nil, err
		}
	}
	files, err := o.render(recs, baseVersion)
	if err != nil {
		return nil, err
	}
	oldSig.report(o.Signer, log)
	if err := publish(o.Dir, tmp, files, o.Time); err != nil {
		return nil, err
	}
	res.RepoFile = filepath.Join(o.Dir, RepoFileName(o.Product))
	return res, nil
}

// readPlan is, per listed package, its entry when the old metadata's can be reused
// (createrepo_c --update's test: same location, size and mtime in seconds), or the file to
// read, or why it cannot be read.
type readPlan struct {
	entries []*entry
	errs    []error
	infos   []os.FileInfo // nil: nothing to read
	toRead  []int
	reused  int
}

func planReads(o Options, root *os.Root, hrefs []string, old *oldMetadata) *readPlan {
	rp := &readPlan{entries: make([]*entry, len(hrefs)), errs: make([]error, len(hrefs)), infos: make([]os.FileInfo, len(hrefs))}
	for i, href := range hrefs {
		fi, err := root.Stat(filepath.FromSlash(href))
		if err != nil {
			rp.errs[i] = fmt.Errorf("read package %s: %w", filepath.Join(o.Dir, filepath.FromSlash(href)), err)
			continue
		}
		if j, ok := old.find(href); ok {
			if e := old.entries[j]; e.size == fi.Size() && e.fileTime == fi.ModTime().Unix() {
				rp.entries[i] = e
				rp.reused++
				continue
			}
		}
		rp.infos[i] = fi
		rp.toRead = append(rp.toRead, i)
	}
	return rp
}

// readAndWrite reads the packages of rp on every core (hashing the whole file and parsing
// its header are most of the work of a new repository) and writes primary, filelists and
// other into tmp as the entries come in, in order. Every package is read even when the
// writing stopped early, so that the error names every damaged one, not only the first.
func readAndWrite(ctx context.Context, o Options, root *os.Root, hrefs []string, rp *readPlan, old *oldMetadata, oldSig *oldSignature, tmp string, comp compress.Format) ([]*record, error) {
	readers := sync.Pool{New: func() any {
		return &packageReader{rpm: rpmfile.Reader{Root: root, Options: o.readOptions()}}
	}}
	pool := ordered.Start(len(hrefs), runtime.GOMAXPROCS(0), func(i int) error {
		if rp.infos[i] == nil {
			return nil // reused, or not readable (errs[i])
		}
		if err := ctx.Err(); err != nil {
			return err // unread: ends the writing too
		}
		pr := readers.Get().(*packageReader)
		defer readers.Put(pr)
		path := filepath.Join(o.Dir, filepath.FromSlash(hrefs[i]))
		rp.entries[i], rp.errs[i] = readEntry(path, hrefs[i], rp.infos[i], o.Signer, pr)
		return nil
	})
	defer pool.Stop()
	recs, writeErr := writeRecords(tmp, rp.entries, func(i int) { pool.Wait(i) }, old, o.Time, comp)
	for i := range hrefs {
		pool.Wait(i)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if bad := errors.Join(rp.errs...); bad != nil {
		msg := "nothing was written: the old metadata in %s is unchanged"
		if oldSig.stale(o.Signer) {
			msg += ", and its repomd.xml.asc does not match repomd.xml (another tool changed the metadata after it was signed): hosts refuse the repository until a run succeeds"
		}
		return nil, fmt.Errorf("%w\n"+msg, bad, filepath.Join(o.Dir, "repodata"))
	}
	var oe *oldMetadataError
	if errors.As(writeErr, &oe) {
		return nil, writeErr // buildLocked reads every package instead
	}
	if writeErr != nil {
		return nil, fmt.Errorf("write metadata: %w", writeErr)
	}
	return recs, nil
}

// packageReader reads packages and renders their entries, reusing its buffers from one
// package to the next (one per goroutine).
type packageReader struct {
	rpm rpmfile.Reader
	xml rpmmd.Writer // renders the package's elements (newEntry)
}

// entry is one package as the metadata holds it: its elements of primary, filelists and
// other, made from the package or reused, byte for byte, from the old metadata; and what
// Build needs to know about it.
type entry struct {
	name, arch string
	location   string // relative to the repository, with slashes
	size       int64  // of the package file
	fileTime   int64  // its mtime, seconds
	xml        [3][]byte
	oldIndex   int // its place in the old metadata; -1 for a package read in this run
}

// readEntry reads the package at path and makes its entry; with a signer, the package
// must carry its signature.
func readEntry(path, href string, fi os.FileInfo, signer *sign.Signer, pr *packageReader) (*entry, error) {
	p, raw, err := pr.rpm.ReadFile(path, href, fi)
	if err != nil {
		return nil, err
	}
	if signer != nil {
		if err := raw.CheckSignature(signer); err != nil {
			return nil, fmt.Errorf("package %s: %w", path, err)
		}
	}
	return newEntry(p, &pr.xml), nil
}

// newEntry renders p's elements in the scratch writer w, which grows to the largest
// package's and is reused, and keeps a copy of exactly their size: a buffer allocated for
// each package would be zeroed first, for nothing.
func newEntry(p *rpmfile.Package, w *rpmmd.Writer) *entry {
	w.Reset()
	w.AppendPrimary(p)
	a := w.Len()
	w.AppendFilelists(p)
	b := w.Len()
	w.AppendOther(p)
	x := bytes.Clone(w.Bytes())
	return &entry{
		name: p.Name, arch: p.Arch, location: p.Location, size: p.PackageSize, fileTime: p.FileTime,
		xml:      [3][]byte{x[:a:a], x[a:b:b], x[b:]},
		oldIndex: -1,
	}
}

// writeRecords writes primary, filelists and other into dir, side by side, each taking
// entry i once wait(i) returns; an entry that is still nil then ends the writing.
func writeRecords(dir string, entries []*entry, wait func(i int), old *oldMetadata, mtime time.Time, c compress.Format) ([]*record, error) {
	files := []struct {
		typ, head, tail string
	}{
		{"primary", rpmmd.PrimaryHead(len(entries)), rpmmd.PrimaryTail},
		{"filelists", rpmmd.FilelistsHead(len(entries)), rpmmd.FilelistsTail},
		{"other", rpmmd.OtherHead(len(entries)), rpmmd.OtherTail},
	}
	recs := make([]*record, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for k, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := &elementSource{k: k, entries: entries, wait: wait, old: old}
			defer src.close()
			if recs[k], errs[k] = writeRecord(dir, f.typ, f.head, len(entries), src, f.tail, mtime, c); errs[k] != nil {
				errs[k] = fmt.Errorf("%s: %w", f.typ, errs[k])
			}
		}()
	}
	wg.Wait()
	return recs, errors.Join(errs...)
}

// hotfixName matches the packages of a hotfix chain: PRODUCT-hotfix-6_14_2_3 and
// PRODUCT-hotfix-base.
// Compiled on first use: the host side never needs it, and every command pays for what
// package initialisation does.
var hotfixName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([a-z0-9][a-z0-9-]*)-hotfix-(base|[0-9]+(_[0-9]+)+)$`)
})

func inferProduct(entries []*entry) (string, error) {
	var product string
	for _, e := range entries {
		m := hotfixName().FindStringSubmatch(e.name)
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

func (o *Options) render(recs []*record, baseVersion string) ([]outFile, error) {
	repomd := writeRepomd(recs, o.Time.Unix())
	out := []outFile{{"repomd.xml", repomd, true}}
	if o.Signer != nil {
		// A copy: the output is dated at the run's time, whatever the caller's Signer says;
		// the signature's own time follows sign's one rule (Signer.SignatureTime).
		s := o.Signer.At(o.Time)
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
