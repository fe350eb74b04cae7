package packaging

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/google/rpmpack"
)

// Dependency flags that rpmpack does not name (rpm's include/rpm/rpmds.h).
const (
	senseScriptPre   = 1 << 9
	senseScriptPost  = 1 << 10
	senseScriptPreun = 1 << 11
)

// sigTagPayloadSize is RPMSIGTAG_PAYLOADSIZE: the size of the uncompressed cpio archive.
const sigTagPayloadSize = 1007

// scriptProg is the interpreter of every scriptlet: rpmpack always writes /bin/sh as the
// program tag, and our scriptlets are plain POSIX shell.
const scriptProg = "/bin/sh"

// rpmlibRequires are the rpm features our packages use, required the way rpmbuild requires
// them, so that an rpm too old to read SHA-256 file digests refuses the package with a clear
// message instead of installing it wrongly.
var rpmlibRequires = []*rpmpack.Relation{
	{Name: "rpmlib(CompressedFileNames)", Version: "3.0.4-1", Sense: rpmpack.SenseRPMLIB | rpmpack.SenseLess | rpmpack.SenseEqual},
	{Name: "rpmlib(FileDigests)", Version: "4.6.0-1", Sense: rpmpack.SenseRPMLIB | rpmpack.SenseLess | rpmpack.SenseEqual},
}

// pkgSpec is a whole package, decided before rpmpack sees it, so that the build is one pure
// function of it.
type pkgSpec struct {
	name, version, release, arch string
	summary, description         string
	license, vendor, url         string
	requires                     []*rpmpack.Relation
	files                        []rpmpack.RPMFile
	pre, post, preun             string
	// when is the build time, and the time of the package signatures.
	when   time.Time
	signer *Signer
}

// build writes the package. It corrects what rpmpack v0.7.1 gets wrong:
//
//   - RPMSIGTAG_PAYLOADSIZE: rpmpack stores the sum of the file sizes, but rpm defines it as
//     the size of the uncompressed cpio archive (headers, padding and trailer included); we
//     store the true size;
//   - the epoch: rpmpack writes an Epoch tag of 0 when none is asked for, and provides the
//     package itself without the epoch, which is wrong for any package that has one. Hotfix
//     and base packages have no epoch, so we write none, and the self-provide
//     "NAME = VERSION-RELEASE" is then exactly right.
//
// It also refuses sizes that rpmpack would silently truncate (its size tags are 32 bits).
func (p *pkgSpec) build() ([]byte, error) {
	var total uint64
	for _, f := range p.files {
		if uint64(len(f.Body)) > math.MaxUint32 {
			return nil, fmt.Errorf("%s is %d bytes: a package file must be smaller than 4 GiB", f.Name, len(f.Body))
		}
		total += uint64(len(f.Body))
	}
	archive := cpioSize(p.files)
	if total > math.MaxInt32 || archive > math.MaxInt32 {
		return nil, fmt.Errorf("package %s would hold %d bytes: packages are limited to 2 GiB, ship large content another way", p.name, total)
	}
	meta := rpmpack.RPMMetaData{
		Name:        p.name,
		Version:     p.version,
		Release:     p.release,
		Epoch:       rpmpack.NoEpoch,
		Arch:        p.arch,
		OS:          "linux",
		Summary:     p.summary,
		Description: p.description,
		Licence:     p.license,
		Vendor:      p.vendor,
		URL:         p.url,
		BuildHost:   "hotchain",
		BuildTime:   p.when,
		Compressor:  "gzip",
		Requires:    append(append(rpmpack.Relations{}, rpmlibRequires...), p.requires...),
	}
	r, err := rpmpack.NewRPM(meta)
	if err != nil {
		return nil, fmt.Errorf("build package %s: %w", p.name, err)
	}
	for _, f := range p.files {
		r.AddFile(f)
	}
	r.AddPrein(p.pre)
	r.AddPostin(p.post)
	r.AddPreun(p.preun)
	r.AddCustomSig(sigTagPayloadSize, rpmpack.EntryInt32([]int32{int32(archive)}))
	if p.signer != nil {
		s := *p.signer
		s.Time = signingTime(&s, p.when)
		r.SetPGPSigner(s.Sign)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, fmt.Errorf("build package %s: %w", p.name, err)
	}
	return buf.Bytes(), nil
}

// cpioSize is the size of the cpio archive rpmpack writes for files: the same headers
// through the same cpio writer, counted instead of kept.
func cpioSize(files []rpmpack.RPMFile) uint64 {
	sorted := append([]rpmpack.RPMFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var n countingWriter
	w := cpio.NewWriter(&n)
	for _, f := range sorted {
		if f.Type&rpmpack.GhostFile != 0 {
			continue
		}
		mode, links := f.Mode, 1
		switch {
		case mode&040000 != 0:
			links = 2
		case mode&0120000 == 0120000:
		default:
			mode |= 0100000
		}
		// Writing to a counter cannot fail; rpmpack's own write reports any real problem.
		_ = w.WriteHeader(&cpio.Header{Name: f.Name, Mode: cpio.FileMode(mode), Size: int64(len(f.Body)), Links: links})
		_, _ = w.Write(f.Body)
	}
	_ = w.Close()
	return uint64(n)
}

type countingWriter uint64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

// signingTime is when the package signatures say they were made: the build time, or the
// key's creation time when the key is younger than SOURCE_DATE_EPOCH, because a signature
// older than its key is invalid (OpenPGP refuses to make it, rpm to accept it). Both are
// fixed for a given key and input, so the output stays reproducible.
func signingTime(s *Signer, when time.Time) time.Time {
	t := when
	e := s.entity
	if c := e.PrimaryKey.CreationTime; c.After(t) {
		t = c
	}
	for _, sub := range e.Subkeys {
		if c := sub.PublicKey.CreationTime; c.After(t) {
			t = c
		}
	}
	return t
}

// owned is a file of a package owned by root, as every file we package is.
func owned(name string, mode uint, body []byte, mtime uint32, typ rpmpack.FileType) rpmpack.RPMFile {
	return rpmpack.RPMFile{Name: name, Mode: mode, Body: body, Owner: "root", Group: "root", MTime: mtime, Type: typ}
}
