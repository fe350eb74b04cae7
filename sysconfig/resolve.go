package sysconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotchain/hotchain/sysconfig/shellword"
	"github.com/spf13/viper"
)

// hostname is os.Hostname, replaced in tests so that defaults do not depend on the machine.
var hostname = os.Hostname

// ValidProduct reports whether p is a product name (SPEC section 1): lowercase letters,
// digits and '-', not starting with '-'. Every name a product gives (packages, settings
// file, locks) is made from it.
func ValidProduct(p string) bool {
	for i, c := range []byte(p) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return p != ""
}

// validHost keeps host names usable as file names in the ledger (<host>.txt) and in backup
// directories: letters, digits, '_', '.' and '-', not starting with '.' or '-'.
func validHost(h string) bool {
	for i, c := range []byte(h) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
		if !alnum && !((c == '.' || c == '-') && i > 0) {
			return false
		}
	}
	return h != ""
}

// origin is where the value of a key came from: a line of the file, the environment,
// or (neither) the default.
type origin struct {
	line int
	env  bool
}

// resolver layers defaults < file < environment with viper and checks the result.
type resolver struct {
	file string // the settings file as opened, for messages
	v    *viper.Viper
	from map[string]origin
	// fileVals holds the file's value of each known key (plain text), for warnings.
	fileVals map[string]string
	errs     []error
	warns    []warning
}

// LookupEnv finds name in environ, a list of KEY=VALUE. When a key is there twice the last
// assignment wins: that is what a child process started with environ gets (os/exec keeps
// the last), and the product builds environments by appending overrides. Every lookup in
// an environment list goes through here, so that the rule is one.
func LookupEnv(environ []string, name string) (string, bool) {
	v, found := "", false
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v, found = val, true
		}
	}
	return v, found
}

// notFromEnvironment are the keys an environment variable of the same name does not
// override, because something other than the admin sets that variable for every process:
// bash, and RHEL's /etc/profile, export HOSTNAME (the full name), so a console run would
// write another host's ledger than the cron run; crond passes MAILTO from /etc/crontab
// (MAILTO=root), so the file's MAILTO would never count at night.
var notFromEnvironment = map[string]bool{"HOSTNAME": true, "MAILTO": true}

// layer stacks the assignments of the file and the environment over the defaults for
// the product they name.
func layer(file string, assigns []assignment, warns []warning, environ []string) (*resolver, error) {
	r := &resolver{file: file, v: viper.New(), from: map[string]origin{}, fileVals: map[string]string{}, warns: warns}
	fileVals := map[string]any{}
	for _, a := range assigns {
		if settingByName[a.key] == nil {
			r.warns = append(r.warns, warning{a.line, fmt.Sprintf("%s:%d: unknown key %s (ignored)%s", file, a.line, a.key, suggest(a.key))})
			continue
		}
		fileVals[a.key] = a.value
		r.fileVals[a.key] = shellword.Expand(a.value, nil)
		r.from[a.key] = origin{line: a.line}
	}
	if err := r.v.MergeConfigMap(fileVals); err != nil {
		return nil, fmt.Errorf("settings %s: %w", file, err)
	}
	// viper's own environment layer reads os.Getenv, but Load takes the environment as
	// an argument (tests, -root sandboxes); so it goes into viper's override layer,
	// which viper ranks above the file and the defaults just the same.
	for _, s := range settings {
		val, ok := LookupEnv(environ, s.name)
		if !ok || notFromEnvironment[s.name] {
			continue
		}
		if o, inFile := r.from[s.name]; inFile {
			if old := r.fileVals[s.name]; old != val {
				r.warns = append(r.warns, warning{o.line, fmt.Sprintf("%s:%d: %s: the environment variable %s=%q overrides this line (%q)", file, o.line, s.name, s.name, val, old)})
			}
		}
		r.v.Set(s.name, shellword.MarkRefs(val))
		r.from[s.name] = origin{env: true}
	}
	product := shellword.Expand(r.v.GetString("PRODUCT"), nil)
	for _, s := range settings {
		r.v.SetDefault(s.name, defaultOf(s.name, product))
	}
	return r, nil
}

