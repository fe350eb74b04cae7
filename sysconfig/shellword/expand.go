package shellword

import "strings"

// Values travel from the file (and from defaults, the environment and Template
// overrides) to the checks in an internal form that keeps apart what a shell keeps
// apart: "$$" is a literal dollar (it was quoted or escaped), and a single "$" always
// starts one of the four reference spellings below (it was not). Only path keys and
// CHANGE_TREES expand references; every other key reads them as the text they are.

// refs are the only references that are ever expanded, longest spelling first so that
// $PRODUCT_ROOT is not read as $PRODUCT followed by _ROOT.
var refs = []struct{ spelling, name string }{
	{"${PRODUCT_ROOT}", "PRODUCT_ROOT"},
	{"${PRODUCT}", "PRODUCT"},
	{"$PRODUCT_ROOT", "PRODUCT_ROOT"},
	{"$PRODUCT", "PRODUCT"},
}

// refAt reports the reference that starts at s[i], if any, and its length. A bare
// $NAME only counts when the name ends there, as in sh ($PRODUCTS is another variable).
func refAt(s string, i int) (name string, n int) {
	for _, r := range refs {
		if !strings.HasPrefix(s[i:], r.spelling) {
			continue
		}
		end := i + len(r.spelling)
		if r.spelling[1] == '{' || end >= len(s) || !NameByte(s[end]) {
			return r.name, len(r.spelling)
		}
	}
	return "", 0
}

// Expand turns an internal-form value into its final text, replacing references with
// vals[name]; a nil vals keeps them as written (the value of a key that does not expand).
func Expand(s string, vals map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		name, n := refAt(s, i)
		switch {
		case n == 0: // not produced by this package; keep it rather than lose it
			b.WriteByte('$')
			i++
		case vals == nil:
			b.WriteString(s[i : i+n])
			i += n
		default:
			b.WriteString(vals[name])
			i += n
		}
	}
	return b.String()
}

// RefsIn lists the references (as written) in an internal-form value.
func RefsIn(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		if s[i] != '$' {
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			i += 2
			continue
		}
		if _, n := refAt(s, i); n > 0 {
			out = append(out, s[i:i+n])
			i += n
			continue
		}
		i++
	}
	return out
}

// MarkRefs turns plain text (an environment value, a Template override) into internal
// form: references stay references, every other dollar is literal.
func MarkRefs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if _, n := refAt(s, i); n > 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		b.WriteString("$$")
		i++
	}
	return b.String()
}

// EscapeDollars turns plain text into internal form with no references at all.
func EscapeDollars(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// QuoteValue renders an internal-form value as the right-hand side of a settings line
// that parses back to the same internal form: bare when that is safe, else in double
// quotes with references left active and literal dollars escaped. A value with a
// newline cannot be written on one line; the line it gives does not parse.
func QuoteValue(s string) string {
	if allSafe(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '$':
			if i+1 < len(s) && s[i+1] == '$' {
				b.WriteString(`\$`)
				i++
			} else {
				b.WriteByte('$')
			}
		case '"', '\\', '`':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
