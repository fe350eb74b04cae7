package sysconfig

import (
	"errors"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/sysconfig/shellword"
	"github.com/hotchain/hotchain/sysconfig/window"
	"github.com/robfig/cron/v3"
)

// config checks every value and builds the Config. It always returns a complete Config
// (Defaults relies on that); the error joins every bad value, or only the bad PRODUCT
// or PRODUCT_ROOT when one of those is bad, because every other path follows them.
func (r *resolver) config() (*Config, error) {
	c := &Config{}
	c.Product = r.text("PRODUCT")
	switch {
	case c.Product == "" && r.from["PRODUCT"] == origin{}:
		r.errs = append(r.errs, &Error{File: r.file, Key: "PRODUCT",
			Msg: "is not set: add a line PRODUCT=<name> (lowercase letters, digits and -, e.g. PRODUCT=shop)"})
	case !ValidProduct(c.Product):
		r.bad("PRODUCT", c.Product, "not a product name: use lowercase letters, digits and -, starting with a letter or digit (e.g. shop)")
	}
	vals := map[string]string{"PRODUCT": c.Product}
	if slices.ContainsFunc(shellword.RefsIn(r.raw("PRODUCT_ROOT")), func(ref string) bool { return strings.Contains(ref, "PRODUCT_ROOT") }) {
		r.bad("PRODUCT_ROOT", r.text("PRODUCT_ROOT"), "refers to itself: write the path, e.g. /opt/%s", c.Product)
	} else {
		c.ProductRoot = r.path("PRODUCT_ROOT", vals, false)
	}
	early := slices.Clone(r.errs)
	r.rest(c, vals)
	if len(early) > 0 {
		return c, errors.Join(early...)
	}
	return c, errors.Join(inFileOrder(r.errs)...)
}

