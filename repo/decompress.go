package repo

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Old metadata comes compressed in whatever the tool that wrote it chose: gzip (ours by
// default, createrepo_c before 1.0), zstd (createrepo_c 1.x's default), xz (--xz), bzip2
// (--compress-type=bz2), or not at all. The compression is told by the file's magic bytes;
// a name that says another (primary.xml.gz holding zstd) is refused, as dnf would refuse it.
//
// Old metadata is input: each file is bounded to maxOpenSize bytes decompressed, and each
// decompressor to a bounded amount of memory (maxWindow for zstd and xz dictionaries;
// gzip and bzip2 need less than a megabyte).

// maxOpenSize is the most an old metadata file may decompress to. The filelists of a
// repository of 10,000 hotfixes of 1,000 files each is about 1 GiB; a larger file is
// refused rather than streamed (primary is held in memory whole).
const maxOpenSize = 1 << 30

// openSizeLimit is maxOpenSize, lowered by the fuzz test to keep each run small.
var openSizeLimit int64 = maxOpenSize

// maxWindow bounds the zstd window and the xz dictionary an old metadata file may ask for:
// what the zstd command accepts by default (128 MiB), far above what createrepo_c's
// compression levels use (zstd level 3: 2 MiB or less; xz -6: 8 MiB; xz -9: 64 MiB).
const maxWindow = 128 << 20

// compression is one way a metadata file is compressed.
type compression struct {
	name  string // as -compress and the messages say it
	ext   string // of the file name: ".gz", "" for plain XML
	magic []byte
}

var compressions = []compression{
	{"gz", ".gz", []byte{0x1f, 0x8b}},
	{"zstd", ".zst", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"xz", ".xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"bz2", ".bz2", []byte("BZh")},
}

// compressionOf names the compression of the file href by its extension: ok is false for
// an extension that is none of ours ("", for a file named .xml, is plain XML).
func compressionOf(href string) (compression, bool) {
	ext := path.Ext(href)
	if ext == ".xml" {
		return compression{name: "none"}, true
	}
	for _, c := range compressions {
		if c.ext == ext {
			return c, true
		}
	}
	return compression{}, false
}

// decompressor returns a reader of the decompressed content of the file href, which br
// reads, and a function that releases it. At most maxOpenSize bytes are read through it;
// more is an error.
func decompressor(br *bufio.Reader, href string) (io.Reader, func(), error) {
	head, _ := br.Peek(6)
	var found *compression
	for i, c := range compressions {
		if bytes.HasPrefix(head, c.magic) {
			found = &compressions[i]
			break
		}
	}
	named, known := compressionOf(href)
	if !known {
		return nil, nil, fmt.Errorf("unknown compression %q (not gz, zst, xz, bz2 or plain .xml)", path.Ext(href))
	}
	switch {
	case found == nil && named.magic == nil:
		// Plain XML: whatever it holds, the XML checks say what is wrong with it.
		return &limitedReader{r: br, n: openSizeLimit}, func() {}, nil
	case found == nil:
		return nil, nil, fmt.Errorf("named %s but not %s-compressed (starts with %q)", path.Ext(href), named.name, head)
	case found.name != named.name:
		return nil, nil, fmt.Errorf("named %s but %s-compressed", orNone(path.Ext(href)), found.name)
	}
	var r io.Reader
	release := func() {}
	switch found.name {
	case "gz":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderMaxMemory(maxOpenSize))
		if err != nil {
			return nil, nil, err
		}
		r, release = zr, zr.Close
	case "xz":
		zr, err := newXZReader(br)
		if err != nil {
			return nil, nil, err
		}
		r = zr
	case "bz2":
		r = bzip2.NewReader(br)
	}
	return &limitedReader{r: r, n: openSizeLimit}, release, nil
}

func orNone(ext string) string {
	if ext == "" {
		return "without an extension"
	}
	return ext
}

// errTooLarge is returned by a limitedReader past its limit.
var errTooLarge = fmt.Errorf("decompresses to more than %d MiB, the limit for one metadata file", maxOpenSize>>20)

// limitedReader reads at most n bytes from r and fails, instead of ending, past them.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One byte more tells a file of exactly the limit from a larger one.
		var b [1]byte
		if n, _ := io.ReadFull(l.r, b[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// compressionByName is the compression -compress names.
func compressionByName(name string) (compression, error) {
	for _, c := range compressions {
		if c.name == name && (name == "gz" || name == "zstd") {
			return c, nil
		}
	}
	return compression{}, fmt.Errorf("compression %q: want gz or zstd", strings.TrimSpace(name))
}

// CheckCompression accepts the compressions that Options.Compress takes: gz and zstd.
func CheckCompression(name string) error {
	_, err := compressionByName(name)
	return err
}
