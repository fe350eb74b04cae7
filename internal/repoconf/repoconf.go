// Package repoconf reads yum and dnf .repo files: the one reader that both the vendor's
// `hotchain repo-file` (which rewrites a .repo file in place) and the host's package-manager
// client (which points gpgkey URLs into an installroot) use. It reads the INI dialect dnf
// reads: [id] sections, key=value lines, values continued on lines that start with a blank,
// and comment lines that start with # or ;. It never writes files.
package repoconf

import (
	"net/url"
	"path"
	"strings"

	"github.com/hotchain/hotchain/internal/boundedio"
)

// ID is the repository id of a product's hotfix repository, the section of its .repo
// file: shop-hotfix. The vendor writes it (repo.RepoFile) and the host's agent finds its
// section by it.
func ID(product string) string { return product + "-hotfix" }

// MaxSize bounds a .repo file that is read: real ones are a few hundred bytes; a file this
// large is not one.
const MaxSize = 1 << 20

// ReadFile reads the .repo file at path, refusing one over MaxSize before reading it.
func ReadFile(path string) ([]byte, error) {
	return boundedio.ReadFile(path, "repo file", MaxSize)
}

// Span is part of a value on one line: Line[Start:End] of File.Lines.
type Span struct {
	Line, Start, End int
}

// Entry is one key=value of a section, with where its value lies so it can be rewritten.
type Entry struct {
	Section string
	Key     string
	Spans   []Span // the key line's value, then each continuation line's
}

// File is a parsed .repo file. Lines keep their line endings, so that joining them gives the
// file back byte for byte.
type File struct {
	Lines   []string
	Entries []Entry
}

// Parse reads a .repo file. It does not fail: lines it cannot read are not entries, as dnf
// ignores them too.
func Parse(data []byte) *File {
	f := &File{Lines: strings.SplitAfter(string(data), "\n")}
	if n := len(f.Lines); n > 0 && f.Lines[n-1] == "" {
		f.Lines = f.Lines[:n-1]
	}
	section := ""
	var cur *Entry
	for i, line := range f.Lines {
		body := strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(body)
		switch {
		case cur != nil && trimmed != "" && (body[0] == ' ' || body[0] == '\t') && !isComment(trimmed):
			start := len(body) - len(strings.TrimLeft(body, " \t"))
			cur.Spans = append(cur.Spans, Span{i, start, len(strings.TrimRight(body, " \t"))})
			continue
		case trimmed == "" || isComment(trimmed):
			cur = nil
			continue
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			section = strings.TrimSpace(trimmed[1 : len(trimmed)-1])
			cur = nil
			continue
		}
		key, _, ok := strings.Cut(body, "=")
		if !ok || section == "" {
			cur = nil
			continue
		}
		eq := len(key) + 1
		start := eq + len(body[eq:]) - len(strings.TrimLeft(body[eq:], " \t"))
		f.Entries = append(f.Entries, Entry{Section: section, Key: strings.TrimSpace(key),
			Spans: []Span{{i, start, max(start, len(strings.TrimRight(body, " \t")))}}})
		cur = &f.Entries[len(f.Entries)-1]
	}
	return f
}

func isComment(trimmed string) bool {
	return strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";")
}

// Text is the text of a span.
func (f *File) Text(s Span) string { return f.Lines[s.Line][s.Start:s.End] }

// Value is an entry's whole value: its parts joined by a blank.
func (f *File) Value(e Entry) string {
	parts := make([]string, 0, len(e.Spans))
	for _, s := range e.Spans {
		if t := f.Text(s); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// Words splits a list value (baseurl, gpgkey) as dnf does: on blanks and commas.
func Words(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// Lookup returns the entries named key, in file order.
func (f *File) Lookup(key string) []Entry {
	var out []Entry
	for _, e := range f.Entries {
		if e.Key == key {
			out = append(out, e)
		}
	}
	return out
}

// Replace sets the text of span s (which must be one of this file's spans; spans of other
// lines stay valid, later spans of the same line do not).
func (f *File) Replace(s Span, text string) {
	l := f.Lines[s.Line]
	f.Lines[s.Line] = l[:s.Start] + text + l[s.End:]
}

// Bytes is the file as it is now.
func (f *File) Bytes() []byte { return []byte(strings.Join(f.Lines, "")) }

// LastElem is the last path element of a baseurl, ignoring trailing slashes: the base
// version of a hotfix repository's URL.
func LastElem(raw string) string {
	p := raw
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		p = u.Path
	}
	return path.Base(strings.TrimRight(p, "/"))
}
