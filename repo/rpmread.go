package repo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cavaliergopher/rpm"
)

// RPM header tags that the metadata needs (rpm's include/rpm/rpmtag.h).
const (
	tagName          = 1000
	tagVersion       = 1001
	tagRelease       = 1002
	tagEpoch         = 1003
	tagSummary       = 1004
	tagDescription   = 1005
	tagBuildTime     = 1006
	tagBuildHost     = 1007
	tagSize          = 1009
	tagVendor        = 1011
	tagLicense       = 1014
	tagPackager      = 1015
	tagGroup         = 1016
	tagURL           = 1020
	tagArch          = 1022
	tagFileModes     = 1030
	tagFileFlags     = 1037
	tagSourceRPM     = 1044
	tagArchiveSize   = 1046
	tagProvideName   = 1047
	tagRequireFlags  = 1048
	tagRequireName   = 1049
	tagRequireVer    = 1050
	tagConflictFlags = 1053
	tagConflictName  = 1054
	tagConflictVer   = 1055
	tagObsoleteName  = 1090
	tagProvideFlags  = 1112
	tagProvideVer    = 1113
	tagObsoleteFlags = 1114
	tagObsoleteVer   = 1115
	tagChangeTime    = 1080
	tagChangeName    = 1081
	tagChangeText    = 1082
	tagSourcePackage = 1106
	tagDirIndexes    = 1116
	tagBaseNames     = 1117
	tagDirNames      = 1118
	tagLongSize      = 5009
	tagSuggestName   = 5049
	tagSuggestVer    = 5050
	tagSuggestFlags  = 5051
	tagEnhanceName   = 5055
	tagEnhanceVer    = 5056
	tagEnhanceFlags  = 5057
	tagRecommendName = 5046
	tagRecommendVer  = 5047
	tagRecommendFlag = 5048
	tagSupplemName   = 5052
	tagSupplemVer    = 5053
	tagSupplemFlags  = 5054

	// Signature header tags.
	sigTagSize            = 1000 // header + payload
	sigTagPayloadSize     = 1007
	sigTagLongSize        = 270
	sigTagLongArchiveSize = 271
)

const (
	leadSize        = 96
	headerIntroSize = 16
	fileFlagGhost   = 1 << 6
	modeTypeMask    = 0o170000
	modeDir         = 0o040000
)

// fullReader turns every Read into io.ReadFull. cavaliergopher/rpm reads each header
// structure with a single Read and takes a short read for the whole (v1.2.0): behind a
// bufio.Reader or a pipe that silently corrupts the header.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) { return io.ReadFull(f.r, p) }

// countingReader counts the bytes that the RPM parser consumed: the header's end.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// rawHeader is what a signature check needs: the signature header and the bytes of
// the main header.
type rawHeader struct {
	sig    *rpm.Header
	header []byte
}

// packageReader reads packages, reusing its buffers from one package to the next (one per
// goroutine).
type packageReader struct {
	root *os.Root      // the repository; nil: packages are opened by path
	buf  []byte        // a whole package, up to maxBuffered
	br   *bufio.Reader // larger packages stream through it
	xml  xmlWriter     // renders the package's elements (newEntry)
}

// maxBuffered is the largest package read into memory at once: one read and one hash call
// instead of a stream through the parser, for the hotfixes of a typical repository.
const maxBuffered = 8 << 20

