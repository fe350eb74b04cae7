package sysconfig

import (
	"sort"
	"strings"

	"github.com/hotchain/hotchain/sysconfig/shellword"
)

// header opens the settings file that the base RPM installs; "%p" is the product.
const header = `
Settings of the %p hotfixes on this host, read by every hotchain
command that runs here: the nightly run (/etc/cron.daily/%p-hotfix),
the service switch that product patches use, and the installs that
hotfix packages start.

Shell-style KEY=VALUE lines: comments start with #, values may be
quoted with '...' or "..." (in "..." the escapes \" \\ \$ and \` + "`" + ` work),
and a line may start with "export". Nothing is run, and nothing is
expanded but $PRODUCT and $PRODUCT_ROOT (or ${PRODUCT} and
${PRODUCT_ROOT}), and those only in paths and CHANGE_TREES.
An environment variable with the name of a setting overrides the line
here. Unknown keys are reported and ignored; a bad value stops every
command with an error that names its line.

A line that starts with #KEY= shows the default of KEY.
`

// Template returns the documented settings file that the base RPM installs for
// product: every key, commented with its meaning and default (in the style of the
// original sysconfig file), PRODUCT=product, and overrides (KEY -> value) written as
// active assignments. In an override, $PRODUCT and $PRODUCT_ROOT stay references (they
// expand in paths and CHANGE_TREES); everything else is written so that it reads back
// literally. Values are single lines. An override for PRODUCT is ignored (product
// wins); overrides for keys that hotchain does not know are written at the end, where
// Load will warn about them (those that are not shell names are left out).
func Template(product string, overrides map[string]string) []byte {
	var b strings.Builder
	comment(&b, header, product)
	for _, s := range settings {
		b.WriteByte('\n')
		comment(&b, s.doc, product)
		v, set := overrides[s.name]
		switch {
		case s.name == "PRODUCT":
			b.WriteString("PRODUCT=" + shellword.QuoteValue(shellword.EscapeDollars(product)) + "\n")
		case set:
			b.WriteString(s.name + "=" + shellword.QuoteValue(shellword.MarkRefs(v)) + "\n")
		default:
			b.WriteString("#" + s.name + "=" + shellword.QuoteValue(defaultOf(s.name, product)) + "\n")
		}
	}
	var unknown []string
	for k := range overrides {
		if settingByName[k] == nil && validName(k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		b.WriteByte('\n')
		comment(&b, "Keys that this version of hotchain does not know (ignored):", product)
		for _, k := range unknown {
			b.WriteString(k + "=" + shellword.QuoteValue(shellword.MarkRefs(overrides[k])) + "\n")
		}
	}
	return []byte(b.String())
}

// comment writes text as comment lines, "%p" replaced by product.
func comment(b *strings.Builder, text, product string) {
	text = strings.ReplaceAll(strings.TrimSpace(text), "%p", product)
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			b.WriteString("#\n")
			continue
		}
		b.WriteString("# " + line + "\n")
	}
}

// validName reports whether k can be the key of a settings line.
func validName(k string) bool {
	if k == "" || '0' <= k[0] && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !shellword.NameByte(k[i]) {
			return false
		}
	}
	return true
}
