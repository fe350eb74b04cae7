// Package shellword is the syntax of values in the settings file: one lexer, after POSIX
// sh's quoting, for the values themselves and for the command lines among them (Split),
// and the internal form in which values travel to sysconfig's checks, where "$$" is a
// literal dollar and a single "$" starts a $PRODUCT or $PRODUCT_ROOT reference (Expand,
// MarkRefs, QuoteValue). It is its own package because it is a leaf of pure string
// functions that sysconfig's parser, checks and Template share; it reads no file and runs
// nothing.
package shellword

import (
	"errors"
	"fmt"
	"strings"
)

// One lexer serves both the settings file and the command values in it, so that a value
// means the same in both places. It follows POSIX sh quoting: '...' is literal; inside
// "..." a backslash escapes only $ ` " \ and newline and is kept before anything else;
// outside quotes a backslash escapes any byte. Bytes are kept as they are (no UTF-8
// decoding), so odd file names survive.
//
// github.com/google/shlex was the first choice but falls short here: it drops the
// backslash in "a\b" (sh keeps it), replaces invalid UTF-8 with U+FFFD, and passes shell
// operators such as && through as arguments, which silently misleads someone who writes
// PRE_HOOK="systemctl stop shop && ..." expecting a shell.

// blank reports whether c separates words.
func blank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// NameByte reports whether c can be part of a shell variable name.
func NameByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// operators are the unquoted bytes that a shell would treat as control or redirection.
const operators = ";&|<>()"

// Scan reads one shell word of s starting at i and returns it without its quotes,
// with the index just past it. The word ends at an unquoted blank or at the end of s.
//
// With mark set the word comes back in the internal form of settings values (see
// expand.go): a literal dollar is doubled, and a single dollar starts a reference to
// PRODUCT or PRODUCT_ROOT. notes (only with mark) collects what a shell would have
// expanded but this lexer takes literally.
func Scan(s string, i int, mark bool, notes *[]string) (string, int, error) {
	var b strings.Builder
	lit := func(c byte) {
		if mark && c == '$' {
			b.WriteString("$$")
			return
		}
		b.WriteByte(c)
	}
	for i < len(s) {
		c := s[i]
		switch {
		case blank(c):
			return b.String(), i, nil
		case c == 0:
			return "", i, errors.New("contains a NUL byte")
		case c == '\\':
			if i+1 >= len(s) {
				return "", i, errors.New("backslash at the end: nothing to escape (lines cannot be continued)")
			}
			if s[i+1] == 0 {
				return "", i + 1, errors.New("contains a NUL byte")
			}
			if s[i+1] != '\n' { // backslash-newline joins lines, as in sh
				lit(s[i+1])
			}
			i += 2
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", i, errors.New("unterminated single quote: add the closing '")
			}
			for k := i + 1; k <= i+j; k++ {
				if s[k] == 0 {
					return "", k, errors.New("contains a NUL byte")
				}
				lit(s[k])
			}
			i += j + 2
		case c == '"':
			var err error
			if i, err = scanDouble(s, i+1, mark, notes, &b, lit); err != nil {
				return "", i, err
			}
		case c == '$' && mark:
			i += dollar(&b, s, i, notes)
		case strings.IndexByte(operators, c) >= 0:
			return "", i, fmt.Errorf("unquoted %q: nothing here runs through a shell; quote it if it belongs to the value", string(c))
		default:
			if c == '`' && mark {
				note(notes, "`...` is taken literally: no command is run")
			}
			lit(c)
			i++
		}
	}
	return b.String(), i, nil
}

// scanDouble reads the inside of a double-quoted string that starts at i (just past the
// opening quote) and returns the index just past the closing quote.
func scanDouble(s string, i int, mark bool, notes *[]string, b *strings.Builder, lit func(byte)) (int, error) {
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == 0:
			return i, errors.New("contains a NUL byte")
		case c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0:
			if s[i+1] != '\n' {
				lit(s[i+1])
			}
			i += 2
		case c == '$' && mark:
			i += dollar(b, s, i, notes)
		default:
			if c == '`' && mark {
				note(notes, "`...` is taken literally: no command is run")
			}
			lit(c)
			i++
		}
	}
	return i, errors.New("unterminated double quote: add the closing \"")
}

// dollar copies the unquoted or double-quoted dollar at s[i] in internal form and
// returns how many bytes it consumed: a reference as written, anything else as a
// literal "$$".
func dollar(b *strings.Builder, s string, i int, notes *[]string) int {
	if name, n := refAt(s, i); n > 0 {
		ref := s[i : i+n]
		// $PRODUCT"_ROOT" is $PRODUCT then _ROOT, as in sh; bare in the internal form it
		// would read as $PRODUCT_ROOT. Quotes add nothing to the value: look past them.
		j := i + n
		for j < len(s) && (s[j] == '"' || s[j] == '\'') {
			j++
		}
		if ref[1] != '{' && j < len(s) && (NameByte(s[j]) || s[j] == '\\' && j+1 < len(s) && NameByte(s[j+1])) {
			ref = "${" + name + "}"
		}
		b.WriteString(ref)
		return n
	}
	if i+1 < len(s) && (NameByte(s[i+1]) || s[i+1] == '{' || s[i+1] == '(') {
		what := s[i:min(len(s), i+2)]
		if s[i+1] != '(' {
			j := i + 1
			for j < len(s) && NameByte(s[j]) {
				j++
			}
			if j == i+1 { // ${...}
				if k := strings.IndexByte(s[i:], '}'); k > 0 {
					j = i + k + 1
				}
			}
			what = s[i:max(j, i+2)]
		}
		note(notes, fmt.Sprintf("%s is taken literally: only $PRODUCT and $PRODUCT_ROOT are expanded, and only in paths and CHANGE_TREES", what))
	}
	b.WriteString("$$")
	return 1
}

func note(notes *[]string, msg string) {
	if notes == nil {
		return
	}
	for _, n := range *notes {
		if n == msg {
			return
		}
	}
	*notes = append(*notes, msg)
}

// Split splits a command line from the settings (YUM_PARAMETER, PRE_HOOK, POST_HOOK,
// PRODUCT_VERSION_CMD) into words the way sh would, removing quotes, without expanding
// anything or running a shell: `--disablerepo '*' --enablerepo shop-hotfix` gives four
// words. A # at the start of a word begins a comment. Unquoted shell operators
// (; & | < > ( )), an unterminated quote and a NUL byte are errors. An empty line gives
// no words (nil).
func Split(s string) ([]string, error) {
	var words []string
	for i := 0; ; {
		for i < len(s) && blank(s[i]) {
			i++
		}
		if i >= len(s) {
			return words, nil
		}
		if s[i] == '#' {
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return words, nil
			}
			i += j
			continue
		}
		w, next, err := Scan(s, i, false, nil)
		if err != nil {
			return nil, err
		}
		words = append(words, w)
		i = next
	}
}

// safeByte reports whether c needs no quoting anywhere in a word or value.
func safeByte(c byte) bool {
	return NameByte(c) || strings.IndexByte("@%+=:,./-", c) >= 0
}

func allSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			return false
		}
	}
	return true
}

// quoteWord quotes w so that Split gives it back as one word.
func quoteWord(w string) string {
	if w != "" && allSafe(w) {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// Join is the inverse of Split.
func Join(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quoteWord(w)
	}
	return strings.Join(q, " ")
}
