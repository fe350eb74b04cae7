package repo

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// XML namespaces of the rpm-md format.
const (
	nsCommon    = "http://linux.duke.edu/metadata/common"
	nsRPM       = "http://linux.duke.edu/metadata/rpm"
	nsFilelists = "http://linux.duke.edu/metadata/filelists"
	nsOther     = "http://linux.duke.edu/metadata/other"
	nsRepo      = "http://linux.duke.edu/metadata/repo"
)

type depKind int

const (
	depProvides depKind = iota
	depConflicts
	depObsoletes
	depRequires
	depSuggests
	depEnhances
	depRecommends
	depSupplements
	numDepKinds
)

// depElems are the primary.xml element names, in the order createrepo_c writes them.
var depElems = []struct {
	kind depKind
	elem string
}{
	{depProvides, "provides"},
	{depRequires, "requires"},
	{depConflicts, "conflicts"},
	{depObsoletes, "obsoletes"},
	{depSuggests, "suggests"},
	{depEnhances, "enhances"},
	{depRecommends, "recommends"},
	{depSupplements, "supplements"},
}

// pkg is one package's entry in primary, filelists and other. It holds exactly what the
// XML holds, so that an entry read back from old metadata is written out unchanged.
type pkg struct {
	Name, Arch                          string
	Epoch, Version, Release             string
	Checksum                            string // sha256 of the file; the pkgid
	Summary, Description, Packager, URL string
	FileTime, BuildTime                 int64
	PackageSize, InstalledSize          int64
	ArchiveSize                         int64
	Location                            string // relative to the repository, with slashes
	License, Vendor, Group, BuildHost   string
	SourceRPM                           string
	HeaderStart, HeaderEnd              int64
	Deps                                [numDepKinds][]dependency
	Files                               []file // all of them, in header order
	Changelogs                          []changelog
}

type dependency struct {
	Name, Flags, Epoch, Version, Release string
	Pre                                  bool
}

type file struct {
	Path string
	Type string // "", "dir" or "ghost"
}

type changelog struct {
	Author string
	Date   int64
	Text   string
}

// xmlWriter writes the metadata as createrepo_c (libxml2) formats it: two-space
// indentation, empty elements as <a></a> for text and <a/> for attribute-only ones.
type xmlWriter struct{ bytes.Buffer }

func (w *xmlWriter) text(indent, name, value string) {
	fmt.Fprintf(w, "%s<%s>%s</%s>\n", indent, name, escapeText(value), name)
}

func (w *xmlWriter) attrs(kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(w, " %s=\"%s\"", kv[i], escapeAttr(kv[i+1]))
	}
}