// suggest names a known key that an unknown one was probably meant to be.
func suggest(key string) string {
	best, bestD := "", 3
	for _, s := range settings {
		if d := distance(strings.ToUpper(key), s.name); d < bestD {
			best, bestD = s.name, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// raw is the winning value of key in internal form.
func (r *resolver) raw(key string) string { return r.v.GetString(key) }

// text is the winning value of key as plain text, references as written: the value of a
// key that does not expand, and the way any value is shown in messages.
func (r *resolver) text(key string) string { return shellword.Expand(r.raw(key), nil) }

func (r *resolver) errorFor(key, value, msg string) *Error {
	o := r.from[key]
	return &Error{File: r.file, Line: o.line, Env: o.env, Default: o.line == 0 && !o.env,
		Key: key, Value: value, Msg: msg}
}

func (r *resolver) bad(key, value, format string, args ...any) {
	r.errs = append(r.errs, r.errorFor(key, value, fmt.Sprintf(format, args...)))
}

// warn records a warning about the value of key, placed where the value came from.
func (r *resolver) warn(key, format string, args ...any) {
	o := r.from[key]
	msg := fmt.Sprintf(format, args...)
	switch {
	case o.env:
		msg = "environment variable " + msg
	case o.line > 0:
		msg = fmt.Sprintf("%s:%d: %s", r.file, o.line, msg)
	default:
		msg = fmt.Sprintf("%s: %s", r.file, msg)
	}
	r.warns = append(r.warns, warning{o.line, msg})
}

// sortedWarnings gives the warnings in file order, those not tied to a line last.
func (r *resolver) sortedWarnings() []string {
	sort.SliceStable(r.warns, func(i, j int) bool {
		li, lj := r.warns[i].line, r.warns[j].line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
	var out []string
	for _, w := range r.warns {
		out = append(out, w.msg)
	}
	return out
}

// path checks an absolute path key, expanding references with vals. Empty is an error
// unless allowEmpty.
func (r *resolver) path(key string, vals map[string]string, allowEmpty bool) string {
	return r.pathOf(key, r.raw(key), vals, allowEmpty)
}

// pathOf checks raw (internal form) as the value of the path key.
func (r *resolver) pathOf(key, raw string, vals map[string]string, allowEmpty bool) string {
	p, shown := shellword.Expand(raw, vals), shellword.Expand(raw, nil)
	switch {
	case p == "" && allowEmpty:
		return ""
	case p == "":
		r.bad(key, shown, "empty: give an absolute path, or remove the line to get the default %s",
			shellword.Expand(defaultOf(key, vals["PRODUCT"]), vals))
		return ""
	case !filepath.IsAbs(p):
		also := ""
		if p != shown {
			also = fmt.Sprintf(" (it expands to %q)", p)
		}
		r.bad(key, shown, "not an absolute path%s: paths in the settings start with /, e.g. %s",
			also, shellword.Expand(defaultOf(key, vals["PRODUCT"]), vals))
		return ""
	}
	return filepath.Clean(p)
}

// command checks a command line key: it must split into words. A value that gives no
// words (blank, or only a comment) is no command.
func (r *resolver) command(key string) string {
	v := r.text(key)
	words, err := Split(v)
	if err != nil {
		r.bad(key, v, "cannot be split into words: %v", err)
		return ""
	}
	if len(words) == 0 {
		return ""
	}
	return v
}

// yes reads a yes/no key the way the original shell scripts did: "yes" is yes, anything
// else is no. Anything but yes, no or empty is probably a mistake worth a warning.
func (r *resolver) yes(key string) bool {
	v := r.text(key)
	if v != "yes" && v != "no" && v != "" {
		r.warn(key, "%s=%q is taken as no (only yes means yes)", key, v)
	}
	return v == "yes"
}

// shortHostname is the host name up to the first dot.
func shortHostname() (string, error) {
	h, err := hostname()
	if err != nil {
		return "", err
	}
	h, _, _ = strings.Cut(h, ".")
	if h == "" {
		return "", fmt.Errorf("the system has no host name")
	}
	return h, nil
}

// fields splits s at any of the bytes in seps, dropping empty fields.
func fields(s, seps string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return c < 0x80 && strings.IndexByte(seps, byte(c)) >= 0 })
}
