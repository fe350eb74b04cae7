package rpmmd

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hotchain/hotchain/repo/rpmfile"
)

// XML namespaces of the rpm-md format.
const (
	nsCommon    = "http://linux.duke.edu/metadata/common"
	NSRPM       = "http://linux.duke.edu/metadata/rpm"
	nsFilelists = "http://linux.duke.edu/metadata/filelists"
	nsOther     = "http://linux.duke.edu/metadata/other"
	NSRepo      = "http://linux.duke.edu/metadata/repo"
)

// Writer appends the metadata as createrepo_c (libxml2) formats it: two-space
// indentation, empty elements as <a></a> for text and <a/> for attribute-only ones. It
// appends to a byte slice, without fmt: a repository of a thousand hotfixes has a hundred
// thousand file entries.
type Writer struct{ b []byte }

func (w *Writer) WriteString(s string) { w.b = append(w.b, s...) }

func (w *Writer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// Bytes is what was appended since the last Reset.
func (w *Writer) Bytes() []byte { return w.b }

// Len is len(w.Bytes()).
func (w *Writer) Len() int { return len(w.b) }

// Reset empties w, keeping its buffer.
func (w *Writer) Reset() { w.b = w.b[:0] }

func (w *Writer) text(indent, name, value string) {
	w.b = append(w.b, indent...)
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
	w.b = appendEscaped(w.b, value, false)
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ">\n"...)
}

func (w *Writer) attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = appendEscaped(w.b, value, true)
	w.b = append(w.b, '"')
}

func (w *Writer) intAttr(name string, n int64) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = strconv.AppendInt(w.b, n, 10)
	w.b = append(w.b, '"')
}

func (w *Writer) open(indent, name string) {
	w.b = append(w.b, indent...)
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
}

func (w *Writer) closeEmpty() { w.b = append(w.b, "/>\n"...) }

// Empty appends an element without content, <name k="v"/>, on a line of its own.
func (w *Writer) Empty(indent, name string, kv ...string) {
	w.open(indent, name)
	for i := 0; i+1 < len(kv); i += 2 {
		w.attr(kv[i], kv[i+1])
	}
	w.closeEmpty()
}

// XMLHeader starts every metadata file.
const XMLHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// The three metadata files: what comes before the n packages (PrimaryHead, FilelistsHead,
// OtherHead), and after (PrimaryTail, FilelistsTail, OtherTail).
func PrimaryHead(n int) string {
	return XMLHeader + `<metadata xmlns="` + nsCommon + `" xmlns:rpm="` + NSRPM + `" packages="` + strconv.Itoa(n) + "\">\n"
}

// FilelistsHead is what comes before the n packages of filelists.xml.
func FilelistsHead(n int) string {
	return XMLHeader + `<filelists xmlns="` + nsFilelists + `" packages="` + strconv.Itoa(n) + "\">\n"
}

// OtherHead is what comes before the n packages of other.xml.
func OtherHead(n int) string {
	return XMLHeader + `<otherdata xmlns="` + nsOther + `" packages="` + strconv.Itoa(n) + "\">\n"
}

// What comes after the packages of each metadata file.
const (
	PrimaryTail   = "</metadata>"
	FilelistsTail = "</filelists>"
	OtherTail     = "</otherdata>"
)

// AppendPrimary appends p's <package> element of primary.xml.
func (w *Writer) AppendPrimary(p *rpmfile.Package) {
	w.WriteString("<package type=\"rpm\">\n")
	w.text("  ", "name", p.Name)
	w.text("  ", "arch", p.Arch)
	w.Empty("  ", "version", "epoch", p.Epoch, "ver", p.Version, "rel", p.Release)
	w.WriteString("  <checksum type=\"sha256\" pkgid=\"YES\">")
	w.b = appendEscaped(w.b, p.Checksum, false)
	w.WriteString("</checksum>\n")
	w.text("  ", "summary", p.Summary)
	w.text("  ", "description", p.Description)
	w.text("  ", "packager", p.Packager)
	w.text("  ", "url", p.URL)
	w.open("  ", "time")
	w.intAttr("file", p.FileTime)
	w.intAttr("build", p.BuildTime)
	w.closeEmpty()
	w.open("  ", "size")
	w.intAttr("package", p.PackageSize)
	w.intAttr("installed", p.InstalledSize)
	w.intAttr("archive", p.ArchiveSize)
	w.closeEmpty()
	w.Empty("  ", "location", "href", p.Location)
	w.WriteString("  <format>\n")
	w.text("    ", "rpm:license", p.License)
	w.text("    ", "rpm:vendor", p.Vendor)
	w.text("    ", "rpm:group", p.Group)
	w.text("    ", "rpm:buildhost", p.BuildHost)
	w.text("    ", "rpm:sourcerpm", p.SourceRPM)
	w.open("    ", "rpm:header-range")
	w.intAttr("start", p.HeaderStart)
	w.intAttr("end", p.HeaderEnd)
	w.closeEmpty()
	for _, k := range rpmfile.DepOrder {
		deps := p.Deps[k]
		if len(deps) == 0 {
			continue
		}
		w.WriteString("    <rpm:" + k.String() + ">\n")
		for _, d := range deps {
			w.open("      ", "rpm:entry")
			w.attr("name", d.Name)
			if d.Flags != "" {
				w.attr("flags", d.Flags)
				for _, a := range [][2]string{{"epoch", d.Epoch}, {"ver", d.Version}, {"rel", d.Release}} {
					if a[1] != "" {
						w.attr(a[0], a[1])
					}
				}
			}
			if d.Pre {
				w.attr("pre", "1")
			}
			w.closeEmpty()
		}
		w.WriteString("    </rpm:" + k.String() + ">\n")
	}
	for _, f := range p.Files {
		if rpmfile.IsPrimary(f.Path) {
			w.file("    ", f)
		}
	}
	w.WriteString("  </format>\n</package>\n")
}

