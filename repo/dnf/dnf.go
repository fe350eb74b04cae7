// Package dnf is the host side's client of the package manager.
package dnf

// The host side's client of the package manager: the agent asks dnf (or yum on RHEL 7) what
// hotfixes the repository offers, downloads them and installs them, and asks rpm what is
// installed. Everything runs with exec, never through a shell: YUM_PARAMETER arrives already
// split into words.
//
// Command lines (R = the -root directory; omitted for the real root):
//
//	available: dnf -y --installroot R <YUM_PARAMETER> --setopt=skip_if_unavailable=False \
//	               --refresh -q repoquery --available --installed \
//	               --qf '%{name}\t%{arch}\t%{version}-%{release}\t%{repoid}\t%{buildtime}' 'shop-hotfix-*'
//	           yum -y --installroot R <YUM_PARAMETER> --setopt=skip_if_unavailable=False \
//	               --setopt=metadata_expire=0 list available 'shop-hotfix-*'
//	           (with yum, rpm -qa below runs at the same time)
//	download:  dnf -y --installroot R <YUM_PARAMETER> --setopt=skip_if_unavailable=False \
//	               install --downloadonly shop-hotfix-6_14_2_3
//	install:   dnf -y --installroot R <YUM_PARAMETER> --setopt=skip_if_unavailable=False \
//	               install shop-hotfix-6_14_2_3
//	installed: rpm --root R -qa --qf '%{NAME}\t%{ARCH}\t%{VERSION}-%{RELEASE}\n' 'shop-hotfix-*'
//
// Why these options:
//   - skip_if_unavailable=False: an unreachable or unsigned repository is an error, never
//     "nothing to do" (Debian's and Fedora's dnf.conf default to True).
//   - --refresh (yum: metadata_expire=0) on the check only: cached metadata may be hours old
//     (metadata_expire) and would hide a hotfix published tonight and a repository that went
//     down. Download and install then use the metadata the check just fetched, and an install
//     after -download takes the packages from dnf's cache without fetching them again.
//   - repoquery --available --installed lists what the repositories offer and, with repoid
//     @System, what the rpm database holds, from one load of both: Available takes the
//     second from the first. A second process (rpm -qa, competing with dnf for the CPU)
//     made the check, the agent's most frequent call, about 5% slower. No --latest-limit:
//     it would hide an installed build behind a newer one of the same name. New hotfixes
//     have new names, so check-update would not see them.
//   - %{buildtime} in the same repoquery, not in a call of its own: the agent's waiting
//     period (MIN_AGE_DAYS) counts from it. It is in the package header, which the vendor's
//     signature covers (and repomd.xml's); dnf 4 prints it as UTC "YYYY-MM-DD HH:MM".
//     yum's list has no build time: MIN_AGE_DAYS then holds every hotfix back.
//   - yum 3 has no repoquery verb; `list available` prints "name.arch version repo" columns,
//     wrapped when a name is long, so its output is read as a stream of words.
//
// An installroot that is not a whole system (the sandboxes of tests and demos on Debian 12,
// dnf 4.14) needs, besides --installroot:
//   - --releasever=N in YUM_PARAMETER: without a system-release package in R dnf prints
//     "Unable to detect release version" and $releasever in a .repo file stays empty;
//   - nothing for repositories and cache: dnf reads R/etc/yum.repos.d (falling back to the
//     host's directory only when R has none), keeps its cache in R/var/cache/dnf and its
//     history in R/var/lib/dnf; it reads R/etc/dnf/dnf.conf, else the host's;
//   - gpgkey= URLs of a .repo file are read on the host, not in R (dnf documents this), so a
//     sandbox's signed repository needs a key path the host can read;
//   - Debian's rpm keeps its database in ~/.rpmdb (%_dbpath is $HOME-relative), inside R with
//     --root/--installroot: dnf and rpm must run with the same HOME, which they do here as
//     both get Env;
//   - a hotfix RPM's scriptlets run chrooted into R: R needs /bin/sh (busybox-static) and the
//     static hotchain binary the base RPM installs.
//
//	remove:    dnf -y --installroot R <YUM_PARAMETER> --setopt=skip_if_unavailable=False \
//	               --disablerepo=* --setopt=clean_requirements_on_remove=False remove shop-hotfix-6_14_2_4
//
// The agent removes only hotfixes that it did not apply (the ones after a hotfix whose apply
// or health check failed), with <PRODUCT>_DO_PATCH=0 so that their %preun does not roll back
// what was never applied; clean_requirements_on_remove=False keeps the base RPM.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/repoconf"
)