// readFile reads the metadata of the RPM at path; href is its location in the repository
// and the file's size and mtime come from fi. What it returns does not hold on to its
// buffers, except the raw header, which is good until the next call.
func (pr *packageReader) readFile(path, href string, fi os.FileInfo) (*pkg, *rawHeader, error) {
	var f *os.File
	var err error
	if pr.root != nil {
		// The bytes that Serve would serve: no symlink swapped in since the listing
		// leads out of the repository.
		f, err = pr.root.Open(filepath.FromSlash(href))
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read package %s: %w", path, err)
	}
	defer f.Close()
	var p *pkg
	var raw *rawHeader
	if size := fi.Size(); size <= maxBuffered {
		if int64(cap(pr.buf)) < size+1 {
			// Room to grow into: the packages of a repository are of all sizes.
			pr.buf = make([]byte, max(size+1, 2*int64(cap(pr.buf))))
		}
		// One byte more than the size, to see a package that grew since it was listed.
		n, rerr := io.ReadFull(f, pr.buf[:size+1])
		if rerr != nil && rerr != io.ErrUnexpectedEOF && rerr != io.EOF {
			return nil, nil, fmt.Errorf("read package %s: %w", path, rerr)
		}
		p, raw, err = readPackageData(pr.buf[:n], href)
	} else {
		if pr.br == nil {
			pr.br = bufio.NewReaderSize(nil, 64<<10)
		}
		p, raw, err = readPackageBuf(f, href, pr.br)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read package %s: %w", path, err)
	}
	if p.PackageSize != fi.Size() {
		return nil, nil, fmt.Errorf("read package %s: it changed while it was read (%d bytes, then %d): run again when it is complete", path, fi.Size(), p.PackageSize)
	}
	p.FileTime = fi.ModTime().Unix()
	return p, raw, nil
}

// maxHeaders bounds the lead and headers kept in memory; rpm's own limit for one header
// is 256 MiB, real ones are well under 1 MiB.
const maxHeaders = 64 << 20

// readPackage reads an RPM from r (to its end: the checksum covers the whole file) and
// returns its metadata, without the file time. Errors say what is wrong with the file.
func readPackage(r io.Reader, href string) (*pkg, *rawHeader, error) {
	return readPackageBuf(r, href, bufio.NewReaderSize(nil, 64<<10))
}

// readPackageBuf is readPackage reading through br, which it resets.
func readPackageBuf(r io.Reader, href string, br *bufio.Reader) (*pkg, *rawHeader, error) {
	h := sha256.New()
	br.Reset(io.TeeReader(r, h))
	cr := &countingReader{r: fullReader{br}}

	// Keep the bytes that go through the parser: the header range needs the signature
	// header's size, which the parser does not report, and the signature check needs the
	// main header's bytes.
	head := prefixBuffer{limit: maxHeaders}
	p, err := rpm.Read(io.TeeReader(cr, &head))
	if err != nil {
		return nil, nil, describeReadError(err, head.b)
	}
	hdrEnd := cr.n
	if hdrEnd > int64(len(head.b)) {
		return nil, nil, fmt.Errorf("damaged RPM header: longer than %d bytes", maxHeaders)
	}
	hdrStart, err := headerStart(head.b)
	if err != nil {
		return nil, nil, err
	}
	d := newDigests(p, head.b[hdrStart:])
	rest, err := io.Copy(d, br)
	if err != nil {
		return nil, nil, err
	}
	return packageFromHeader(p, head.b, hdrEnd+rest, hex.EncodeToString(h.Sum(nil)), href, d)
}

// readPackageData is readPackage for a package held in memory.
func readPackageData(data []byte, href string) (*pkg, *rawHeader, error) {
	cr := &countingReader{r: fullReader{bytes.NewReader(data)}}
	p, err := rpm.Read(cr)
	if err != nil {
		return nil, nil, describeReadError(err, data[:cr.n])
	}
	sum := sha256.Sum256(data)
	hdrStart, err := headerStart(data[:cr.n])
	if err != nil {
		return nil, nil, err
	}
	d := newDigests(p, data[hdrStart:cr.n])
	d.Write(data[cr.n:])
	return packageFromHeader(p, data[:cr.n], int64(len(data)), hex.EncodeToString(sum[:]), href, d)
}

// headerStart is the offset of the main header in head, the lead and headers of a package.
func headerStart(head []byte) (int64, error) {
	if len(head) < leadSize+headerIntroSize {
		return 0, fmt.Errorf("damaged RPM header: shorter than its lead")
	}
	sigIndex := int64(binary.BigEndian.Uint32(head[leadSize+8:]))
	sigData := int64(binary.BigEndian.Uint32(head[leadSize+12:]))
	sigLen := headerIntroSize + 16*sigIndex + sigData
	hdrStart := leadSize + sigLen + (8-sigLen%8)%8
	if hdrStart > int64(len(head)) {
		return 0, fmt.Errorf("damaged RPM header: signature header runs into the main header")
	}
	return hdrStart, nil
}

