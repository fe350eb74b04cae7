package packaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/google/rpmpack"

	"github.com/hotchain/hotchain/internal/sign"
)

// Dependency flags that rpmpack does not name (rpm's include/rpm/rpmds.h).
const (
	senseScriptPre   = 1 << 9
	senseScriptPost  = 1 << 10
	senseScriptPreun = 1 << 11
)

// Signature and header tags that we set ourselves (rpm's include/rpm/rpmtag.h).
const (
	sigTagSize        = 1000 // RPMSIGTAG_SIZE: header and compressed payload
	sigTagPayloadSize = 1007 // RPMSIGTAG_PAYLOADSIZE: the uncompressed cpio archive
	tagSize           = 1009 // RPMTAG_SIZE: the files' contents
	tagFileSizes      = 1028
	tagFileDigests    = 1035
	tagPayloadFlags   = 1126 // the compression level
	tagPayloadDigest  = 5092 // SHA-256 of the compressed payload
)

// gzipLevel is the gzip level of RPM payloads and tarballs: 6, the default of zlib, gzip
// and createrepo_c. Level 9 takes about five times as long (on two cores, 50 MB of
// hotfix-like text: 1.8 s instead of 0.4 s) for files about 2% smaller; see
// bench/RESULTS.md. rpm reads the level from PAYLOADFLAGS but needs it for nothing.
const gzipLevel = 6

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
	files                        []pkgFile
	pre, post, preun             string
	// when is the build time, and the time of the package signatures.
	when   time.Time
	signer *sign.Signer
}

// pkgFile is a file of a package: what rpmpack needs to describe it, and where its content
// comes from. Content on disk (src) is streamed into the payload and never held in memory,
// so that building a hotfix of hundreds of megabytes needs a few megabytes.
type pkgFile struct {
	rpmpack.RPMFile        // Body: a symlink's target, or content held in memory
	src             string // where a regular file's content is read from; "" when it is Body
	size            int64  // of the content at src
	sha256          string // hex SHA-256 the content at src must have
}

// contentSize is the size of f's content: its file, its symlink target, 0 for a directory.
func (f *pkgFile) contentSize() int64 {
	if f.src != "" {
		return f.size
	}
	return int64(len(f.Body))
}

// build writes the package to a new temporary file in dir, synced, and returns its name.
//
// The payload (cpio, gzip) is streamed to a temporary file first, reading each file from
// disk as it goes and checking its SHA-256; rpmpack then makes the lead and headers from
// the file list with empty contents, and the tags that depend on the contents (sizes,
// digests, payload digest) are given to it as custom tags, which take precedence. rpmpack's
// own payload of empty files is dropped.
//
// It also corrects what rpmpack v0.7.1 gets wrong:
//
//   - RPMSIGTAG_PAYLOADSIZE: rpmpack stores the sum of the file sizes, but rpm defines it as
//     the size of the uncompressed cpio archive (headers, padding and trailer included); we
//     store the true size;
//   - RPMSIGTAG_SIZE, header and payload: ours, since rpmpack never sees the payload;
//   - the epoch: rpmpack writes an Epoch tag of 0 when none is asked for, and provides the
//     package itself without the epoch, which is wrong for any package that has one. Hotfix
//     and base packages have no epoch, so we write none, and the self-provide
//     "NAME = VERSION-RELEASE" is then exactly right.
//
// It refuses sizes that rpm's 32-bit size tags cannot hold.
func (p *pkgSpec) build(dir string) (name string, err error) {
	files := append([]pkgFile(nil), p.files...)
	// rpmpack's order: sorted by name, without "/".
	files = slices.DeleteFunc(files, func(f pkgFile) bool { return f.Name == "/" })
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var total int64
	for _, f := range files {
		if f.contentSize() > math.MaxUint32 {
			return "", fmt.Errorf("%s is %d bytes: a package file must be smaller than 4 GiB", f.Name, f.contentSize())
		}
		total += f.contentSize()
	}
	if total > math.MaxInt32 {
		return "", fmt.Errorf("package %s would hold %d bytes: packages are limited to 2 GiB, ship large content another way", p.name, total)
	}

	payload, err := os.CreateTemp(dir, ".hotchain-tmp-*")
	if err != nil {
		return "", fmt.Errorf("build package %s: %w", p.name, err)
	}
	defer func() {
		payload.Close()
		os.Remove(payload.Name())
	}()
	pl, err := writePayload(payload, files)
	if err != nil {
		return "", fmt.Errorf("build package %s: %w", p.name, err)
	}
	if pl.archive > math.MaxInt32 {
		return "", fmt.Errorf("package %s would hold %d bytes: packages are limited to 2 GiB, ship large content another way", p.name, pl.archive)
	}
	// The signature header records the length of header and payload; the header's length is
	// known once rpmpack has made it, so it makes it twice (it is deterministic, and small).
	_, hdr, err := p.headers(files, pl, -1, nil)
	if err != nil {
		return "", err
	}
	head, hdr2, err := p.headers(files, pl, int64(len(hdr))+pl.compressed, payload)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(hdr, hdr2) {
		return "", fmt.Errorf("build package %s: rpmpack made two different headers from the same input", p.name)
	}

	out, err := os.CreateTemp(dir, ".hotchain-tmp-*")
	if err != nil {
		return "", fmt.Errorf("build package %s: %w", p.name, err)
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	if _, err = out.Write(head); err != nil {
		return "", fmt.Errorf("build package %s: %w", p.name, err)
	}
	if _, err = payload.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("build package %s: %w", p.name, err)
	}
	if _, err = io.Copy(out, payload); err != nil {
		return "", fmt.Errorf("build package %s: %w", p.name, err)
	}
	if err = finishTemp(out, 0o644); err != nil {
		return "", fmt.Errorf("build package %s: %w", p.name, err)
	}
	return out.Name(), nil
}