// PackageManager runs dnf or yum, and rpm, for one host.
type PackageManager struct {
	Cmd    string   // "dnf" or "yum" (a name looked up in PATH, or a path)
	Root   string   // the -root directory, passed as --installroot (rpm: --root); "" or "/" = the real root
	Params []string // YUM_PARAMETER words, passed to every dnf/yum call
	Env    []string // environment of every command; nil = this process's
	// Stdout and Stderr receive what dnf prints while downloading and installing, and dnf's
	// and rpm's error output of every call; nil discards it.
	Stdout, Stderr io.Writer
	// RPM is the rpm command; "" means "rpm".
	RPM string

	only *LocalRepo // OnlyRepo: the one repository every call sees (local.go)
}

// Package is one package as the repository or the rpm database lists it.
type Package struct {
	Name    string         // shop-hotfix-6_14_2_3
	Arch    string         // noarch
	Version string         // version-release, e.g. 1-0
	Repo    string         // repository id (empty for an installed package)
	Hotfix  hotfix.Version // the hotfix the name stands for
	// BuildTime is the package's signed build time, as the repository's metadata gives it
	// (Available with dnf only; to the minute with dnf 4); zero when unknown.
	BuildTime time.Time
}

// lookPath finds commands for Detect; tests replace it.
var lookPath = exec.LookPath

// Detect returns the package manager that PACKAGE_MANAGER (auto, dnf or yum) names for a
// host whose root is root: auto takes dnf when it is on PATH (Fedora, RHEL 8 and later, and
// Debian, which has no yum), else yum (RHEL 7). Nothing is run.
func Detect(root, setting string) (*PackageManager, error) {
	switch setting {
	case "dnf", "yum":
		if _, err := lookPath(setting); err != nil {
			return nil, fmt.Errorf("PACKAGE_MANAGER=%s, but %s is not installed (%v): install it or set PACKAGE_MANAGER=auto", setting, setting, err)
		}
		return &PackageManager{Cmd: setting, Root: root}, nil
	case "", "auto":
		for _, c := range []string{"dnf", "yum"} {
			if _, err := lookPath(c); err == nil {
				return &PackageManager{Cmd: c, Root: root}, nil
			}
		}
		return nil, errors.New("neither dnf nor yum is installed (PACKAGE_MANAGER=auto): hotfixes are installed with one of them")
	}
	return nil, fmt.Errorf("PACKAGE_MANAGER=%q: want auto, dnf or yum", setting)
}

// installRoot is Root as an absolute path, "" for the real root.
func (pm *PackageManager) installRoot() (string, error) {
	if pm.Root == "" || pm.Root == "/" {
		return "", nil
	}
	return filepath.Abs(pm.Root)
}

func (pm *PackageManager) yum() bool { return filepath.Base(pm.Cmd) == "yum" }

// args builds a dnf/yum command line: the options every call gets, then the verb's words.
func (pm *PackageManager) args(verb ...string) ([]string, error) {
	root, err := pm.installRoot()
	if err != nil {
		return nil, err
	}
	a := []string{"-y"}
	if root != "" {
		a = append(a, "--installroot", root)
		if pm.only == nil {
			a = append(a, rootedKeys(root)...)
		}
	}
	if pm.only != nil {
		a = append(a, pm.only.args(pm.Params)...)
	} else {
		a = append(a, pm.Params...)
	}
	a = append(a, "--setopt=skip_if_unavailable=False")
	return append(a, verb...), nil
}

