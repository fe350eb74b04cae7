// Package compress holds the compressions of yum/dnf metadata files: the ones Build writes
// (gz, zstd) and the ones it reads back from old metadata (also xz and bzip2), told by
// their magic bytes and bounded. It is its own package because it is a leaf that knows
// nothing of repositories: its bounds on hostile input can be reviewed and fuzzed alone.
package compress

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
// Old metadata is input: each file is bounded to MaxSize bytes decompressed, and each
// decompressor to a bounded amount of memory (maxWindow for zstd and xz dictionaries;
// gzip and bzip2 need less than a megabyte).

// MaxSize is the most an old metadata file may decompress to. The filelists of a
// repository of 10,000 hotfixes of 1,000 files each is about 1 GiB; a larger file is
// refused rather than streamed (primary is held in memory whole).
const MaxSize = 1 << 30

// maxWindow bounds the zstd window and the xz dictionary an old metadata file may ask for:
// what the zstd command accepts by default (128 MiB), far above what createrepo_c's
// compression levels use (zstd level 3: 2 MiB or less; xz -6: 8 MiB; xz -9: 64 MiB).
const maxWindow = 128 << 20

// Format is one way a metadata file is compressed.
type Format struct {
	Name  string // as -compress and the messages say it
	Ext   string // of the file name: ".gz", "" for plain XML
	Magic []byte
}

// Formats are the compressions read, the default one to write (gz) first.
var Formats = []Format{
	{"gz", ".gz", []byte{0x1f, 0x8b}},
	{"zstd", ".zst", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"xz", ".xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"bz2", ".bz2", []byte("BZh")},
}

// formatOf names the compression of the file href by its extension: ok is false for
// an extension that is none of ours ("", for a file named .xml, is plain XML).
func formatOf(href string) (Format, bool) {
	ext := path.Ext(href)
	if ext == ".xml" {
		return Format{Name: "none"}, true
	}
	for _, c := range Formats {
		if c.Ext == ext {
			return c, true
		}
	}
	return Format{}, false
}

// NewReader returns a reader of the decompressed content of the file href, which br
// reads, and a function that releases it. At most limit bytes (MaxSize, or less in tests)
// are read through it; more is an error (ErrTooLarge).
func NewReader(br *bufio.Reader, href string, limit int64) (io.Reader, func(), error) {
	head, _ := br.Peek(6)
	var found *Format
	for i, c := range Formats {
		if bytes.HasPrefix(head, c.Magic) {
			found = &Formats[i]
			break
		}
	}
	named, known := formatOf(href)
	if !known {
		return nil, nil, fmt.Errorf("unknown compression %q (not gz, zst, xz, bz2 or plain .xml)", path.Ext(href))
	}
	switch {
	case found == nil && named.Magic == nil:
		// Plain XML: whatever it holds, the XML checks say what is wrong with it.
		return &limitedReader{r: br, n: limit}, func() {}, nil
	case found == nil:
		return nil, nil, fmt.Errorf("named %s but not %s-compressed (starts with %q)", path.Ext(href), named.Name, head)
	case found.Name != named.Name:
		return nil, nil, fmt.Errorf("named %s but %s-compressed", orNone(path.Ext(href)), found.Name)
	}
	var r io.Reader
	release := func() {}
	switch found.Name {
	case "gz":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderMaxMemory(MaxSize))
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
	return &limitedReader{r: r, n: limit}, release, nil
}

func orNone(ext string) string {
	if ext == "" {
		return "without an extension"
	}
	return ext
}

// ErrTooLarge is returned by a reader of NewReader past its limit.
var ErrTooLarge = fmt.Errorf("decompresses to more than %d MiB, the limit for one metadata file", MaxSize>>20)

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
			return 0, ErrTooLarge
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

// ForOutput is the compression -compress names: gz or zstd.
func ForOutput(name string) (Format, error) {
	for _, c := range Formats {
		if c.Name == name && (name == "gz" || name == "zstd") {
			return c, nil
		}
	}
	return Format{}, fmt.Errorf("compression %q: want gz or zstd", strings.TrimSpace(name))
}

// Bytes decompresses a metadata file held in memory, its compression told by its magic
// bytes; plain XML is passed through. It is bounded as NewReader is.
func Bytes(data []byte, limit int64) ([]byte, error) {
	href := "x.xml"
	for _, c := range Formats {
		if bytes.HasPrefix(data, c.Magic) {
			href += c.Ext
		}
	}
	r, release, err := NewReader(bufio.NewReader(bytes.NewReader(data)), href, limit)
	if err != nil {
		return nil, err
	}
	defer release()
	return io.ReadAll(r)
}