// headers has rpmpack make the lead, the signature header and the header of the package
// whose payload writePayload described, and returns them (head) and the header alone (hdr).
// sigSize is RPMSIGTAG_SIZE (-1: rpmpack's own, wrong, value); with a signer, payload is
// read for the signature of header and payload.
func (p *pkgSpec) headers(files []pkgFile, pl *payloadInfo, sigSize int64, payload io.ReadSeeker) (head, hdr []byte, err error) {
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
		return nil, nil, fmt.Errorf("build package %s: %w", p.name, err)
	}
	for _, f := range files {
		rf := f.RPMFile
		if f.src != "" {
			rf.Body = nil
		}
		r.AddFile(rf)
	}
	r.AddPrein(p.pre)
	r.AddPostin(p.post)
	r.AddPreun(p.preun)
	r.AddCustomTag(tagSize, rpmpack.EntryInt32([]int32{int32(pl.installed)}))
	r.AddCustomTag(tagFileSizes, rpmpack.EntryUint32(pl.sizes))
	r.AddCustomTag(tagFileDigests, rpmpack.EntryStringSlice(pl.digests))
	r.AddCustomTag(tagPayloadDigest, rpmpack.EntryStringSlice([]string{pl.sha256}))
	r.AddCustomTag(tagPayloadFlags, rpmpack.EntryString(strconv.Itoa(gzipLevel)))
	r.AddCustomSig(sigTagPayloadSize, rpmpack.EntryInt32([]int32{int32(pl.archive)}))
	if sigSize >= 0 {
		if sigSize > math.MaxInt32 {
			return nil, nil, fmt.Errorf("package %s would be %d bytes: packages are limited to 2 GiB", p.name, sigSize)
		}
		r.AddCustomSig(sigTagSize, rpmpack.EntryInt32([]int32{int32(sigSize)}))
	}
	if p.signer != nil && payload != nil {
		s := p.signer.At(p.when)
		// rpmpack asks for the header's signature, then for that of header and payload,
		// passing the payload it holds, which here is empty: sign the real one instead.
		var header []byte
		r.SetPGPSigner(func(data []byte) ([]byte, error) {
			if header == nil {
				header = append([]byte(nil), data...)
				return s.Sign(data)
			}
			if _, err := payload.Seek(0, io.SeekStart); err != nil {
				return nil, err
			}
			return s.SignReader(io.MultiReader(bytes.NewReader(header), payload))
		})
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, nil, fmt.Errorf("build package %s: %w", p.name, err)
	}
	head, hdr, err = splitHeaders(buf.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("build package %s: %w", p.name, err)
	}
	return head, hdr, nil
}

// splitHeaders finds the end of the header in a package rpmpack wrote: lead (96 bytes),
// signature header padded to 8 bytes, header; each header is a 16-byte intro holding its
// index count and data size, then 16 bytes per index entry, then the data.
func splitHeaders(rpm []byte) (head, hdr []byte, err error) {
	const lead = 96
	headerLen := func(at int) (int, error) {
		if at+16 > len(rpm) {
			return 0, errors.New("rpmpack wrote a short header")
		}
		n := int(binary.BigEndian.Uint32(rpm[at+8:]))
		size := int(binary.BigEndian.Uint32(rpm[at+12:]))
		if l := 16 + 16*n + size; at+l <= len(rpm) {
			return l, nil
		}
		return 0, errors.New("rpmpack wrote a short header")
	}
	sigLen, err := headerLen(lead)
	if err != nil {
		return nil, nil, err
	}
	start := lead + sigLen + (8-sigLen%8)%8
	hdrLen, err := headerLen(start)
	if err != nil {
		return nil, nil, err
	}
	return rpm[:start+hdrLen], rpm[start : start+hdrLen], nil
}

// owned is a file of a package owned by root, as every file we package is.
func owned(name string, mode uint, body []byte, mtime uint32, typ rpmpack.FileType) rpmpack.RPMFile {
	return rpmpack.RPMFile{Name: name, Mode: mode, Body: body, Owner: "root", Group: "root", MTime: mtime, Type: typ}
}