// Available lists the newest build of every hotfix of product that the enabled
// repositories offer and that is not installed, in chain order. The repository metadata is
// fetched again first; a repository that cannot be reached is an error.
func (pm *PackageManager) Available(ctx context.Context, product string) ([]Package, error) {
	pattern := product + "-hotfix-*"
	if pm.yum() {
		return pm.availableYum(ctx, product, pattern)
	}
	args, err := pm.args("--refresh", "-q", "repoquery", "--available", "--installed",
		"--qf", `%{name}\t%{arch}\t%{version}-%{release}\t%{repoid}\t%{buildtime}`, pattern)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := pm.run(ctx, &out, pm.cmd(), args...); err != nil {
		return nil, err
	}
	return pendingOf(product, out.Bytes()), nil
}

// pendingOf reads the output of `repoquery --available --installed`: what the repositories
// offer less the names that the rpm database (repoid @System) holds.
func pendingOf(product string, out []byte) []Package {
	var offered, installed []Package
	for _, p := range parseLines(product, out, true) {
		if p.Repo == "@System" {
			installed = append(installed, p)
		} else {
			offered = append(offered, p)
		}
	}
	return notInstalled(sortPackages(offered), installed)
}

// availableYum is Available for yum 3, which has no repoquery verb: `list available`, and
// rpm -qa at the same time (both only read the rpm database).
func (pm *PackageManager) availableYum(ctx context.Context, product, pattern string) ([]Package, error) {
	args, err := pm.args("--setopt=metadata_expire=0", "list", "available", pattern)
	if err != nil {
		return nil, err
	}
	both := *pm
	if pm.Stderr != nil {
		both.Stderr = &lockedWriter{w: pm.Stderr}
	}
	type result struct {
		pkgs []Package
		err  error
	}
	rpmDone := make(chan result, 1)
	go func() {
		pkgs, err := both.Installed(ctx, product)
		rpmDone <- result{pkgs, err}
	}()
	var out bytes.Buffer
	yumErr := both.run(ctx, &out, pm.cmd(), args...)
	inst := <-rpmDone
	if yumErr != nil {
		return nil, yumErr
	}
	if inst.err != nil {
		return nil, inst.err
	}
	return notInstalled(parseYumList(product, out.Bytes()), inst.pkgs), nil
}

// notInstalled is offered without the names in installed: a rebuild of an installed hotfix
// is not pending.
func notInstalled(offered, installed []Package) []Package {
	have := map[string]bool{}
	for _, p := range installed {
		have[p.Name] = true
	}
	var pending []Package
	for _, p := range offered {
		if !have[p.Name] {
			pending = append(pending, p)
		}
	}
	return pending
}

// Download fetches names and what they need into dnf's (or yum's) package cache, installing
// nothing.
func (pm *PackageManager) Download(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	args, err := pm.args(append([]string{"install", "--downloadonly"}, names...)...)
	if err != nil {
		return err
	}
	return pm.run(ctx, pm.Stdout, pm.cmd(), args...)
}

// Install installs names and what they need in one transaction. A zero exit does not mean
// every scriptlet worked (dnf ignores a failed %post): compare the rpm database and the
// ledger afterwards.
func (pm *PackageManager) Install(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	args, err := pm.args(append([]string{"install"}, names...)...)
	if err != nil {
		return err
	}
	return pm.run(ctx, pm.Stdout, pm.cmd(), args...)
}

