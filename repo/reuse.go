package repo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/repo/compress"
	"github.com/hotchain/hotchain/repo/rpmmd"
)

// Update mode: the entries of unchanged packages are taken from the old metadata as they
// are, byte for byte, instead of being parsed into fields and written out again. The
// metadata we and createrepo_c write is one <package> element after another, in the order
// of the packages (file name, then directory: comparePackagePaths), the same in primary,
// filelists and other. So loadOld reads primary (small) into memory and cuts it into
// elements, reading only the fields that decide whether a package changed (location, size,
// mtime) and those that tie the three files together (pkgid, name, arch); filelists and
// other, which hold most of the bytes, are streamed into the new files while they are
// written (oldStream), element by element, never held whole: on a virtual machine, memory
// touched for the first time is a good part of the cost. Each element reused is checked to be well-formed XML: old metadata is input
// too, and a damaged element must not pass into the new files. Anything unexpected is an
// *oldMetadataError, and Build then reads every package again.

// oldMetadataError says why the old metadata could not be reused.
type oldMetadataError struct{ err error }

func (e *oldMetadataError) Error() string { return e.err.Error() }
func (e *oldMetadataError) Unwrap() error { return e.err }

func oldErr(format string, args ...any) error {
	return &oldMetadataError{fmt.Errorf(format, args...)}
}

// openSizeLimit is the most an old metadata file may decompress to: compress.MaxSize,
// lowered by the fuzz test to keep each run small.
var openSizeLimit int64 = compress.MaxSize

// oldMetadata is the previous metadata of a repository.
type oldMetadata struct {
	entries []*entry // primary's packages, in order; only xml[0] is set
	ids     []string // their pkgid, name and arch
	byLoc   map[string]int
	streams [2]location // filelists and other
	dir     string
}

// loadOld reads the current metadata of dir; nil when there is none.
func loadOld(dir string) (*oldMetadata, error) {
	repodata := filepath.Join(dir, "repodata")
	repomd, err := readRepomd(filepath.Join(repodata, "repomd.xml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, oldErr("%w", err)
	}
	locs, err := metadataLocations(repomd)
	if err != nil {
		return nil, oldErr("repomd.xml: %w", err)
	}
	old := &oldMetadata{dir: dir}
	for i, typ := range []string{"filelists", "other"} {
		l, ok := locs[typ]
		if !ok {
			return nil, oldErr("repomd.xml lists no %s", typ)
		}
		old.streams[i] = l
	}
	l, ok := locs["primary"]
	if !ok {
		return nil, oldErr("repomd.xml lists no primary")
	}
	s, err := openOldStream(dir, l, "metadata")
	if err != nil {
		return nil, oldErr("primary: %w", err)
	}
	defer s.close()
	if err := old.readPrimary(s); err != nil {
		return nil, oldErr("primary: %w", err)
	}
	return old, nil
}

// readPrimary reads the entries of the old primary that s streams, checking each.
func (old *oldMetadata) readPrimary(s *oldStream) error {
	old.byLoc = make(map[string]int)
	for {
		c, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		e, id, err := primaryEntry(c)
		if err != nil {
			return err
		}
		if err := rpmmd.CheckElement(c); err != nil {
			return fmt.Errorf("entry of %s: %w", e.location, err)
		}
		if n := len(old.entries); n > 0 && comparePackagePaths(old.entries[n-1].location, e.location) >= 0 {
			return fmt.Errorf("packages not in createrepo_c's order (file name, then directory: %s after %s)", e.location, old.entries[n-1].location)
		}
		e.xml[0] = append([]byte(nil), c...)
		e.oldIndex = len(old.entries)
		old.byLoc[e.location] = len(old.entries)
		old.entries = append(old.entries, e)
		old.ids = append(old.ids, id)
	}
	return s.finish()
}

// maxRepomd bounds repomd.xml, old metadata's index: createrepo_c's with every optional
// type (updateinfo, comps, modules, zchunk variants) is a few kilobytes.
const maxRepomd = 1 << 20

// readRepomd reads repomd.xml, refusing one larger than maxRepomd.
func readRepomd(path string) ([]byte, error) {
	return boundedio.ReadFile(path, "repomd.xml", maxRepomd)
}

// find returns the index of the old entry at location href.
func (old *oldMetadata) find(href string) (int, bool) {
	if old == nil {
		return 0, false
	}
	j, ok := old.byLoc[href]
	return j, ok
}

// oldStream reads the <package> elements of an old metadata file one after the other,
// decompressing it on the way and checking its checksum at the end.
type oldStream struct {
	f       io.ReadCloser
	release func() // of the decompressor
	sum     hash.Hash
	br      *bufio.Reader
	loc     location
	root    string
	chunk   []byte
	n       int  // elements read
	ended   bool // the root element's end tag was read
}

func openOldStream(dir string, l location, root string) (*oldStream, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(l.href)))
	if err != nil {
		return nil, err
	}
	return newOldStream(f, l, root)
}

