package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/hotchain/hotchain/hotfix"
)

// The policy's files in a repository directory, beside repodata/.
const (
	FileName = "rollout.json"
	SigName  = FileName + ".asc"
)

// Schema names the format of the policy; a reader refuses any other.
const Schema = "hotchain-rollout/1"

// MaxSize bounds a policy that is read: an entry is about 150 bytes, so a policy of some
// thousand hotfixes stays far below it.
const MaxSize = 1 << 20

// MaxReason bounds a withdraw reason: it goes into mail subjects and status lines.
const MaxReason = 500

// Policy is the rollout policy of one repository (one base version).
type Policy struct {
	Schema string `json:"schema"`
	// Revision grows by one with every policy the vendor writes; hosts refuse one older
	// than the newest they have seen.
	Revision int64 `json:"revision"`
	// Issued is when this revision was written, Expires when hosts stop trusting it.
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	// Hotfixes holds the entries by hotfix version ("6.14.2.3").
	Hotfixes map[string]*Entry `json:"hotfixes"`
}

// Entry is the policy of one hotfix version.
type Entry struct {
	// Share is the percentage (0-100) of hosts that may install it.
	Share int `json:"share"`
	// Halted: no host starts installing it (hosts that have it keep it).
	Halted bool `json:"halted"`
	// Withdrawn is the reason it was withdrawn; empty when it is not. A withdrawn hotfix
	// is never installed, and hosts that have it say so.
	Withdrawn string `json:"withdrawn,omitempty"`
	// Published is when the vendor first published it (its first policy entry).
	Published time.Time `json:"published"`
}

// Entry returns the entry of hotfix v, nil when the policy does not name it (a hotfix the
// policy does not name goes to every host).
func (p *Policy) Entry(v hotfix.Version) *Entry {
	if p == nil {
		return nil
	}
	return p.Hotfixes[v.String()]
}

// Versions are the versions the policy names, in chain order.
func (p *Policy) Versions() []hotfix.Version {
	var vs []hotfix.Version
	for s := range p.Hotfixes {
		if v, err := hotfix.ParseHotfixVersion(s); err == nil {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, hotfix.Version.Compare)
	return vs
}

// Marshal is the policy as rollout.json holds it: indented JSON, versions in order (Go
// sorts map keys; versions of one base compare as strings only up to .9, but the order of
// keys does not matter to readers), a final newline.
func (p *Policy) Marshal() ([]byte, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// FieldError is a policy field with a bad value: Field is its JSON path, as
// `hotfixes["6.14.2.3"].share`.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Parse reads a policy: strict JSON (no unknown fields, no trailing data) of at most
// MaxSize bytes, every field checked (Check). name is the file or URL, for messages.
func Parse(data []byte, name string) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("rollout policy %s: %d bytes, more than the %d a policy may have", name, len(data), MaxSize)
	}
	// Share must be present: a missing share would read as 0, which stops the rollout.
	var raw struct {
		Hotfixes map[string]map[string]json.RawMessage `json:"hotfixes"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("rollout policy %s: %s", name, jsonProblem(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("rollout policy %s: data after the JSON object", name)
	}
	if err := json.Unmarshal(data, &raw); err == nil {
		for v, fields := range raw.Hotfixes {
			if _, ok := fields["share"]; !ok && fields != nil {
				return nil, fmt.Errorf("rollout policy %s: %w", name, &FieldError{fmt.Sprintf("hotfixes[%q].share", v), "missing: give the percentage of hosts, 0 to 100"})
			}
		}
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("rollout policy %s: %w", name, err)
	}
	return &p, nil
}

// jsonProblem says where a JSON error lies: line and column for a syntax error, the field
// for a value of the wrong type.
func jsonProblem(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(data, se.Offset)
		return fmt.Sprintf("line %d, column %d: not JSON: %v", line, col, se)
	case errors.As(err, &te):
		line, col := position(data, te.Offset)
		return fmt.Sprintf("line %d, column %d: %s: want %s, got JSON %s", line, col, te.Field, te.Type, te.Value)
	}
	return err.Error()
}

func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// Check checks every field; the error is a *FieldError (several are joined).
func (p *Policy) Check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, args...)})
	}
	if p.Schema != Schema {
		bad("schema", "%q is not %q: this hotchain reads only that format (a newer hotchain may have written it)", p.Schema, Schema)
	}
	if p.Revision < 1 {
		bad("revision", "%d: want a whole number from 1 up", p.Revision)
	}
	switch {
	case p.Issued.IsZero():
		bad("issued", "missing: want the time the policy was written (RFC 3339)")
	case p.Expires.IsZero():
		bad("expires", "missing: want the time hosts stop trusting the policy (RFC 3339)")
	case !p.Expires.After(p.Issued):
		bad("expires", "%s is not after issued (%s)", p.Expires.Format(time.RFC3339), p.Issued.Format(time.RFC3339))
	}
	for _, s := range sortedKeys(p.Hotfixes) {
		e := p.Hotfixes[s]
		f := fmt.Sprintf("hotfixes[%q]", s)
		if v, err := hotfix.ParseHotfixVersion(s); err != nil || v.String() != s {
			bad(f, "not a hotfix version (like 6.14.2.3)")
			continue
		}
		if e == nil {
			bad(f, "null: want an object with share and published")
			continue
		}
		if e.Share < 0 || e.Share > 100 {
			bad(f+".share", "%d is not a percentage from 0 to 100", e.Share)
		}
		if e.Published.IsZero() {
			bad(f+".published", "missing: want the time the hotfix was first published (RFC 3339)")
		}
		if err := CheckReason(e.Withdrawn); err != nil {
			bad(f+".withdrawn", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// CheckReason checks a withdraw reason: one line of printable text, at most MaxReason
// bytes (it goes into mail subjects).
func CheckReason(s string) error {
	switch {
	case len(s) > MaxReason:
		return fmt.Errorf("the reason has %d bytes, more than %d: say it in one line", len(s), MaxReason)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("the reason %q holds a control character: give one line of text", s)
	case s != strings.TrimSpace(s):
		return fmt.Errorf("the reason %q starts or ends with a blank", s)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
