package hotfix

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A file name on Linux is any bytes but '/' and NUL. The text formats of a hotfix carry
// every such name exactly: filelist.txt, FileRemovals and the applier's
// Backup-<host>.inexistent write names as sha256sum does, a line that starts with '\' has
// its name's '\', newline and carriage return escaped as \\, \n and \r, so a name is one
// line whatever it holds and `sha256sum -c` still reads it. (The applier's journal, JSON,
// has its own way: applier's encodeNames.)

// EscapeName is name as sha256sum writes it, and whether it had to be escaped (then the
// line starts with '\').
func EscapeName(name string) (string, bool) {
	if !strings.ContainsAny(name, "\\\n\r") {
		return name, false
	}
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(name), true
}

// UnescapeName undoes EscapeName.
func UnescapeName(s string) (string, error) {
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

// ShortList is list for a message: its first n entries, then "and N more" for the others
// when there are any. list itself is left as it is.
func ShortList(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(list[:n:n], fmt.Sprintf("and %d more", len(list)-n))
}

// ShownName is name as the apply and rollback print it: as it is, unless it holds bytes
// that would break the line or the terminal (a newline, an escape sequence, invalid UTF-8);
// then Go-quoted.
func ShownName(name string) string {
	if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return strconv.Quote(name)
	}
	return name
}

// HasControl reports whether name holds a control character (a newline, a tab, an escape):
// a name build refuses, since filelist.txt, rpm, logs and reports hold names one a line.
// Invalid UTF-8 and backslashes are no control characters: filelist.txt escapes them.
func HasControl(name string) bool { return strings.IndexFunc(name, unicode.IsControl) >= 0 }

// NameLines is names sorted, one a line, escaped as in filelist.txt.
func NameLines(names []string) []byte {
	var b strings.Builder
	for _, n := range slices.Sorted(slices.Values(names)) {
		e, escaped := EscapeName(n)
		if escaped {
			b.WriteByte('\\')
		}
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
