package rpmmd

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The little XML that repo's update needs to read in the elements it reuses as they are:
// undoing escapes, and making sure an element is well-formed before it goes into new
// metadata.

// Unescape undoes the escaping of text and attribute values: the five entities and
// numeric character references. CheckElement has made sure there is nothing else.
func Unescape(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	var out []byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			out = append(out, b...)
			break
		}
		out = append(out, b[:i]...)
		b = b[i:]
		j := bytes.IndexByte(b, ';')
		if j < 0 {
			out = append(out, b...)
			break
		}
		ref := string(b[1:j])
		b = b[j+1:]
		switch ref {
		case "amp":
			out = append(out, '&')
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			if r, ok := charRef(ref); ok {
				out = utf8.AppendRune(out, r)
			} else {
				out = append(out, '&')
				out = append(out, ref...)
				out = append(out, ';')
			}
		}
	}
	return string(out)
}

// charRef reads "#13" or "#xD".
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	base, digits := 10, ref[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || !isXMLChar(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

func isXMLChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r < 0xE000, r > utf8.MaxRune:
		return false
	}
	return true
}

// CheckElement makes sure a reused element is well-formed XML of the kind the metadata
// holds: valid UTF-8 without characters XML forbids, tags that nest and close, quoted
// attribute values without '<', and only the five entities and character references. No
// comments, CDATA or processing instructions (neither we nor createrepo_c write them).
func CheckElement(c []byte) error {
	if !utf8.Valid(c) {
		return errors.New("not valid UTF-8")
	}
	var stack [8][]byte
	depth := 0
	for i := 0; i < len(c); {
		// Text up to the next markup.
		j := bytes.IndexAny(c[i:], "<&")
		if err := checkChars(c[i:], j); err != nil {
			return err
		}
		if j < 0 {
			break
		}
		i += j
		if c[i] == '&' {
			n, err := checkRef(c[i:])
			if err != nil {
				return err
			}
			i += n
			continue
		}
		// A tag.
		end := bytes.IndexByte(c[i:], '>')
		if end < 0 {
			return errors.New("unterminated tag")
		}
		tag := c[i+1 : i+end]
		i += end + 1
		if len(tag) > 0 && tag[0] == '/' {
			if depth == 0 || !bytes.Equal(tag[1:], stack[depth-1]) {
				return fmt.Errorf("end tag </%s> does not close the open element", tag[1:])
			}
			depth--
			if depth == 0 && i != len(c)-1 {
				return errors.New("content after the element")
			}
			continue
		}
		selfClosing := len(tag) > 0 && tag[len(tag)-1] == '/'
		if selfClosing {
			tag = tag[:len(tag)-1]
		}
		name, err := checkTag(tag)
		if err != nil {
			return err
		}
		if !selfClosing {
			if depth == len(stack) {
				return errors.New("elements nested too deep")
			}
			stack[depth] = name
			depth++
		}
	}
	if depth != 0 {
		return fmt.Errorf("element <%s> not closed", stack[depth-1])
	}
	return nil
}

// checkChars checks the text t[:n] (n < 0: all of t) for characters XML forbids; UTF-8
// validity was checked for the whole element.
func checkChars(t []byte, n int) error {
	if n >= 0 {
		t = t[:n]
	}
	for _, b := range t {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			return fmt.Errorf("control character %#x", b)
		}
	}
	return nil
}

// checkRef checks the entity or character reference at the start of b and returns its length.
func checkRef(b []byte) (int, error) {
	j := bytes.IndexByte(b, ';')
	if j < 0 || j > 12 {
		return 0, errors.New("'&' that starts no entity")
	}
	switch ref := string(b[1:j]); ref {
	case "amp", "lt", "gt", "quot", "apos":
	default:
		if _, ok := charRef(ref); !ok {
			return 0, fmt.Errorf("unknown entity &%s;", ref)
		}
	}
	return j + 1, nil
}

// checkTag checks "name attr="value" ..." and returns the name.
func checkTag(tag []byte) ([]byte, error) {
	i := bytes.IndexAny(tag, " \t\n")
	if i < 0 {
		i = len(tag)
	}
	name := tag[:i]
	if len(name) == 0 || !isNameStart(name[0]) {
		return nil, fmt.Errorf("bad tag <%.40s>", tag)
	}
	rest := tag[i:]
	for {
		rest = bytes.TrimLeft(rest, " \t\n")
		if len(rest) == 0 {
			return name, nil
		}
		eq := bytes.IndexByte(rest, '=')
		if eq <= 0 || !isNameStart(rest[0]) || len(rest) < eq+2 || rest[eq+1] != '"' && rest[eq+1] != '\'' {
			return nil, fmt.Errorf("bad attribute in <%.40s>", tag)
		}
		q := rest[eq+1]
		val := rest[eq+2:]
		end := bytes.IndexByte(val, q)
		if end < 0 || bytes.IndexByte(val[:end], '<') >= 0 {
			return nil, fmt.Errorf("bad attribute value in <%.40s>", tag)
		}
		v := val[:end]
		for k := 0; k < len(v); {
			a := bytes.IndexByte(v[k:], '&')
			if a < 0 {
				break
			}
			n, err := checkRef(v[k+a:])
			if err != nil {
				return nil, err
			}
			k += a + n
		}
		if err := checkChars(v, -1); err != nil {
			return nil, err
		}
		rest = val[end+1:]
	}
}

func isNameStart(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == ':' || b >= 0x80
}
