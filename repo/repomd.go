package repo

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hotchain/hotchain/repo/compress"
	"github.com/hotchain/hotchain/repo/rpmmd"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// record is one <data> entry of repomd.xml: a compressed metadata file.
type record struct {
	Type         string // primary, filelists, other
	FileName     string // <sha256>-primary.xml.gz (or .zst)
	Size         int64  // compressed
	Checksum     string
	OpenChecksum string
	OpenSize     int64
}

// writeRecord writes a compressed metadata file into dir: head, the packages' elements,
// tail, streamed through gzip with both checksums taken on the way. It is named after its
// checksum, as createrepo_c's default (--unique-md-filenames) does: a client that holds an
// old repomd.xml never gets a new primary under an old name, and caches can keep the files
// forever. The file is synced and carries mtime.
//
// gzip is klauspost/compress at level 6, in 256 KiB blocks compressed on every
// core (klauspost/pgzip; each block takes the previous one's tail as its dictionary, so the
// output does not depend on the scheduling): on this metadata (long runs of similar paths)
// it is more than ten times as fast as compress/gzip at BestCompression and writes files
// smaller than createrepo_c's (zlib at level 6, its default). (klauspost's default level is 5,
// which here writes files 40% larger, for no gain in time.)
//
// With zstd (-compress zstd) the file is what createrepo_c 1.x writes by default: one
// zstd frame (klauspost/compress, default level, one thread: the same XML gives the same
// bytes), named .xml.zst.
func writeRecord(dir, typ, head string, n int, src *elementSource, tail string, mtime time.Time, c compress.Format) (_ *record, err error) {
	f, err := os.CreateTemp(dir, "."+typ+"-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	comp, open := sha256.New(), sha256.New()
	var compN, openN counter
	var zw io.WriteCloser
	if c.Name == "zstd" {
		if zw, err = zstd.NewWriter(io.MultiWriter(f, comp, &compN), zstd.WithEncoderConcurrency(1)); err != nil {
			return nil, err
		}
	} else if zw, err = newGzipWriter(io.MultiWriter(f, comp, &compN), typ); err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(io.MultiWriter(zw, open, &openN), 256<<10)
	bw.WriteString(head)
	for i := 0; i < n; i++ {
		p, err := src.part(i)
		if err != nil {
			return nil, err
		}
		bw.Write(p)
	}
	if err := src.finish(); err != nil {
		return nil, err
	}
	bw.WriteString(tail)
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	// CreateTemp makes 0600; the web server and rsync of a mirror must read it.
	if err := f.Chmod(0o644); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	r := &record{
		Type:         typ,
		Size:         int64(compN),
		Checksum:     hex.EncodeToString(comp.Sum(nil)),
		OpenChecksum: hex.EncodeToString(open.Sum(nil)),
		OpenSize:     int64(openN),
	}
	r.FileName = r.Checksum + "-" + typ + ".xml" + c.Ext
	path := filepath.Join(dir, r.FileName)
	if err := os.Rename(f.Name(), path); err != nil {
		return nil, err
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		return nil, err
	}
	return r, nil
}

// newGzipWriter is pgzip at level 6 (see writeRecord) for the metadata file typ.
func newGzipWriter(w io.Writer, typ string) (io.WriteCloser, error) {
	zw, err := pgzip.NewWriterLevel(w, 6)
	if err != nil {
		return nil, err
	}
	// filelists is most of the bytes; a compressor of its own (a megabyte of tables, fresh
	// memory each) is all the others need.
	blocks := 1
	if typ == "filelists" {
		blocks = min(runtime.GOMAXPROCS(0), 8)
	}
	if err := zw.SetConcurrency(256<<10, blocks); err != nil {
		return nil, err
	}
	// No name and no time in the gzip header: the same XML gives the same bytes. (pgzip
	// writes the low bits of the zero time's Unix() unless told.)
	zw.ModTime = time.Unix(0, 0)
	return zw, nil
}

// errNoEntry stops writeRecord when a package could not be read: the run fails anyway.
var errNoEntry = errors.New("a package could not be read")

// counter counts the bytes written to it.
type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// writeRepomd is repomd.xml for recs; revision and timestamp are Unix times.
func writeRepomd(recs []*record, revision int64) []byte {
	var w rpmmd.Writer
	w.WriteString(rpmmd.XMLHeader)
	fmt.Fprintf(&w, "<repomd xmlns=\"%s\" xmlns:rpm=\"%s\">\n", rpmmd.NSRepo, rpmmd.NSRPM)
	fmt.Fprintf(&w, "  <revision>%d</revision>\n", revision)
	for _, r := range recs {
		fmt.Fprintf(&w, "  <data type=\"%s\">\n", r.Type)
		fmt.Fprintf(&w, "    <checksum type=\"sha256\">%s</checksum>\n", r.Checksum)
		fmt.Fprintf(&w, "    <open-checksum type=\"sha256\">%s</open-checksum>\n", r.OpenChecksum)
		w.Empty("    ", "location", "href", "repodata/"+r.FileName)
		fmt.Fprintf(&w, "    <timestamp>%d</timestamp>\n", revision)
		fmt.Fprintf(&w, "    <size>%d</size>\n", r.Size)
		fmt.Fprintf(&w, "    <open-size>%d</open-size>\n", r.OpenSize)
		w.WriteString("  </data>\n")
	}
	w.WriteString("</repomd>\n")
	return w.Bytes()
}

type xmlRepomd struct {
	XMLName  xml.Name `xml:"http://linux.duke.edu/metadata/repo repomd"`
	Revision string   `xml:"revision"`
	Data     []struct {
		Type     string `xml:"type,attr"`
		Checksum struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"checksum"`
		Location struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
	} `xml:"data"`
}

type location struct{ href, sha256 string }

// metadataLocations reads repomd.xml and returns the location and checksum of each data
// type, the location checked to be a plain file name under repodata/ (old metadata is
// input too: it must not send us reading outside the repository).
func metadataLocations(repomd []byte) (map[string]location, error) {
	var x xmlRepomd
	if err := xml.Unmarshal(repomd, &x); err != nil {
		return nil, err
	}
	locs := make(map[string]location)
	for _, d := range x.Data {
		href := d.Location.Href
		if path.Dir(href) != "repodata" || strings.HasPrefix(path.Base(href), ".") {
			return nil, fmt.Errorf("%s location %q is not a file in repodata/", d.Type, href)
		}
		l := location{href: href}
		if d.Checksum.Type == "sha256" {
			l.sha256 = strings.TrimSpace(d.Checksum.Value)
		}
		locs[d.Type] = l
	}
	return locs, nil
}
