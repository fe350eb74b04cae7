package rpmfile

import (
	"fmt"
	"strconv"
)

// Control characters. XML 1.0 cannot carry the bytes below 0x20 other than tab, newline
// and carriage return. createrepo_c refuses a package that has one in any field it writes
// ("Forbidden control chars found") and leaves it out of the repository with a warning;
// stripping them instead would publish a package under a different meaning (a requires
// "bad\x01name" would become "badname", another package's name). hotchain refuses the
// whole run instead of leaving the package out: a repository that silently lacks one link
// of a hotfix chain breaks every host's update, and a failed run changes nothing.

// controlCharError is a package with a control character in a field of its metadata.
type controlCharError struct {
	field string // what holds it: "requires", "changelog text", "summary", ...
	value string
	b     byte
}

func (e *controlCharError) Error() string {
	return fmt.Sprintf("control character %#02x in %s %s (XML cannot carry it; createrepo_c leaves such a package out): rebuild the package without it, or move it out of the repository directory",
		e.b, e.field, strconv.Quote(e.value))
}

// forbiddenControl returns the first byte of s that createrepo_c's cr_hascontrollchars
// rejects: below 0x20 except tab, newline and carriage return.
func forbiddenControl(s string) (byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return c, true
		}
	}
	return 0, false
}

// checkControlChars checks every string that the metadata of p holds, the fields that
// createrepo_c's cr_Package_contains_forbidden_control_chars checks, in its order.
func (p *Package) checkControlChars() error {
	fields := []struct{ name, value string }{
		{"name", p.Name}, {"arch", p.Arch}, {"version", p.Version}, {"epoch", p.Epoch},
		{"release", p.Release}, {"summary", p.Summary}, {"description", p.Description},
		{"url", p.URL}, {"license", p.License}, {"vendor", p.Vendor}, {"group", p.Group},
		{"buildhost", p.BuildHost}, {"sourcerpm", p.SourceRPM}, {"packager", p.Packager},
		{"location", p.Location},
	}
	for _, f := range fields {
		if b, bad := forbiddenControl(f.value); bad {
			return &controlCharError{f.name, f.value, b}
		}
	}
	for _, k := range DepOrder {
		for _, d := range p.Deps[k] {
			for _, v := range []string{d.Name, d.Epoch, d.Version, d.Release} {
				if b, bad := forbiddenControl(v); bad {
					return &controlCharError{k.String(), d.Name, b}
				}
			}
		}
	}
	for _, f := range p.Files {
		if b, bad := forbiddenControl(f.Path); bad {
			return &controlCharError{"file", f.Path, b}
		}
	}
	for _, c := range p.Changelogs {
		if b, bad := forbiddenControl(c.Author); bad {
			return &controlCharError{"changelog author", c.Author, b}
		}
		if b, bad := forbiddenControl(c.Text); bad {
			return &controlCharError{"changelog text", c.Text, b}
		}
	}
	return nil
}
