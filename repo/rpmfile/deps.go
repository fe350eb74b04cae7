package rpmfile

import (
	"strconv"
	"strings"

	"github.com/cavaliergopher/rpm"
)

// Dependency sense bits (rpm's rpmds.h).
const (
	senseLess       = 1 << 1
	senseGreater    = 1 << 2
	senseEqual      = 1 << 3
	sensePrereq     = 1 << 6
	senseScriptPre  = 1 << 9
	senseScriptPost = 1 << 10
)

// depKinds are the relation tags in the order createrepo_c reads them: provides first,
// because requires that the package provides itself are left out.
var depKinds = []struct {
	kind                     DepKind
	nameTag, flagTag, verTag int
}{
	{Provides, tagProvideName, tagProvideFlags, tagProvideVer},
	{Conflicts, tagConflictName, tagConflictFlags, tagConflictVer},
	{Obsoletes, tagObsoleteName, tagObsoleteFlags, tagObsoleteVer},
	{Requires, tagRequireName, tagRequireFlags, tagRequireVer},
	{Suggests, tagSuggestName, tagSuggestFlags, tagSuggestVer},
	{Enhances, tagEnhanceName, tagEnhanceFlags, tagEnhanceVer},
	{Recommends, tagRecommendName, tagRecommendFlag, tagRecommendVer},
	{Supplements, tagSupplemName, tagSupplemFlags, tagSupplemVer},
}

// flagString is the comparison as primary.xml writes it; only the comparison bits count.
func flagString(sense int64) string {
	switch sense & 0xf {
	case senseLess:
		return "LT"
	case senseGreater:
		return "GT"
	case senseEqual:
		return "EQ"
	case senseLess | senseEqual:
		return "LE"
	case senseGreater | senseEqual:
		return "GE"
	}
	return ""
}

// parseEVR splits "[epoch:]version[-release]" as createrepo_c does: a missing epoch is
// "0"; ok is false for a non-numeric epoch, a dependency createrepo_c skips.
func parseEVR(s string) (epoch, version, release string, ok bool) {
	if s == "" {
		return "", "", "", true
	}
	rest := s
	epoch = "0"
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if e := s[:i]; e != "" {
			if _, err := strconv.ParseInt(e, 10, 64); err != nil {
				return "", "", "", false
			}
			epoch = e
		}
		rest = s[i+1:]
	}
	version, release, _ = strings.Cut(rest, "-")
	return epoch, version, release, true
}

// readDeps fills the relations, leaving out what createrepo_c leaves out of requires:
// rpmlib() features, the package's own primary files, what the package provides itself
// (same name, comparison and version), and repeats.
func (p *Package) readDeps(h *rpm.Header) {
	ownFiles := make(map[string]bool, len(p.Files))
	for _, f := range p.Files {
		ownFiles[f.Path] = true
	}
	provided := make(map[string]bool)
	type seen struct {
		flags, version string
		pre            bool
	}
	required := make(map[string]seen)
	var libc *Dependency // only the newest libc.so.6 symbol version is kept

	for _, k := range depKinds {
		names := tagStrings(h, k.nameTag)
		flags := tagInts(h, k.flagTag)
		vers := tagStrings(h, k.verTag)
		n := min(len(names), len(flags), len(vers))
		for i := 0; i < n; i++ {
			name, fl, full := names[i], flagString(flags[i]), vers[i]
			nfv := name + fl + full
			pre := false
			if k.kind == Requires {
				if strings.HasPrefix(name, "rpmlib(") {
					continue
				}
				if strings.HasPrefix(name, "/") && ownFiles[name] && IsPrimary(name) {
					continue
				}
				if provided[nfv] {
					continue
				}
				pre = flags[i]&(sensePrereq|senseScriptPre|senseScriptPost) != 0
				if s, ok := required[name]; ok && s.flags == fl && s.version == full && s.pre == pre {
					continue
				}
			}
			e, v, r, ok := parseEVR(full)
			if !ok {
				continue
			}
			d := Dependency{Name: name, Flags: fl, Epoch: e, Version: v, Release: r, Pre: pre}
			if fl == "" {
				// Without a comparison the version means nothing, and primary.xml omits it.
				d.Epoch, d.Version, d.Release = "", "", ""
			}
			switch k.kind {
			case Provides:
				provided[nfv] = true
			case Requires:
				if strings.HasPrefix(name, "libc.so.6") {
					if libc == nil || compareLibc(libc.Name, name) == 2 {
						libc = &d
					}
					continue
				}
				required[name] = seen{fl, full, pre}
			}
			p.Deps[k.kind] = append(p.Deps[k.kind], d)
		}
	}
	if libc != nil {
		p.Deps[Requires] = append(p.Deps[Requires], *libc)
	}
}

// compareLibc orders libc.so.6(GLIBC_2.3.4)(64bit) style names by the symbol version in
// the first parentheses: 0 same, 1 a is newer, 2 b is newer (createrepo_c's convention).
func compareLibc(a, b string) int {
	va, oka := libcVersion(a)
	vb, okb := libcVersion(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return 2
	case !okb:
		return 1
	}
	switch rpm.CompareVersions(va, vb) {
	case 1:
		return 1
	case -1:
		return 2
	}
	return 0
}

func libcVersion(name string) (string, bool) {
	_, in, ok := strings.Cut(name, "(")
	if !ok {
		return "", false
	}
	in, _, ok = strings.Cut(in, ")")
	if !ok {
		return "", false
	}
	i := strings.IndexAny(in, "0123456789")
	if i < 0 {
		return "", false
	}
	return in[i:], true
}