// inFileOrder sorts errors by line, those not from a line last, so that a reader can
// walk through the file once.
func inFileOrder(errs []error) []error {
	line := func(err error) int {
		if e, ok := err.(*Error); ok && e.Line > 0 {
			return e.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(errs, func(a, b error) int { return line(a) - line(b) })
	return errs
}

// rest checks everything after PRODUCT and PRODUCT_ROOT.
func (r *resolver) rest(c *Config, vals map[string]string) {
	vals["PRODUCT_ROOT"] = c.ProductRoot
	for _, s := range settings {
		if s.expands || r.from[s.name].line == 0 {
			continue
		}
		for _, ref := range shellword.RefsIn(r.raw(s.name)) {
			r.warn(s.name, "%s: %s is taken literally: only $PRODUCT and $PRODUCT_ROOT are expanded, and only in paths and CHANGE_TREES", s.name, ref)
		}
	}

	c.ProductVersionCmd = r.command("PRODUCT_VERSION_CMD")
	versionFile := r.raw("PRODUCT_VERSION_FILE")
	switch {
	case c.ProductVersionCmd != "" && versionFile != "" && r.from["PRODUCT_VERSION_FILE"] != (origin{}):
		r.bad("PRODUCT_VERSION_FILE", r.text("PRODUCT_VERSION_FILE"),
			"set together with PRODUCT_VERSION_CMD=%q: set only one of the two", c.ProductVersionCmd)
	case c.ProductVersionCmd != "":
		// the command replaces the file
	case versionFile == "": // empty means unset: the default
		c.ProductVersionFile = r.pathOf("PRODUCT_VERSION_FILE", defaultOf("PRODUCT_VERSION_FILE", c.Product), vals, false)
	default:
		c.ProductVersionFile = r.path("PRODUCT_VERSION_FILE", vals, false)
	}
	c.PatchesDir = r.path("PATCHES_DIR", vals, false)
	c.LedgerDir = r.path("LEDGER_DIR", vals, false)
	c.StateDir = r.path("STATE_DIR", vals, false)
	c.ChangeTrees = r.changeTrees(vals)
	c.ScriptEnvFile = r.path("SCRIPT_ENV_FILE", vals, true)
	c.PreHook = r.command("PRE_HOOK")
	c.PostHook = r.command("POST_HOOK")
	c.RestartCmd = r.command("RESTART_CMD")
	c.HealthCmd = r.command("HEALTH_CMD")
	c.HealthTimeout = time.Duration(r.count("HEALTH_TIMEOUT", time.Second, "seconds, e.g. 60")) * time.Second
	if c.HealthTimeout == 0 && r.text("HEALTH_TIMEOUT") == "0" {
		r.bad("HEALTH_TIMEOUT", "0", "a check needs some time: give seconds, e.g. 60")
	}
	c.HealthRetries = r.count("HEALTH_RETRIES", 1, "a number of tries, e.g. 3")
	if c.HealthRetries == 0 && r.text("HEALTH_RETRIES") == "0" {
		r.bad("HEALTH_RETRIES", "0", "the check runs at least once: give 1 or more")
	}

	switch role := Role(r.text("HOST_ROLE")); role {
	case RoleSingle, RoleAlpha, RoleSecondary:
		c.HostRole = role
	default:
		r.bad("HOST_ROLE", string(role), "not a role: use single, alpha or secondary")
		c.HostRole = RoleSingle
	}
	c.Hostname = r.hostname()
	c.SecondaryHosts = r.secondaryHosts()
	switch pm := r.text("PACKAGE_MANAGER"); pm {
	case "auto", "dnf", "yum":
		c.PackageManager = pm
	default:
		r.bad("PACKAGE_MANAGER", pm, "not a package manager: use auto, dnf or yum")
	}
	c.RepoFile = r.path("REPO_FILE", vals, false)
	c.TarballKey = r.path("TARBALL_KEY", vals, false)
	c.DropDir = r.path("DROP_DIR", vals, true)
	if words, err := Split(r.text("YUM_PARAMETER")); err != nil {
		r.bad("YUM_PARAMETER", r.text("YUM_PARAMETER"), "cannot be split into words: %v", err)
	} else {
		c.YumParameter = words
	}
	c.Schedule = r.schedule()

	c.CheckOnly = r.yes("CHECK_ONLY")
	c.DownloadOnly = r.yes("DOWNLOAD_ONLY")
	c.RandomWait = r.count("RANDOMWAIT", time.Minute, "minutes, e.g. 60 (0 = no wait)")
	c.MailTo = r.text("MAILTO")
	c.MailFrom = r.text("MAILFROM")
	if c.MailFrom == "" {
		c.MailFrom = "root@" + c.Hostname
	}
	c.SMTPServer = r.smtpServer()
	c.SystemName = r.text("SYSTEMNAME")
	if c.SystemName == "" {
		c.SystemName = c.Hostname
	}
	r.notify(c, vals)
	c.DaysOfWeek = r.daysOfWeek()
	c.InstallWindow = r.installWindow()
	c.MinAgeDays = r.count("MIN_AGE_DAYS", 24*time.Hour, "whole days, e.g. 7 (0 = no waiting period)")
	c.Canary = r.yes("CANARY")
	switch v := r.text("AUTO_ROLLBACK"); v {
	case "", "no":
	case AutoRollbackWithdrawn:
		c.AutoRollback = v
	default:
		r.bad("AUTO_ROLLBACK", v, "not a choice: use withdrawn (roll back what the vendor withdrew), or no / empty")
	}
	c.ServiceWaits = r.yes("SERVICE_WAITS")
	c.ServiceWaitTime = time.Duration(r.count("SERVICE_WAIT_TIME", time.Second, "seconds, e.g. 300")) * time.Second
	c.LockSubsys = r.path("LOCK_SUBSYS", vals, false)
	c.LockCron = r.path("LOCK_CRON", vals, false)
	c.LockTS = r.path("LOCK_TS", vals, false)
}

// schedule is SCHEDULE, checked here like every other setting (agent -daemon runs on it).
func (r *resolver) schedule() string {
	s := r.text("SCHEDULE")
	if _, err := cron.ParseStandard(s); err != nil {
		r.bad("SCHEDULE", s, "not a cron expression (%v): give five fields, minute hour day-of-month month day-of-week, as in SCHEDULE=\"2 4 * * *\"", err)
	}
	return s
}

// installWindow is INSTALL_WINDOW, parsed (package window); windows without a zone are in the
// host's local time.
func (r *resolver) installWindow() window.Window {
	v := r.text("INSTALL_WINDOW")
	w, err := window.Parse(v, time.Local)
	if err != nil {
		r.bad("INSTALL_WINDOW", v, "%v", err)
	}
	return w
}

// hostname is HOSTNAME, or the short host name when it is empty.
func (r *resolver) hostname() string {
	h := r.text("HOSTNAME")
	if h == "" {
		short, err := shortHostname()
		if err != nil {
			r.bad("HOSTNAME", "", "cannot tell the name of this host (%v): set HOSTNAME", err)
			return "localhost"
		}
		h = short
	}
	if !validHost(h) {
		r.bad("HOSTNAME", h, "not usable as a host name in file names: use letters, digits, _, . and -, not starting with . or -")
	}
	return h
}

func (r *resolver) secondaryHosts() []string {
	v := r.text("SECONDARY_HOSTS")
	var hosts []string
	seen := map[string]bool{}
	for _, h := range fields(v, " \t\n,") {
		switch {
		case !validHost(h):
			r.bad("SECONDARY_HOSTS", v, "%q is not a host name: use letters, digits, _, . and -, not starting with . or -; separate names with blanks or commas", h)
		case seen[h]:
			r.bad("SECONDARY_HOSTS", v, "%q is listed twice", h)
		default:
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// changeTrees reads CHANGE_TREES. Entries are split before references expand, so a
// reference never splits an entry; a blank in an expanded target is refused because
// the value could not be written back.
func (r *resolver) changeTrees(vals map[string]string) []ChangeTree {
	const key, form = "CHANGE_TREES", "write DIR=ABSPATH entries separated by blanks, e.g. FileChanges=$PRODUCT_ROOT"
	raw, shown := r.raw(key), r.text(key)
	entries := fields(raw, " \t\n")
	if len(entries) == 0 {
		r.bad(key, shown, "empty: %s", form)
		return nil
	}
	var trees []ChangeTree
	seen := map[string]bool{}
	for _, e := range entries {
		d, t, ok := strings.Cut(e, "=")
		dir, target, entry := shellword.Expand(d, nil), shellword.Expand(t, vals), shellword.Expand(e, nil)
		switch {
		case !ok:
			r.bad(key, shown, "entry %q has no =: %s", entry, form)
		case dir == "" || dir == "." || strings.Contains(dir, "/") || strings.Contains(dir, ".."):
			r.bad(key, shown, "entry %q: %q is not a directory name of the hotfix: one name, no / and no ..", entry, dir)
		case !filepath.IsAbs(target):
			r.bad(key, shown, "entry %q: target %q is not an absolute path", entry, target)
		case strings.ContainsAny(target, " \t\n"):
			r.bad(key, shown, "entry %q: target %q contains a blank, which CHANGE_TREES cannot hold", entry, target)
		case seen[dir]:
			r.bad(key, shown, "directory %q is mapped twice: map each directory once", dir)
		default:
			seen[dir] = true
			trees = append(trees, ChangeTree{Dir: dir, Root: filepath.Clean(target)})
		}
	}
	return trees
}

// count reads a whole number >= 0 of units.
func (r *resolver) count(key string, unit time.Duration, what string) int {
	v := r.text(key)
	n, err := strconv.Atoi(v)
	switch {
	case n < 0 || errors.Is(err, strconv.ErrRange) && strings.HasPrefix(v, "-"):
		r.bad(key, v, "negative: give %s", what)
		return 0
	case errors.Is(err, strconv.ErrRange) || err == nil && int64(n) > math.MaxInt64/int64(unit):
		r.bad(key, v, "too large: give %s", what)
		return 0
	case err != nil:
		r.bad(key, v, "not a whole number: give %s", what)
		return 0
	}
	return n
}

// daysOfWeek checks DAYS_OF_WEEK and returns its digits in order.
func (r *resolver) daysOfWeek() string {
	v := r.text("DAYS_OF_WEEK")
	if v == "" {
		r.bad("DAYS_OF_WEEK", v, "empty: list the days as digits 0-6 (0 = Sunday), e.g. 0123456 for every day")
		return ""
	}
	var days [7]bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '7' && c <= '9':
			r.bad("DAYS_OF_WEEK", v, "day %c is not 0-6 (0 = Sunday)", c)
			return ""
		case c < '0' || c > '9':
			r.bad("DAYS_OF_WEEK", v, "%q is not a day: list the days as digits 0-6 (0 = Sunday)", string(c))
			return ""
		case days[c-'0']:
			r.bad("DAYS_OF_WEEK", v, "day %c is listed twice", c)
			return ""
		}
		days[c-'0'] = true
	}
	var b strings.Builder
	for d, on := range days {
		if on {
			b.WriteByte(byte('0' + d))
		}
	}
	return b.String()
}

// smtpServer checks SMTP_SERVER: empty, or host:port.
func (r *resolver) smtpServer() string {
	v := r.text("SMTP_SERVER")
	if v == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		r.bad("SMTP_SERVER", v, "not host:port: write e.g. mail.example.com:25 or [2001:db8::1]:587")
		return ""
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		r.bad("SMTP_SERVER", v, "port %q is not a number from 1 to 65535", port)
		return ""
	}
	return v
}
