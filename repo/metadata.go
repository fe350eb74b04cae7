package repo

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hotchain/hotchain/repo/rpmfile"
)

// XML namespaces of the rpm-md format.
const (
	nsCommon    = "http://linux.duke.edu/metadata/common"
	nsRPM       = "http://linux.duke.edu/metadata/rpm"
	nsFilelists = "http://linux.duke.edu/metadata/filelists"
	nsOther     = "http://linux.duke.edu/metadata/other"
	nsRepo      = "http://linux.duke.edu/metadata/repo"
)

// xmlWriter appends the metadata as createrepo_c (libxml2) formats it: two-space
// indentation, empty elements as <a></a> for text and <a/> for attribute-only ones. It
// appends to a byte slice, without fmt: a repository of a thousand hotfixes has a hundred
// thousand file entries.
type xmlWriter struct{ b []byte }

func (w *xmlWriter) WriteString(s string) { w.b = append(w.b, s...) }

func (w *xmlWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *xmlWriter) Bytes() []byte               { return w.b }

func (w *xmlWriter) text(indent, name, value string) {
	w.b = append(w.b, indent...)
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
	w.b = appendEscaped(w.b, value, false)
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ">\n"...)
}

func (w *xmlWriter) attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = appendEscaped(w.b, value, true)
	w.b = append(w.b, '"')
}

func (w *xmlWriter) intAttr(name string, n int64) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = strconv.AppendInt(w.b, n, 10)
	w.b = append(w.b, '"')
}

func (w *xmlWriter) open(indent, name string) {
	w.b = append(w.b, indent...)
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
}

func (w *xmlWriter) closeEmpty() { w.b = append(w.b, "/>\n"...) }

func (w *xmlWriter) empty(indent, name string, kv ...string) {
	w.open(indent, name)
	for i := 0; i+1 < len(kv); i += 2 {
		w.attr(kv[i], kv[i+1])
	}
	w.closeEmpty()
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// The three metadata files: what comes before the packages, and after.
func primaryHead(n int) string {
	return xmlHeader + `<metadata xmlns="` + nsCommon + `" xmlns:rpm="` + nsRPM + `" packages="` + strconv.Itoa(n) + "\">\n"
}

func filelistsHead(n int) string {
	return xmlHeader + `<filelists xmlns="` + nsFilelists + `" packages="` + strconv.Itoa(n) + "\">\n"
}

func otherHead(n int) string {
	return xmlHeader + `<otherdata xmlns="` + nsOther + `" packages="` + strconv.Itoa(n) + "\">\n"
}

const (
	primaryTail   = "</metadata>"
	filelistsTail = "</filelists>"
	otherTail     = "</otherdata>"
)

// appendPrimary appends p's <package> element of primary.xml.
func (w *xmlWriter) appendPrimary(p *rpmfile.Package) {
	w.WriteString("<package type=\"rpm\">\n")
	w.text("  ", "name", p.Name)
	w.text("  ", "arch", p.Arch)
	w.empty("  ", "version", "epoch", p.Epoch, "ver", p.Version, "rel", p.Release)
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
	w.empty("  ", "location", "href", p.Location)
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

func (w *xmlWriter) file(indent string, f rpmfile.File) {
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

func (w *xmlWriter) pkgStart(p *rpmfile.Package) {
	w.open("", "package")
	w.attr("pkgid", p.Checksum)
	w.attr("name", p.Name)
	w.attr("arch", p.Arch)
	w.b = append(w.b, ">\n"...)
	w.empty("  ", "version", "epoch", p.Epoch, "ver", p.Version, "rel", p.Release)
}

// appendFilelists appends p's <package> element of filelists.xml.
func (w *xmlWriter) appendFilelists(p *rpmfile.Package) {
	w.pkgStart(p)
	for _, f := range p.Files {
		w.file("  ", f)
	}
	w.WriteString("</package>\n")
}

// appendOther appends p's <package> element of other.xml.
func (w *xmlWriter) appendOther(p *rpmfile.Package) {
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
