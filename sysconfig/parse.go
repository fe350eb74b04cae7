package sysconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hotchain/hotchain/sysconfig/shellword"
)

// assignment is one KEY=VALUE line of a settings file.
type assignment struct {
	key   string
	value string // internal form (see expand.go)
	line  int
}

// warning is a message tied to a line (0: not tied to one), so that warnings can be
// reported in file order.
type warning struct {
	line int
	msg  string
}

// parse reads a settings file. name is the file as opened, for messages. It returns
// every assignment in file order (a key set twice appears twice; the later one wins),
// the warnings, and every line that does not parse, joined.
func parse(name string, src []byte) ([]assignment, []warning, error) {
	text := strings.TrimPrefix(string(src), "\uFEFF") // editors on other systems add a BOM
	var (
		out   []assignment
		warns []warning
		errs  []error
		first = map[string]int{}
	)
	for n, line := range strings.Split(text, "\n") {
		a, ok, notes, e := parseLine(line)
		if e != nil {
			e.File, e.Line = name, n+1
			errs = append(errs, e)
			continue
		}
		if !ok {
			continue
		}
		a.line = n + 1
		for _, msg := range notes {
			warns = append(warns, warning{a.line, fmt.Sprintf("%s:%d: %s: %s", name, a.line, a.key, msg)})
		}
		if l, dup := first[a.key]; dup {
			warns = append(warns, warning{a.line, fmt.Sprintf("%s:%d: %s is set again (first on line %d); this line wins", name, a.line, a.key, l)})
		} else {
			first[a.key] = a.line
		}
		out = append(out, a)
	}
	return out, warns, errors.Join(errs...)
}

// parseLine reads one line: ok is false for a blank or comment line. The error has no
// file or line yet.
func parseLine(line string) (a assignment, ok bool, notes []string, e *Error) {
	line = strings.TrimSuffix(line, "\r") // files edited on Windows
	s := strings.TrimLeft(line, " \t")
	if s == "" || s[0] == '#' {
		return a, false, nil, nil
	}
	if rest, found := strings.CutPrefix(s, "export"); found && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		s = strings.TrimLeft(rest, " \t")
	}
	k := strings.IndexByte(s, '=')
	if k <= 0 || !validName(s[:k]) {
		return a, false, nil, &Error{Value: strings.TrimSpace(line),
			Msg: "not a KEY=VALUE assignment: write KEY=VALUE with no blanks around =, quote values that contain blanks, or start a comment with #"}
	}
	a.key = s[:k]
	raw := s[k+1:]
	value, end, err := shellword.Scan(raw, 0, true, &notes)
	if err != nil {
		return a, false, nil, &Error{Key: a.key, Value: raw, Msg: err.Error()}
	}
	if rest := strings.TrimLeft(raw[end:], " \t"); rest != "" && rest[0] != '#' {
		return a, false, nil, &Error{Key: a.key, Value: raw,
			Msg: "text after the value: quote a value that contains blanks, and start a comment with #"}
	}
	a.value = value
	return a, true, notes, nil
}

// render writes assignments as settings lines that parse back to the same assignments.
func render(as []assignment) []byte {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.key)
		b.WriteByte('=')
		b.WriteString(shellword.QuoteValue(a.value))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Split splits a command line from the settings (YUM_PARAMETER, PRE_HOOK, POST_HOOK,
// PRODUCT_VERSION_CMD) into words the way sh would, removing quotes, without expanding
// anything or running a shell; see shellword.Split, which it is.
func Split(s string) ([]string, error) { return shellword.Split(s) }
