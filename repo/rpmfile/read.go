package rpmfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
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
	tagOldFileNames  = 1027
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

// Header is what a signature check needs (CheckSignature): the signature header and the
// bytes of the main header.
type Header struct {
	sig    *rpm.Header
	header []byte
}

// Reader reads packages, reusing its buffers from one package to the next (one per
// goroutine).
type Reader struct {
	Root    *os.Root // the repository; nil: packages are opened by path
	Options Options
	buf     []byte        // a whole package, up to maxBuffered
	br      *bufio.Reader // larger packages stream through it
}

// maxBuffered is the largest package read into memory at once: one read and one hash call
// instead of a stream through the parser, for the hotfixes of a typical repository.
const maxBuffered = 8 << 20

// ReadFile reads the metadata of the RPM at path; href is its location in the repository
// and the file's size and mtime come from fi. What it returns does not hold on to its
// buffers, except the raw header, which is good until the next call.
func (pr *Reader) ReadFile(path, href string, fi os.FileInfo) (*Package, *Header, error) {
	var f *os.File
	var err error
	if pr.Root != nil {
		// The bytes that repo.Serve would serve: no symlink swapped in since the listing
		// leads out of the repository.
		f, err = pr.Root.Open(filepath.FromSlash(href))
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read package %s: %w", path, err)
	}
	defer f.Close()
	var p *Package
	var raw *Header
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
		p, raw, err = ReadData(pr.buf[:n], href, pr.Options)
	} else {
		if pr.br == nil {
			pr.br = bufio.NewReaderSize(nil, 64<<10)
		}
		p, raw, err = Read(f, href, pr.br, pr.Options)
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

// Options say how a package's header becomes its metadata.
type Options struct {
	// ChangelogLimit is how many of the newest changelog entries are kept; negative:
	// AllChangelogs.
	ChangelogLimit int
}

// AllChangelogs keeps every changelog entry (Options.ChangelogLimit).
const AllChangelogs = -1

// Read reads an RPM from r (to its end: the checksum covers the whole file)
// through br, which it resets, and returns its metadata, without the file time. Errors say
// what is wrong with the file.
func Read(r io.Reader, href string, br *bufio.Reader, o Options) (*Package, *Header, error) {
	h := sha256.New()
	br.Reset(io.TeeReader(r, h))
	// The headers are read and checked first, then parsed from memory; the payload is
	// only hashed.
	head, l, err := readHeaderBytes(br, nil)
	if err != nil {
		return nil, nil, err
	}
	p, err := parseHeaders(head)
	if err != nil {
		return nil, nil, err
	}
	d := newDigests(p, head[l.hdrStart:l.hdrEnd])
	rest, err := io.Copy(d, br)
	if err != nil {
		return nil, nil, err
	}
	return packageFromHeader(p, head, l, int64(len(head))+rest, hex.EncodeToString(h.Sum(nil)), href, o, d)
}

// ReadData is Read for a package held in memory.
func ReadData(data []byte, href string, o Options) (*Package, *Header, error) {
	l, err := layout(data)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(data)
	p, err := parseHeaders(data[:l.hdrEnd])
	if err != nil {
		return nil, nil, err
	}
	d := newDigests(p, data[l.hdrStart:l.hdrEnd])
	d.Write(data[l.hdrEnd:])
	return packageFromHeader(p, data[:l.hdrEnd], l, int64(len(data)), hex.EncodeToString(sum[:]), href, o, d)
}

// parseHeaders parses the lead and headers in head, which layout has checked.
func parseHeaders(head []byte) (*rpm.Package, error) {
	p, err := rpm.Read(bytes.NewReader(head))
	if err != nil {
		// layout checked what the parser relies on: this is a lead it does not take.
		if errors.Is(err, rpm.ErrNotRPMFile) {
			return nil, errNotRPM
		}
		return nil, fmt.Errorf("damaged RPM header: %v: copy or build it again", err)
	}
	return p, nil
}

// packageFromHeader compares the size of the whole file with what the parsed headers p
// (in head) record, then the digests of header and payload (d, which has hashed the
// payload) as rpm -K does, and returns the package's metadata. The size comes first: a
// truncated package is reported as truncated.
func packageFromHeader(p *rpm.Package, head []byte, l headerLayout, size int64, checksum, href string, o Options, d *digests) (*Package, *Header, error) {
	hdrStart, hdrEnd := l.hdrStart, l.hdrEnd

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
	out, err := fromHeader(p, o)
	if err != nil {
		return nil, nil, err
	}
	out.Checksum = checksum
	out.Location = href
	out.PackageSize = size
	out.HeaderStart = hdrStart
	out.HeaderEnd = hdrEnd
	if err := out.checkControlChars(); err != nil {
		return nil, nil, err
	}
	return out, &Header{sig: &p.Signature, header: head[hdrStart:hdrEnd]}, nil
}

var errNotRPM = errors.New("not an RPM package (no RPM lead): remove it from the repository directory or rename it")

var rpmMagic = []byte{0xED, 0xAB, 0xEE, 0xDB}

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
func fromHeader(p *rpm.Package, o Options) (*Package, error) {
	h := &p.Header
	out := &Package{
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
	// librpm's applyRetrofits, which createrepo_c reads every package through: a header
	// with neither SOURCERPM nor SOURCEPACKAGE is a source package when its files are all
	// in one directory with an empty name (a source RPM's), else a binary one from an
	// unknown source RPM, "(none)".
	if h.GetTag(tagSourceRPM) == nil && h.GetTag(tagSourcePackage) == nil {
		if dirs := tagStrings(h, tagDirNames); len(dirs) == 1 && dirs[0] == "" {
			out.Arch = "src"
		} else {
			out.SourceRPM = "(none)"
		}
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
	out.Changelogs = headerChangelogs(h, o.ChangelogLimit)
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

// trimAuthor drops the spaces at the end of a changelog author as createrepo_c does, which
// never looks at the first byte: " " stays " ".
func trimAuthor(s string) string {
	if len(s) <= 1 {
		return s
	}
	return s[:1] + strings.TrimRight(s[1:], " ")
}

// maxFileListBytes bounds the bytes of a package's full file paths. The header stores each
// directory once and the files as indexes into them, so a small header can name a long
// directory a million times: the paths of a real package add up to a few MiB.
const maxFileListBytes = 256 << 20

// headerFiles lists the files in header order, checking the parallel arrays instead of
// trusting them (cavaliergopher/rpm's Files panics on a damaged header).
func headerFiles(h *rpm.Header) ([]File, error) {
	base := tagStrings(h, tagBaseNames)
	dirs := tagStrings(h, tagDirNames)
	idx := tagInts(h, tagDirIndexes)
	if len(base) == 0 {
		// An old package (rpm < 4.0 or --nodirtokens) has full paths instead: librpm
		// compresses them into directories and base names when it reads it.
		old := tagStrings(h, tagOldFileNames)
		if len(old) == 0 {
			return nil, nil
		}
		base, dirs, idx = compressFileList(old)
	}
	modes := tagInts(h, tagFileModes)
	flags := tagInts(h, tagFileFlags)
	if len(idx) != len(base) || len(modes) != len(base) || len(flags) != len(base) {
		return nil, fmt.Errorf("damaged RPM header: file lists of different lengths")
	}
	files := make([]File, len(base))
	total := 0
	for i, b := range base {
		if idx[i] < 0 || idx[i] >= int64(len(dirs)) {
			return nil, fmt.Errorf("damaged RPM header: file %q has no directory", b)
		}
		if total += len(dirs[idx[i]]) + len(b); total > maxFileListBytes {
			return nil, fmt.Errorf("damaged RPM header: its file paths add up to more than %d bytes: copy or build it again", maxFileListBytes)
		}
		f := File{Path: dirs[idx[i]] + b}
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

// compressFileList splits full paths into base names, directories and directory indexes
// as librpm's compressFilelist does: the directory is everything up to the last slash,
// directories numbered in order of first use.
func compressFileList(paths []string) (base, dirs []string, idx []int64) {
	seen := make(map[string]int64)
	for _, p := range paths {
		i := strings.LastIndexByte(p, '/') + 1
		d := p[:i]
		k, ok := seen[d]
		if !ok {
			k = int64(len(dirs))
			seen[d] = k
			dirs = append(dirs, d)
		}
		base = append(base, p[i:])
		idx = append(idx, k)
	}
	return base, dirs, idx
}

// IsPrimary reports whether a file is listed in primary.xml as well as in filelists.xml:
// the paths that yum and dnf resolve file requires against without downloading filelists.
// The rule is createrepo_c's (and createrepo's before it): clients rely on exactly it.
func IsPrimary(path string) bool {
	return strings.HasPrefix(path, "/etc/") || path == "/usr/lib/sendmail" || strings.Contains(path, "bin/")
}

// headerChangelogs reproduces createrepo_c: the first limit entries of the header (the
// newest, as rpmbuild stores them newest first; AllChangelogs: every one), written oldest
// first, and where two entries share a time the newer ones are moved forward by a second
// each, so that times are unique. The cut comes before the moving: the entries kept are
// the header's first ones whatever their times.
func headerChangelogs(h *rpm.Header, limit int) []Changelog {
	times := tagInts(h, tagChangeTime)
	names := tagStrings(h, tagChangeName)
	texts := tagStrings(h, tagChangeText)
	n := min(len(times), len(names), len(texts))
	if limit >= 0 {
		n = min(n, limit)
	}
	out := make([]Changelog, 0, n) // newest first, as in the header; reversed below
	var last int64
	for i := 0; i < n; i++ {
		t := times[i]
		out = append(out, Changelog{Author: trimAuthor(names[i]), Date: t, Text: texts[i]})
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
