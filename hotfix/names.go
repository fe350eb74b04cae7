package hotfix

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A file name on Linux is any bytes but '/' and NUL. The text formats the applier writes
// carry every such name exactly:
//
//   - the journal (JSON): a name that is valid UTF-8 is a JSON string, as it always was; any
//     other goes into the field of the same name with _base64 added ("rel_base64"), and the
//     field itself stays empty, since encoding/json would replace each invalid byte with
//     U+FFFD and rollback would look for a backup that does not exist;
//   - filelist.txt and Backup-<host>.inexistent: as sha256sum writes names, a line that
//     starts with '\' has its name's '\', newline and carriage return escaped as \\, \n
//     and \r, so a name is one line whatever it holds and `sha256sum -c` still reads it.

// encodeNames is j as writeJournal writes it: every name that is not valid UTF-8 moved to
// its _base64 field. j itself is left as it is.
func encodeNames(j *journal) *journal {
	enc := func(s *string, b *string) {
		if !utf8.ValidString(*s) {
			*s, *b = "", base64.StdEncoding.EncodeToString([]byte(*s))
		}
	}
	var w *journal
	copied := func() {
		if w == nil {
			c := *j
			c.Ops, c.Dirs, c.ScriptsDone = slices.Clone(j.Ops), slices.Clone(j.Dirs), nil
			w = &c
		}
	}
	for i := range j.Ops {
		if o := &j.Ops[i]; !utf8.ValidString(o.Rel) || !utf8.ValidString(o.Target) || !utf8.ValidString(o.Link) {
			copied()
			o := &w.Ops[i]
			enc(&o.Rel, &o.RelBase64)
			enc(&o.Target, &o.TargetBase64)
			enc(&o.Link, &o.LinkBase64)
		}
	}
	for i := range j.Dirs {
		if !utf8.ValidString(j.Dirs[i].Path) {
			copied()
			enc(&w.Dirs[i].Path, &w.Dirs[i].PathBase64)
		}
	}
	for _, s := range j.ScriptsDone {
		if !utf8.ValidString(s) {
			copied()
		}
	}
	if w == nil {
		return j
	}
	for _, s := range j.ScriptsDone {
		if utf8.ValidString(s) {
			w.ScriptsDone = append(w.ScriptsDone, s)
		} else {
			w.ScriptsDoneBase64 = append(w.ScriptsDoneBase64, base64.StdEncoding.EncodeToString([]byte(s)))
		}
	}
	return w
}

// decodeNames undoes encodeNames on a journal just read.
func decodeNames(j *journal) error {
	var err error
	dec := func(s *string, b *string) {
		if *b == "" {
			return
		}
		raw, e := base64.StdEncoding.DecodeString(*b)
		if e != nil && err == nil {
			err = fmt.Errorf("name %q: %w", *b, e)
		}
		*s, *b = string(raw), ""
	}
	for i := range j.Ops {
		o := &j.Ops[i]
		dec(&o.Rel, &o.RelBase64)
		dec(&o.Target, &o.TargetBase64)
		dec(&o.Link, &o.LinkBase64)
	}
	for i := range j.Dirs {
		dec(&j.Dirs[i].Path, &j.Dirs[i].PathBase64)
	}
	for _, b := range j.ScriptsDoneBase64 {
		var s string
		dec(&s, &b)
		j.ScriptsDone = append(j.ScriptsDone, s)
	}
	j.ScriptsDoneBase64 = nil
	return err
}

// escapeName is name as sha256sum writes it, and whether it had to be escaped (then the
// line starts with '\').
func escapeName(name string) (string, bool) {
	if !strings.ContainsAny(name, "\\\n\r") {
		return name, false
	}
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(name), true
}

// unescapeName undoes escapeName.
func unescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i++; i == len(s) {
			return "", fmt.Errorf("the name ends in a lone backslash")
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf(`unknown escape \%c in the name: only \\, \n and \r are escapes`, s[i])
		}
	}
	return b.String(), nil
}

// shownName is name as the apply and rollback print it: as it is, unless it holds bytes
// that would break the line or the terminal (a newline, an escape sequence, invalid UTF-8);
// then Go-quoted.
func shownName(name string) string {
	if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return strconv.Quote(name)
	}
	return name
}

// nameLines is names sorted, one a line, escaped as in filelist.txt.
func nameLines(names []string) []byte {
	var b strings.Builder
	for _, n := range slices.Sorted(slices.Values(names)) {
		e, escaped := escapeName(n)
		if escaped {
			b.WriteByte('\\')
		}
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
