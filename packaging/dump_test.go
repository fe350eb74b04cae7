package packaging

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cavaliergopher/rpm"
)

// dumpRPM is a readable dump of the tags a build sets, for golden files. Signature values
// depend on the key and are left out; which signature tags exist is shown. Files named in
// masked are shown without size and digest (their content belongs to another package), as
// is the payload size, which depends on them.
func dumpRPM(p *rpm.Package, masked ...string) string {
	var b strings.Builder
	h := &p.Header
	str := func(label string, tag int) {
		if t := h.GetTag(tag); t != nil {
			fmt.Fprintf(&b, "%s: %s\n", label, t.String())
		} else {
			fmt.Fprintf(&b, "%s: (none)\n", label)
		}
	}
	num := func(label string, tag int) {
		if t := h.GetTag(tag); t != nil {
			fmt.Fprintf(&b, "%s: %d\n", label, t.Int64())
		} else {
			fmt.Fprintf(&b, "%s: (none)\n", label)
		}
	}
	var sigTags []string
	for id := range p.Signature.Tags {
		sigTags = append(sigTags, fmt.Sprint(id))
	}
	sort.Strings(sigTags)
	fmt.Fprintf(&b, "signature tags: %s\n", strings.Join(sigTags, " "))
	if len(masked) == 0 {
		fmt.Fprintf(&b, "payload size (sig 1007): %d\n", p.Signature.GetTag(1007).Int64())
	}
	str("name", 1000)
	str("version", 1001)
	str("release", 1002)
	num("epoch", 1003)
	str("arch", 1022)
	str("os", 1021)
	str("summary", 1004)
	str("description", 1005)
	num("buildtime", 1006)
	str("buildhost", 1007)
	if len(masked) == 0 {
		num("size", 1009)
	}
	str("license", 1014)
	str("vendor", 1011)
	str("url", 1020)
	str("sourcerpm", 1044)
	str("payload format", 1124)
	str("payload compressor", 1125)
	str("payload flags", 1126)
	deps := func(label string, ds []rpm.Dependency) {
		for _, d := range ds {
			fmt.Fprintf(&b, "%s: %s flags=%#x version=%q\n", label, d.Name(), d.Flags(), versionOf(d))
		}
	}
	deps("requires", p.Requires())
	deps("provides", p.Provides())
	for _, s := range []struct {
		name      string
		body, prg int
	}{{"pre", 1023, 1085}, {"post", 1024, 1086}, {"preun", 1025, 1087}, {"postun", 1026, 1088}} {
		if t := h.GetTag(s.body); t != nil {
			fmt.Fprintf(&b, "%%%s (%s):\n%s", s.name, h.GetTag(s.prg).String(), t.String())
		}
	}
	modes := h.GetTag(1030).Int64Slice()
	for i, f := range p.Files() {
		fmt.Fprintf(&b, "file %s mode=%06o %s:%s mtime=%d flags=%d", f.Name(), uint16(modes[i]), f.Owner(), f.Group(), f.ModTime().Unix(), f.Flags())
		if slices.Contains(masked, f.Name()) {
			b.WriteString(" (content not shown)\n")
			continue
		}
		fmt.Fprintf(&b, " size=%d", f.Size())
		if f.Digest() != "" {
			fmt.Fprintf(&b, " sha256=%s", f.Digest())
		}
		if f.Linkname() != "" {
			fmt.Fprintf(&b, " -> %s", f.Linkname())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// versionOf is a dependency's version as rpm writes it (release included).
func versionOf(d rpm.Dependency) string {
	v := d.Version()
	if d.Release() != "" {
		v += "-" + d.Release()
	}
	if d.Epoch() != 0 {
		v = fmt.Sprintf("%d:%s", d.Epoch(), v)
	}
	return v
}