// packageFromHeader checks a parsed package against the bytes its headers took (head) and
// the size of the whole file, and returns its metadata.
//
// d holds the payload's digests, which are checked against the headers after the size:
// a truncated package is reported as truncated.
func packageFromHeader(p *rpm.Package, head []byte, size int64, checksum, href string, d *digests) (*pkg, *rawHeader, error) {
	hdrEnd := int64(len(head))
	hdrStart, err := headerStart(head)
	if err != nil {
		return nil, nil, err
	}

	// The signature header records the size of header and payload: a file that is shorter
	// or longer was cut off in a copy or upload.
	want := int64(-1)
	if v := tagInt(&p.Signature, sigTagLongSize); v >= 0 {
		want = v
	} else if v := tagInt(&p.Signature, sigTagSize); v >= 0 {
		want = v
	}
	if want >= 0 && hdrStart+want != size {
		if hdrStart+want > size {
			return nil, nil, fmt.Errorf("truncated: %d bytes, its header says %d: copy or build it again", size, hdrStart+want)
		}
		return nil, nil, fmt.Errorf("%d bytes of trailing garbage after the payload: copy or build it again", size-hdrStart-want)
	}

	if err := d.check(p, head[hdrStart:hdrEnd]); err != nil {
		return nil, nil, err
	}
	out, err := fromHeader(p)
	if err != nil {
		return nil, nil, err
	}
	out.Checksum = checksum
	out.Location = href
	out.PackageSize = size
	out.HeaderStart = hdrStart
	out.HeaderEnd = hdrEnd
	return out, &rawHeader{sig: &p.Signature, header: head[hdrStart:hdrEnd]}, nil
}

var errNotRPM = errors.New("not an RPM package (no RPM lead): remove it from the repository directory or rename it")

var rpmMagic = []byte{0xED, 0xAB, 0xEE, 0xDB}

func describeReadError(err error, head []byte) error {
	switch {
	case len(head) == 0:
		return fmt.Errorf("empty file, not an RPM package: remove it from the repository directory or copy it again")
	case errors.Is(err, rpm.ErrNotRPMFile), !bytes.HasPrefix(head, rpmMagic[:min(len(head), 4)]):
		return errNotRPM
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated: the file ends inside its header: copy or build it again")
	}
	return fmt.Errorf("damaged RPM header: %w", err)
}

// prefixBuffer keeps the first limit bytes written to it.
type prefixBuffer struct {
	b     []byte
	limit int
}