func (w *Writer) file(indent string, f rpmfile.File) {
	if f.Type == "" {
		w.text(indent, "file", f.Path)
		return
	}
	w.open(indent, "file")
	w.attr("type", f.Type)
	w.b = append(w.b, '>')
	w.b = appendEscaped(w.b, f.Path, false)
	w.WriteString("</file>\n")
}

func (w *Writer) pkgStart(p *rpmfile.Package) {
	w.open("", "package")
	w.attr("pkgid", p.Checksum)
	w.attr("name", p.Name)
	w.attr("arch", p.Arch)
	w.b = append(w.b, ">\n"...)
	w.Empty("  ", "version", "epoch", p.Epoch, "ver", p.Version, "rel", p.Release)
}

// AppendFilelists appends p's <package> element of filelists.xml.
func (w *Writer) AppendFilelists(p *rpmfile.Package) {
	w.pkgStart(p)
	for _, f := range p.Files {
		w.file("  ", f)
	}
	w.WriteString("</package>\n")
}

// AppendOther appends p's <package> element of other.xml.
func (w *Writer) AppendOther(p *rpmfile.Package) {
	w.pkgStart(p)
	for _, c := range p.Changelogs {
		w.open("  ", "changelog")
		w.attr("author", c.Author)
		w.intAttr("date", c.Date)
		w.b = append(w.b, '>')
		w.b = appendEscaped(w.b, c.Text, false)
		w.WriteString("</changelog>\n")
	}
	w.WriteString("</package>\n")
}

// clean makes s what createrepo_c writes for it. Header strings are bytes, not always
// UTF-8: a string that is not valid UTF-8 is read as ISO-8859-1 the way createrepo_c's
// cr_latin1_to_utf8 reads it, which drops the bytes 0x80 to 0xBF (C1 controls: the text is
// most likely misencoded CP-1252) and the control characters below 0x20 other than tab,
// newline and carriage return, and converts 0xC0 to 0xFF. Control characters in valid
// UTF-8 do not get here (package rpmfile refuses such a package); the other characters
// XML 1.0 cannot carry (U+FFFE, U+FFFF) are dropped.
func clean(s string) string {
	if !utf8.ValidString(s) {
		b := make([]byte, 0, 2*len(s))
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			case c < 0x80:
				b = append(b, c)
			case c < 0xC0:
			default:
				b = utf8.AppendRune(b, rune(c))
			}
		}
		return string(b)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF:
			return -1
		}
		return r
	}, s)
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;",
		"\r", "&#13;", "\n", "&#10;", "\t", "&#9;")
)

func escapeText(s string) string { return textEscaper.Replace(clean(s)) }

// escapeAttr escapes an attribute value as libxml2 writes it for createrepo_c: markup,
// tab and line ends as references, and every character beyond ASCII as a hexadecimal
// character reference (&#xED;), where text keeps the UTF-8.
func escapeAttr(s string) string {
	s = attrEscaper.Replace(clean(s))
	var b []byte
	for i, r := range s {
		if r < utf8.RuneSelf {
			if b != nil {
				b = append(b, byte(r))
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)+16), s[:i]...)
		}
		b = append(b, "&#x"...)
		b = append(b, strings.ToUpper(strconv.FormatInt(int64(r), 16))...)
		b = append(b, ';')
	}
	if b == nil {
		return s
	}
	return string(b)
}

// appendEscaped appends s escaped for text (or an attribute value). Most strings are
// printable ASCII without markup characters and are appended as they are.
func appendEscaped(b []byte, s string, attr bool) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '&' || c == '<' || c == '>' || c == '"' {
			if attr {
				return append(b, escapeAttr(s)...)
			}
			return append(b, escapeText(s)...)
		}
	}
	return append(b, s...)
}