func (w *xmlWriter) empty(indent, name string, kv ...string) {
	fmt.Fprintf(w, "%s<%s", indent, name)
	w.attrs(kv...)
	w.WriteString("/>\n")
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

func writePrimary(pkgs []*pkg) []byte {
	var w xmlWriter
	w.WriteString(xmlHeader)
	fmt.Fprintf(&w, "<metadata xmlns=\"%s\" xmlns:rpm=\"%s\" packages=\"%d\">\n", nsCommon, nsRPM, len(pkgs))
	for _, p := range pkgs {
		w.WriteString("<package type=\"rpm\">\n")
		w.text("  ", "name", p.Name)
		w.text("  ", "arch", p.Arch)
		w.empty("  ", "version", "epoch", p.Epoch, "ver", p.Version, "rel", p.Release)
		fmt.Fprintf(&w, "  <checksum type=\"sha256\" pkgid=\"YES\">%s</checksum>\n", escapeText(p.Checksum))
		w.text("  ", "summary", p.Summary)
		w.text("  ", "description", p.Description)
		w.text("  ", "packager", p.Packager)
		w.text("  ", "url", p.URL)
		w.empty("  ", "time", "file", i64(p.FileTime), "build", i64(p.BuildTime))
		w.empty("  ", "size", "package", i64(p.PackageSize), "installed", i64(p.InstalledSize), "archive", i64(p.ArchiveSize))
		w.empty("  ", "location", "href", p.Location)
		w.WriteString("  <format>\n")
		w.text("    ", "rpm:license", p.License)
		w.text("    ", "rpm:vendor", p.Vendor)
		w.text("    ", "rpm:group", p.Group)
		w.text("    ", "rpm:buildhost", p.BuildHost)
		w.text("    ", "rpm:sourcerpm", p.SourceRPM)
		w.empty("    ", "rpm:header-range", "start", i64(p.HeaderStart), "end", i64(p.HeaderEnd))
		for _, de := range depElems {
			deps := p.Deps[de.kind]
			if len(deps) == 0 {
				continue
			}
			fmt.Fprintf(&w, "    <rpm:%s>\n", de.elem)
			for _, d := range deps {
				kv := []string{"name", d.Name}
				if d.Flags != "" {
					kv = append(kv, "flags", d.Flags)
					for _, a := range [][2]string{{"epoch", d.Epoch}, {"ver", d.Version}, {"rel", d.Release}} {
						if a[1] != "" {
							kv = append(kv, a[0], a[1])
						}
					}
				}
				if d.Pre {
					kv = append(kv, "pre", "1")
				}
				w.empty("      ", "rpm:entry", kv...)
			}
			fmt.Fprintf(&w, "    </rpm:%s>\n", de.elem)
		}
		for _, f := range p.Files {
			if isPrimary(f.Path) {
				w.file("    ", f)
			}
		}
		w.WriteString("  </format>\n</package>\n")
	}
	w.WriteString("</metadata>")
	return w.Bytes()
}

func (w *xmlWriter) file(indent string, f file) {
	if f.Type == "" {
		w.text(indent, "file", f.Path)
		return
	}
	fmt.Fprintf(w, "%s<file type=\"%s\">%s</file>\n", indent, escapeAttr(f.Type), escapeText(f.Path))
}

func (w *xmlWriter) pkgStart(p *pkg) {
	fmt.Fprintf(w, "<package pkgid=\"%s\" name=\"%s\" arch=\"%s\">\n", escapeAttr(p.Checksum), escapeAttr(p.Name), escapeAttr(p.Arch))
	w.empty("  ", "version", "epoch", p.Epoch, "ver", p.Version, "rel", p.Release)
}

func writeFilelists(pkgs []*pkg) []byte {
	var w xmlWriter
	w.WriteString(xmlHeader)
	fmt.Fprintf(&w, "<filelists xmlns=\"%s\" packages=\"%d\">\n", nsFilelists, len(pkgs))
	for _, p := range pkgs {
		w.pkgStart(p)
		for _, f := range p.Files {
			w.file("  ", f)
		}
		w.WriteString("</package>\n")
	}
	w.WriteString("</filelists>")
	return w.Bytes()
}

func writeOther(pkgs []*pkg) []byte {
	var w xmlWriter
	w.WriteString(xmlHeader)
	fmt.Fprintf(&w, "<otherdata xmlns=\"%s\" packages=\"%d\">\n", nsOther, len(pkgs))
	for _, p := range pkgs {
		w.pkgStart(p)
		for _, c := range p.Changelogs {
			fmt.Fprintf(&w, "  <changelog author=\"%s\" date=\"%d\">%s</changelog>\n", escapeAttr(c.Author), c.Date, escapeText(c.Text))
		}
		w.WriteString("</package>\n")
	}
	w.WriteString("</otherdata>")
	return w.Bytes()
}

// clean makes s a valid XML 1.0 string: header strings are bytes, not always UTF-8, and
// may hold control characters that XML cannot carry. Like createrepo_c, invalid UTF-8 is
// read as Latin-1; characters XML forbids are dropped.
func clean(s string) string {
	if !utf8.ValidString(s) {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			b.WriteRune(rune(s[i]))
		}
		s = b.String()
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r < 0xE000:
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
func escapeAttr(s string) string { return attrEscaper.Replace(clean(s)) }
