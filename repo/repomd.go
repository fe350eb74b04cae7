package repo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"path"
	"strings"
)

// record is one <data> entry of repomd.xml: a compressed metadata file.
type record struct {
	Type         string // primary, filelists, other
	FileName     string // <sha256>-primary.xml.gz
	Data         []byte // compressed
	Checksum     string
	OpenChecksum string
	OpenSize     int64
}

// newRecord compresses plain and names the result after its checksum, as createrepo_c's
// default (--unique-md-filenames) does: a client that holds an old repomd.xml never gets
// a new primary under an old name, and caches can keep the files forever.
func newRecord(typ string, plain []byte) (*record, error) {
	var buf bytes.Buffer
	// No name and no time in the gzip header: the same XML gives the same bytes.
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(plain); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	open := sha256.Sum256(plain)
	r := &record{
		Type:         typ,
		Data:         buf.Bytes(),
		Checksum:     hex.EncodeToString(sum[:]),
		OpenChecksum: hex.EncodeToString(open[:]),
		OpenSize:     int64(len(plain)),
	}
	r.FileName = r.Checksum + "-" + typ + ".xml.gz"
	return r, nil
}

// writeRepomd is repomd.xml for recs; revision and timestamp are Unix times.
func writeRepomd(recs []*record, revision int64) []byte {
	var w xmlWriter
	w.WriteString(xmlHeader)
	fmt.Fprintf(&w, "<repomd xmlns=\"%s\" xmlns:rpm=\"%s\">\n", nsRepo, nsRPM)
	fmt.Fprintf(&w, "  <revision>%d</revision>\n", revision)
	for _, r := range recs {
		fmt.Fprintf(&w, "  <data type=\"%s\">\n", r.Type)
		fmt.Fprintf(&w, "    <checksum type=\"sha256\">%s</checksum>\n", r.Checksum)
		fmt.Fprintf(&w, "    <open-checksum type=\"sha256\">%s</open-checksum>\n", r.OpenChecksum)
		w.empty("    ", "location", "href", "repodata/"+r.FileName)
		fmt.Fprintf(&w, "    <timestamp>%d</timestamp>\n", revision)
		fmt.Fprintf(&w, "    <size>%d</size>\n", len(r.Data))
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