// newOldStream reads the metadata file l from f, which it closes on failure and on close.
func newOldStream(f io.ReadCloser, l location, root string) (*oldStream, error) {
	s := &oldStream{f: f, sum: sha256.New(), loc: l, root: root, release: func() {}}
	raw := bufio.NewReaderSize(io.TeeReader(f, s.sum), 64<<10)
	r, release, err := compress.NewReader(raw, l.href, openSizeLimit)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", l.href, err)
	}
	s.release = release
	s.br = bufio.NewReaderSize(r, 256<<10)
	// Up to the root element's start tag, on a line of its own.
	for {
		line, err := s.line(nil)
		if err != nil {
			s.close()
			if err == io.EOF {
				return nil, fmt.Errorf("%s: no <%s> element", l.href, root)
			}
			return nil, fmt.Errorf("%s: %w", l.href, err)
		}
		if bytes.HasPrefix(line, []byte("<"+root+" ")) && bytes.HasSuffix(line, []byte(">\n")) {
			return s, nil
		}
	}
}

// close releases the file and the decompressor.
func (s *oldStream) close() {
	s.release()
	s.release = func() {}
	s.f.Close()
}

// maxElement bounds one <package> element of old metadata (and any line before the
// first): the largest real ones, filelists of packages of 100,000 files, are some 10 MiB.
const maxElement = 256 << 20

// line appends the next line (with its newline, if any) to b.
func (s *oldStream) line(b []byte) ([]byte, error) {
	for {
		l, err := s.br.ReadSlice('\n')
		if len(b)+len(l) > maxElement {
			return b, fmt.Errorf("an element or line longer than %d MiB", maxElement>>20)
		}
		b = append(b, l...)
		if err != bufio.ErrBufferFull {
			if err == io.EOF && len(l) > 0 {
				err = nil
			}
			return b, err
		}
	}
}

// next returns the next <package> element, good until the next call; io.EOF after the last.
func (s *oldStream) next() ([]byte, error) {
	if s.ended {
		return nil, io.EOF
	}
	first, err := s.line(s.chunk[:0])
	if err != nil {
		return nil, s.unexpected(err)
	}
	if bytes.Equal(bytes.TrimSpace(first), []byte("</"+s.root+">")) {
		s.ended = true
		return nil, io.EOF
	}
	if !bytes.HasPrefix(first, pkgOpen) {
		return nil, fmt.Errorf("unexpected content between the packages: %.40q", first)
	}
	c := first
	for {
		start := len(c)
		if c, err = s.line(c); err != nil {
			return nil, s.unexpected(err)
		}
		// Markup in text is escaped, so this line can only be the element's end.
		if bytes.Equal(c[start:], pkgClose) {
			s.chunk = c
			s.n++
			return c, nil
		}
	}
}

func (s *oldStream) unexpected(err error) error {
	if err == io.EOF {
		return fmt.Errorf("ends inside the <%s> element", s.root)
	}
	return err
}

// finish reads to the end of the file, which must hold nothing but white space after the
// root element, and compares the file with its checksum in repomd.xml.
func (s *oldStream) finish() error {
	for !s.ended {
		if _, err := s.next(); err != nil && err != io.EOF {
			return err
		}
	}
	for {
		rest, err := s.br.ReadSlice('\n')
		if len(bytes.TrimSpace(rest)) > 0 {
			return fmt.Errorf("content after </%s>", s.root)
		}
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, struct{ io.Reader }{io.TeeReader(s.f, s.sum)}); err != nil {
		return err
	}
	if hex.EncodeToString(s.sum.Sum(nil)) != s.loc.sha256 {
		return fmt.Errorf("%s does not match its sha256 in repomd.xml", s.loc.href)
	}
	return nil
}

// elementSource gives writeRecord the elements of filelists (k = 1) or other (k = 2):
// entries read from a package carry theirs; reused ones come from the old file, streamed.
type elementSource struct {
	k       int
	entries []*entry
	wait    func(i int) // returns once entries[i] is made (or never will be)
	old     *oldMetadata
	stream  *oldStream
}

