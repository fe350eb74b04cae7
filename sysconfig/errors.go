package sysconfig

import (
	"fmt"
	"strings"
)

// Error is a bad line or a bad value in the settings: where it came from (a line of the
// file, an environment variable, or a default), the key, the value, and what is allowed.
// Load may return several, joined with errors.Join; errors.As finds the first.
type Error struct {
	File    string // the settings file as opened (inside the root)
	Line    int    // 1-based line of the file; 0 when the value is not from a line
	Env     bool   // the value came from the environment variable Key
	Default bool   // the value is the default (derived from other settings or the host)
	Key     string // "" when the line has no key
	Value   string // the value as written (quotes removed), or the line when it does not parse
	Msg     string // what is wrong and what is allowed
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Env:
		b.WriteString("environment variable ")
	case e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	default:
		fmt.Fprintf(&b, "%s: ", e.File)
	}
	sep := ": "
	switch {
	case e.Key == "":
		fmt.Fprintf(&b, "%q", e.Value)
	case e.Line == 0 && !e.Env && !e.Default: // a missing key: "FILE: PRODUCT is not set"
		b.WriteString(e.Key)
		sep = " "
	default:
		fmt.Fprintf(&b, "%s=%q", e.Key, e.Value)
	}
	if e.Default {
		b.WriteString(" (default)")
	}
	if e.Env {
		b.WriteString(" (overrides the settings file)")
	}
	b.WriteString(sep)
	b.WriteString(e.Msg)
	return b.String()
}

// Hint says where to fix the value.
func (e *Error) Hint() string {
	switch {
	case e.Env:
		return fmt.Sprintf("fix or unset the environment variable %s", e.Key)
	case e.Line > 0:
		return fmt.Sprintf("fix line %d of %s", e.Line, e.File)
	case e.Key != "":
		return fmt.Sprintf("set %s in %s", e.Key, e.File)
	}
	return fmt.Sprintf("fix %s", e.File)
}

// locateError is Locate's failure; its hint is the way out.
type locateError struct{ msg string }

func (e *locateError) Error() string { return e.msg }

// Hint says how to name the settings file explicitly.
func (e *locateError) Hint() string {
	return "pass -config FILE or set HOTCHAIN_CONFIG to the settings file"
}
