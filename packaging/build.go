package packaging

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/sysconfig"
)

// BuildOptions say how to build a hotfix.
type BuildOptions struct {
	Product    string // names the packages: shop-hotfix-6_14_2_3
	Release    int    // the RPM release: 0, raised by each rebuild of the same hotfix
	PatchesDir string // where hosts unpack hotfixes; default DefaultPatchesDir(Product)
	// Signer signs the RPM (OpenPGP); nil builds an unsigned package.
	Signer *sign.Signer
	// TarballKey signs the tarball (.sig next to it); nil writes no signature.
	TarballKey *sign.TarballKey
	// Time is every file's mtime, the build time and the signature time (SOURCE_DATE_EPOCH).
	// Zero means the newest mtime of the hotfix's files and symlinks, so rebuilding an
	// unchanged directory gives the same bytes without setting anything.
	Time                 time.Time
	License, Vendor, URL string // RPM tags; License defaults to "Proprietary"
	OutDir               string // created if missing
}

// BuildResult names what Build wrote.
type BuildResult struct {
	Version   hotfix.Version
	RPM       string // OutDir/shop-hotfix-6_14_2_3-1-0.noarch.rpm
	Tarball   string // OutDir/shop-hotfix-6.14.2.3.tar.gz
	Signature string // OutDir/shop-hotfix-6.14.2.3.tar.gz.sig, "" without a TarballKey
	// FilelistWritten is true when the source had no filelist.txt and the build made one
	// (in the packages only: the source is never written to).
	FilelistWritten bool
}

// Build builds the RPM and the tarball of the hotfix directory src into o.OutDir. Nothing
// is written unless every output could be made; each output replaces its file atomically.
func Build(src string, o BuildOptions) (*BuildResult, error) {
	if err := checkProduct(o.Product); err != nil {
		return nil, err
	}
	if o.Release < 0 {
		return nil, fmt.Errorf("release %d is negative: use 0 for the first build of a hotfix, and raise it for each rebuild", o.Release)
	}
	if o.PatchesDir == "" {
		o.PatchesDir = DefaultPatchesDir(o.Product)
	}
	if err := checkAbsDir("patches directory", o.PatchesDir); err != nil {
		return nil, err
	}
	if o.License == "" {
		o.License = "Proprietary"
	}
	if o.OutDir == "" {
		return nil, fmt.Errorf("no output directory: say where the packages go with -out DIR")
	}
	c, err := loadContent(src)
	if err != nil {
		return nil, err
	}
	when := o.Time
	if when.IsZero() {
		when = c.newest
	}
	when = wholeSeconds(when)
	if err := checkSigner(o.Signer, when); err != nil {
		return nil, err
	}
	v := c.version

	res := &BuildResult{
		Version:         v,
		RPM:             filepath.Join(o.OutDir, hotfix.RPMFileName(o.Product, v, o.Release)),
		Tarball:         filepath.Join(o.OutDir, hotfix.TarballName(o.Product, v)),
		FilelistWritten: c.filelist,
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	// The RPM and the tarball are made side by side, each streaming the files from disk:
	// each compresses on every core, and waits for the disk at other times.
	outs := []output{{path: res.RPM}, {path: res.Tarball}}
	var errs [2]error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		outs[0].temp, errs[0] = hotfixSpec(c, &o, when).build(o.OutDir)
	}()
	go func() {
		defer wg.Done()
		outs[1].temp, errs[1] = tarball(c, hotfix.DirName(o.Product, v), when, o.OutDir)
	}()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		removeTemps(outs)
		return nil, err
	}
	if o.TarballKey != nil {
		res.Signature = res.Tarball + ".sig"
		sig, err := o.TarballKey.SignFile(outs[1].temp)
		if err == nil {
			var t string
			if t, err = writeTemp(o.OutDir, sig, 0o644); err != nil {
				err = fmt.Errorf("write %s: %w", res.Signature, err)
			}
			outs = append(outs, output{res.Signature, t})
		}
		if err != nil {
			removeTemps(outs)
			return nil, err
		}
	}
	if err := publishOutputs(o.OutDir, outs); err != nil {
		return nil, err
	}
	return res, nil
}

// ParseSourceDateEpoch reads SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/):
// "" gives the zero time (each build then picks its default), anything else must be a
// non-negative number of seconds since 1970.
func ParseSourceDateEpoch(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<31-1 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970 (up to 2038, as rpm stores it): set it like SOURCE_DATE_EPOCH=$(git log -1 --format=%%ct), or unset it", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// checkSigner fails, before anything is written, when s cannot sign output dated when: an
// expired or revoked key, say, with what to do.
func checkSigner(s *sign.Signer, when time.Time) error {
	if s == nil {
		return nil
	}
	_, err := s.SignatureTime(when)
	return err
}

// wholeSeconds drops what rpm cannot store: fractions of a second, and times before 1970.
func wholeSeconds(t time.Time) time.Time {
	if t.Unix() < 0 {
		return time.Unix(0, 0).UTC()
	}
	return time.Unix(t.Unix(), 0).UTC()
}

func checkProduct(p string) error {
	if p == "" {
		return fmt.Errorf("no product: name it with -product, like -product shop")
	}
	if !sysconfig.ValidProduct(p) {
		return fmt.Errorf("product %q: want lower-case letters, digits and '-', starting with a letter or digit, like shop", p)
	}
	return nil
}

// checkAbsDir checks a path that goes into scriptlets and package file lists: absolute,
// clean, and nothing a shell would interpret.
func checkAbsDir(what, p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" || strings.ContainsAny(p, " \t\n\"'\\$`;&|<>*?()[]{}") {
		return fmt.Errorf("%s %q: want a clean absolute path without spaces, quotes or shell characters, like /var/opt/shop/Patches", what, p)
	}
	return nil
}
