package journal

import (
	"encoding/base64"
	"fmt"
	"slices"
	"unicode/utf8"
)

// The journal (JSON) carries every file name exactly: a name that is valid UTF-8 is a JSON
// string, as it always was; any other goes into the field of the same name with _base64
// added ("rel_base64"), and the field itself stays empty, since encoding/json would replace
// each invalid byte with U+FFFD and rollback would look for a backup that does not exist.
// (filelist.txt and Backup-<host>.inexistent escape names as hotfix.EscapeName does.)

// encodeNames is j as Write writes it: every name that is not valid UTF-8 moved to
// its _base64 field. j itself is left as it is.
func encodeNames(j *Journal) *Journal {
	enc := func(s *string, b *string) {
		if !utf8.ValidString(*s) {
			*s, *b = "", base64.StdEncoding.EncodeToString([]byte(*s))
		}
	}
	var w *Journal
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
func decodeNames(j *Journal) error {
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