func (es *elementSource) part(i int) ([]byte, error) {
	es.wait(i)
	e := es.entries[i]
	if e == nil {
		return nil, errNoEntry
	}
	if e.oldIndex < 0 || es.k == 0 {
		// Each writer lets go of its part once written, so that entries can be collected
		// while others are still being read: less memory to fault in.
		x := e.xml[es.k]
		e.xml[es.k] = nil
		return x, nil
	}
	if es.stream == nil {
		s, err := openOldStream(es.old.dir, es.old.streams[es.k-1], []string{"filelists", "otherdata"}[es.k-1])
		if err != nil {
			return nil, oldErr("old %s: %w", es.old.streams[es.k-1].href, err)
		}
		es.stream = s
	}
	// Old elements before this one belong to packages removed or changed since.
	for {
		c, err := es.stream.next()
		if err == io.EOF {
			return nil, oldErr("old %s: no entry for package %s", es.stream.loc.href, e.location)
		}
		if err != nil {
			return nil, oldErr("old %s: %w", es.stream.loc.href, err)
		}
		switch j := es.stream.n - 1; {
		case j < e.oldIndex:
			continue
		case j > e.oldIndex:
			return nil, oldErr("old %s: entries out of order", es.stream.loc.href)
		}
		id, err := packageKey(c)
		if err == nil && id != es.old.ids[e.oldIndex] {
			err = fmt.Errorf("its entry %d is not that of %s in primary", e.oldIndex+1, e.location)
		}
		if err == nil {
			err = rpmmd.CheckElement(c)
		}
		if err != nil {
			return nil, oldErr("old %s: %w", es.stream.loc.href, err)
		}
		return c, nil
	}
}

// finish checks the rest of the old file, whose checksum covers all of it.
func (es *elementSource) finish() error {
	if es.stream == nil {
		return nil
	}
	defer es.stream.close()
	if err := es.stream.finish(); err != nil {
		return oldErr("old %s: %w", es.stream.loc.href, err)
	}
	return nil
}

func (es *elementSource) close() {
	if es.stream != nil {
		es.stream.close()
	}
}

var (
	pkgOpen  = []byte("<package ")
	pkgClose = []byte("</package>\n")
)

// primaryEntry reads what update needs from a package element of primary.xml, and the key
// that finds its elements in filelists and other.
func primaryEntry(c []byte) (*entry, string, error) {
	e := &entry{}
	var err error
	text := func(name string) string {
		v, ok := between(c, "<"+name+">", "</"+name+">")
		if !ok && err == nil {
			err = fmt.Errorf("package element without <%s>", name)
		}
		return rpmmd.Unescape(v)
	}
	e.name, e.arch = text("name"), text("arch")
	sum, ok := between(c, `<checksum type="sha256" pkgid="YES">`, "</checksum>")
	if !ok && err == nil {
		err = fmt.Errorf("package %s has no sha256 checksum", e.name)
	}
	// The location alone, without xml:base: what FindPackages would find.
	loc, ok := between(c, "\n  <location href=\"", "\"/>\n")
	if !ok && err == nil {
		err = fmt.Errorf("package %s: no plain <location href=...>", e.name)
	}
	e.location = rpmmd.Unescape(loc)
	timeTag, _ := between(c, "\n  <time", "/>")
	sizeTag, _ := between(c, "\n  <size", "/>")
	var ft, sz string
	if ft, ok = attrValue(timeTag, "file"); !ok && err == nil {
		err = fmt.Errorf("package %s: no file time", e.location)
	}
	if sz, ok = attrValue(sizeTag, "package"); !ok && err == nil {
		err = fmt.Errorf("package %s: no package size", e.location)
	}
	if err != nil {
		return nil, "", err
	}
	if e.fileTime, err = strconv.ParseInt(ft, 10, 64); err != nil {
		return nil, "", fmt.Errorf("package %s: file time %q", e.location, ft)
	}
	if e.size, err = strconv.ParseInt(sz, 10, 64); err != nil {
		return nil, "", fmt.Errorf("package %s: package size %q", e.location, sz)
	}
	return e, rpmmd.Unescape(sum) + "\x00" + e.name + "\x00" + e.arch, nil
}

// packageKey is the pkgid, name and arch of a package element of filelists or other.
func packageKey(c []byte) (string, error) {
	gt := bytes.IndexByte(c, '>')
	if gt < 0 {
		return "", errors.New("unterminated <package> tag")
	}
	tag := c[:gt]
	var parts [3]string
	for i, a := range []string{"pkgid", "name", "arch"} {
		v, ok := attrValue(tag, a)
		if !ok {
			return "", fmt.Errorf("package element without %s: %.60q", a, tag)
		}
		parts[i] = rpmmd.Unescape([]byte(v))
	}
	return parts[0] + "\x00" + parts[1] + "\x00" + parts[2], nil
}

// between is what lies between the first open and the next close in c.
func between(c []byte, open, close string) ([]byte, bool) {
	i := bytes.Index(c, []byte(open))
	if i < 0 {
		return nil, false
	}
	rest := c[i+len(open):]
	j := bytes.Index(rest, []byte(close))
	if j < 0 {
		return nil, false
	}
	return rest[:j], true
}

// attrValue is the value of the attribute name in the attributes of a tag, as written.
func attrValue(tag []byte, name string) (string, bool) {
	v, ok := between(tag, " "+name+`="`, `"`)
	return string(v), ok
}