// Remove erases names from the rpm database, and the packages that need them (later
// hotfixes of the chain), taking nothing else (clean_requirements_on_remove=False) and
// loading no repository. The hotfixes' %preun rolls each back unless Env sets
// <PRODUCT>_DO_PATCH=0, which the agent does for hotfixes that are not applied.
func (pm *PackageManager) Remove(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	args, err := pm.args(append([]string{"--disablerepo=*", "--setopt=clean_requirements_on_remove=False", "remove"}, names...)...)
	if err != nil {
		return err
	}
	return pm.run(ctx, pm.Stdout, pm.cmd(), args...)
}

// Installed lists the hotfixes of product in the rpm database, in chain order.
func (pm *PackageManager) Installed(ctx context.Context, product string) ([]Package, error) {
	root, err := pm.installRoot()
	if err != nil {
		return nil, err
	}
	var args []string
	if root != "" {
		args = append(args, "--root", root)
	}
	args = append(args, "-qa", "--qf", `%{NAME}\t%{ARCH}\t%{VERSION}-%{RELEASE}\n`, product+"-hotfix-*")
	var out bytes.Buffer
	rpm := pm.RPM
	if rpm == "" {
		rpm = "rpm"
	}
	if err := pm.run(ctx, &out, rpm, args...); err != nil {
		return nil, err
	}
	return parseTabbed(product, out.Bytes(), false), nil
}

func (pm *PackageManager) cmd() string {
	if pm.Cmd == "" {
		return "dnf"
	}
	return pm.Cmd
}

// run runs one command; its error output goes to Stderr and, on failure, its last lines into
// the error.
func (pm *PackageManager) run(ctx context.Context, stdout io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = pm.Env
	if stdout == nil {
		stdout = io.Discard
	}
	stderr := pm.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	if sameWriter(stdout, stderr) && stdout != io.Discard {
		// One writer for both (a cron run's report): exec copies each pipe in a goroutine
		// of its own, so the two must not write into it at the same time.
		lw := &lockedWriter{w: stdout}
		stdout, stderr = lw, lw
	}
	tail := &tailWriter{max: 2048}
	cmd.Stdout = stdout
	cmd.Stderr = io.MultiWriter(stderr, tail)
	if err := cmd.Run(); err != nil {
		return &CommandError{Args: append([]string{name}, args...), Err: err, Output: tail.lastLines(3)}
	}
	return nil
}

// CommandError is a dnf, yum or rpm call that failed.
type CommandError struct {
	Args   []string // the whole command line
	Err    error    // from exec: usually an *exec.ExitError
	Output string   // the last lines it wrote to standard error
}