func (p *prefixBuffer) Write(b []byte) (int, error) {
	if room := p.limit - len(p.b); room > 0 {
		p.b = append(p.b, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// tagInt is the first value of an integer tag, -1 when it is absent.
func tagInt(h *rpm.Header, id int) int64 {
	v := h.GetTag(id).Int64Slice()
	if len(v) == 0 {
		return -1
	}
	return v[0]
}

func tagString(h *rpm.Header, id int) string { return h.GetTag(id).String() }

func tagStrings(h *rpm.Header, id int) []string { return h.GetTag(id).StringSlice() }

func tagInts(h *rpm.Header, id int) []int64 { return h.GetTag(id).Int64Slice() }

// fromHeader maps an RPM header to metadata the way createrepo_c's cr_package_from_header
// does, so that dnf and yum see what they would see from createrepo_c.
func fromHeader(p *rpm.Package) (*pkg, error) {
	h := &p.Header
	out := &pkg{
		Name:        tagString(h, tagName),
		Arch:        tagString(h, tagArch),
		Version:     tagString(h, tagVersion),
		Release:     tagString(h, tagRelease),
		Epoch:       "0",
		Summary:     tagString(h, tagSummary),
		Description: tagString(h, tagDescription),
		Packager:    tagString(h, tagPackager),
		URL:         tagString(h, tagURL),
		License:     tagString(h, tagLicense),
		Vendor:      tagString(h, tagVendor),
		Group:       tagString(h, tagGroup),
		BuildHost:   tagString(h, tagBuildHost),
		SourceRPM:   tagString(h, tagSourceRPM),
	}
	if out.Name == "" || out.Version == "" {
		return nil, fmt.Errorf("damaged RPM header: no name or version")
	}
	if tagInt(h, tagSourcePackage) > 0 {
		out.Arch = "src"
	}
	if e := tagInt(h, tagEpoch); e >= 0 {
		out.Epoch = strconv.FormatInt(e, 10)
	}
	out.BuildTime = max(tagInt(h, tagBuildTime), 0)
	// rpm merges the signature header's sizes into the main header when it reads a
	// package; createrepo_c then asks for the 64-bit tags, which fall back to the 32-bit ones.
	out.InstalledSize = firstSize(tagInt(h, tagLongSize), tagInt(h, tagSize))
	out.ArchiveSize = firstSize(tagInt(h, sigTagLongArchiveSize), tagInt(h, tagArchiveSize),
		tagInt(&p.Signature, sigTagLongArchiveSize), tagInt(&p.Signature, sigTagPayloadSize))

	files, err := headerFiles(h)
	if err != nil {
		return nil, err
	}
	out.Files = files
	out.readDeps(h)
	out.Changelogs = headerChangelogs(h)
	return out, nil
}

func firstSize(vs ...int64) int64 {
	for _, v := range vs {
		if v >= 0 {
			return v
		}
	}
	return 0
}

// headerFiles lists the files in header order, checking the parallel arrays instead of
// trusting them (cavaliergopher/rpm's Files panics on a damaged header).
func headerFiles(h *rpm.Header) ([]file, error) {
	base := tagStrings(h, tagBaseNames)
	if len(base) == 0 {
		return nil, nil
	}
	dirs := tagStrings(h, tagDirNames)
	idx := tagInts(h, tagDirIndexes)
	modes := tagInts(h, tagFileModes)
	flags := tagInts(h, tagFileFlags)
	if len(idx) != len(base) || len(modes) != len(base) || len(flags) != len(base) {
		return nil, fmt.Errorf("damaged RPM header: file lists of different lengths")
	}
	files := make([]file, len(base))
	for i, b := range base {
		if idx[i] < 0 || idx[i] >= int64(len(dirs)) {
			return nil, fmt.Errorf("damaged RPM header: file %q has no directory", b)
		}
		f := file{Path: dirs[idx[i]] + b}
		switch {
		case modes[i]&modeTypeMask == modeDir:
			f.Type = "dir"
		case flags[i]&fileFlagGhost != 0:
			f.Type = "ghost"
		}
		files[i] = f
	}
	return files, nil
}

// isPrimary reports whether a file is listed in primary.xml as well as in filelists.xml:
// the paths that yum and dnf resolve file requires against without downloading filelists.
// The rule is createrepo_c's (and createrepo's before it): clients rely on exactly it.
func isPrimary(path string) bool {
	return strings.HasPrefix(path, "/etc/") || path == "/usr/lib/sendmail" || strings.Contains(path, "bin/")
}

// headerChangelogs reproduces createrepo_c: entries oldest first, and where two entries
// share a time the newer ones are moved forward by a second each, so that times are
// unique. All entries are kept (createrepo_c's default has no limit either).
func headerChangelogs(h *rpm.Header) []changelog {
	times := tagInts(h, tagChangeTime)
	names := tagStrings(h, tagChangeName)
	texts := tagStrings(h, tagChangeText)
	n := min(len(times), len(names), len(texts))
	out := make([]changelog, 0, n) // newest first, as in the header; reversed below
	var last int64
	for i := 0; i < n; i++ {
		t := times[i]
		out = append(out, changelog{Author: strings.TrimRight(names[i], " "), Date: t, Text: texts[i]})
		if last == t {
			// Walk the entries added before this one (newer ones) while they carry the
			// time being bumped.
			bump := t
			for j := len(out) - 2; j >= 0 && out[j].Date == bump; j-- {
				out[j].Date++
				bump++
			}
		} else {
			last = t
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