func (e *CommandError) Error() string {
	verb := filepath.Base(e.Args[0])
	for _, a := range e.Args[1:] {
		if !strings.HasPrefix(a, "-") && a != "" && verb != "rpm" && isVerb(a) {
			verb += " " + a
			break
		}
	}
	msg := fmt.Sprintf("%s: %v", verb, e.Err)
	if e.Output != "" {
		msg += ": " + strings.ReplaceAll(e.Output, "\n", "; ")
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// Hint gives the command line to run by hand.
func (e *CommandError) Hint() string {
	q := make([]string, len(e.Args))
	for i, a := range e.Args {
		q[i] = shellQuote(a)
	}
	return "run it by hand to see its whole output: " + strings.Join(q, " ")
}

func isVerb(a string) bool {
	switch a {
	case "install", "repoquery", "list", "remove", "erase":
		return true
	}
	return false
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailWriter) lastLines(n int) string {
	var lines []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// parseTabbed reads "name\tarch\tversion-release[\trepo[\tbuildtime]]" lines (repoquery --qf, rpm --qf),
// keeps the hotfixes of product and sorts them in chain order. Other lines (dnf's notes
// when -q does not silence them) are skipped.
func parseTabbed(product string, out []byte, withRepo bool) []Package {
	return sortPackages(parseLines(product, out, withRepo))
}

// parseLines is parseTabbed without the sorting: every hotfix line, in the order given.
func parseLines(product string, out []byte, withRepo bool) []Package {
	want := 3
	if withRepo {
		want = 4
	}
	var pkgs []Package
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		withTime := withRepo && len(f) == want+1 // Available adds %{buildtime}
		if len(f) != want && !withTime {
			continue
		}
		p := Package{Name: f[0], Arch: f[1], Version: f[2]}
		if withRepo {
			p.Repo = f[3]
			if withTime {
				p.BuildTime = parseBuildTime(f[want])
			}
		}
		if v, ok := hotfix.ParsePackageName(product, p.Name); ok {
			p.Hotfix = v
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// parseBuildTime reads %{buildtime} as dnf 4 prints it ("2024-05-03 12:34", UTC) or as
// seconds since 1970 (rpm, dnf 5); anything else, and 0, is unknown: the zero time.
func parseBuildTime(s string) time.Time {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return time.Time{}
		}
		return time.Unix(n, 0)
	}
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseYumList reads `yum list available`: after the headers, "name.arch version repo" in
// three columns, where a long name.arch takes a line of its own and the rest follows on the
// next. Read as words, every hotfix is its name.arch followed by two words.
func parseYumList(product string, out []byte) []Package {
	words := strings.Fields(string(out))
	var pkgs []Package
	for i := 0; i+2 < len(words); i++ {
		dot := strings.LastIndexByte(words[i], '.')
		if dot <= 0 {
			continue
		}
		name, arch := words[i][:dot], words[i][dot+1:]
		v, ok := hotfix.ParsePackageName(product, name)
		if !ok {
			continue
		}
		ver := words[i+1]
		if _, evr, found := strings.Cut(ver, ":"); found { // yum shows an epoch as E:V-R
			ver = evr
		}
		pkgs = append(pkgs, Package{Name: name, Arch: arch, Version: ver, Repo: strings.TrimPrefix(words[i+2], "@"), Hotfix: v})
		i += 2
	}
	return sortPackages(pkgs)
}

// sortPackages orders hotfixes by version, and builds of one hotfix by release, keeping only
// the last build of each name.
func sortPackages(pkgs []Package) []Package {
	sort.SliceStable(pkgs, func(i, j int) bool {
		if c := pkgs[i].Hotfix.Compare(pkgs[j].Hotfix); c != 0 {
			return c < 0
		}
		return releaseOf(pkgs[i].Version) < releaseOf(pkgs[j].Version)
	})
	var out []Package
	for _, p := range pkgs {
		if n := len(out); n > 0 && out[n-1].Name == p.Name {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

func releaseOf(vr string) int {
	_, r, _ := strings.Cut(vr, "-")
	n, _ := strconv.Atoi(r)
	return n
}

// rootedKeys points the file:// gpgkey of every repository in root's yum.repos.d into root:
// dnf reads a gpgkey URL on the machine it runs on, not in the installroot, so a sandbox's
// /etc/pki/rpm-gpg/... would be looked for on the host (`-root` takes every path inside the
// root). YUM_PARAMETER, which comes after, can still override it.
func rootedKeys(root string) []string {
	files, _ := filepath.Glob(filepath.Join(root, "etc/yum.repos.d/*.repo"))
	var opts []string
	for _, name := range files {
		data, err := repoconf.ReadFile(name)
		if err != nil {
			continue // dnf reports a file it cannot read; this only redirects keys
		}
		f := repoconf.Parse(data)
		for _, e := range f.Lookup("gpgkey") {
			var urls []string
			for _, u := range repoconf.Words(f.Value(e)) {
				if p, ok := strings.CutPrefix(u, "file://"); ok && strings.HasPrefix(p, "/") {
					u = "file://" + filepath.Join(root, p)
				}
				urls = append(urls, u)
			}
			if len(urls) > 0 {
				opts = append(opts, "--setopt="+e.Section+".gpgkey="+strings.Join(urls, ","))
			}
		}
	}
	return opts
}

// lockedWriter lets two commands share one error output.
// sameWriter reports whether a and b are the same writer (false for writers that cannot be
// compared).
func sameWriter(a, b io.Writer) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
