package sysconfig

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/sysconfig/shellword"
	"github.com/hotchain/hotchain/sysconfig/window"
)

// Role is the part a host plays in an installation (SPEC section 4).
type Role string

const (
	RoleSingle    Role = "single"    // the product runs on this host alone
	RoleAlpha     Role = "alpha"     // runs the application processes; installs first
	RoleSecondary Role = "secondary" // every other host; installs what the alpha installed
)

// AutoRollbackWithdrawn is AUTO_ROLLBACK's one value: roll back a hotfix the vendor
// withdrew, and the hotfixes after it.
const AutoRollbackWithdrawn = "withdrawn"

// NOTIFY_ON's values: which runs are notified.
const (
	NotifyFailure = "failure" // runs that failed
	NotifyChange  = "change"  // runs that changed something, or failed
	NotifyAlways  = "always"  // every run
)

// ChangeTree maps a directory of the hotfix (e.g. "FileChanges") to a target root
// (absolute, host view).
type ChangeTree struct {
	Dir  string // name of the tree inside the hotfix directory, one path element, e.g. "StoreTypeChanges"
	Root string // absolute target path as written in the settings, cleaned (host view, not joined with Root)
}

// Config is the checked settings of a host. Every path is absolute and in host view:
// join it with Root (InRoot) before touching the file system.
type Config struct {
	File string // the settings file path as the host sees it (e.g. /etc/sysconfig/shop-hotfix)
	Root string // the -root directory ("" or "/" means the real root); every path below is host view

	Product            string
	ProductRoot        string
	ProductVersionFile string // "" when ProductVersionCmd is set
	ProductVersionCmd  string // a command line; split with Split when run
	PatchesDir         string
	LedgerDir          string
	StateDir           string // STATE_DIR, default /var/lib/<product>-hotfix (agent state, last run)
	HostRole           Role
	Hostname           string        // HOSTNAME, default: short host name (os.Hostname up to the first dot)
	SecondaryHosts     []string      // SECONDARY_HOSTS, split on blanks and/or commas
	ChangeTrees        []ChangeTree  // CHANGE_TREES, default "FileChanges=$PRODUCT_ROOT"
	ScriptEnvFile      string        // "" means none
	PreHook, PostHook  string        // command lines, split with Split when run; "" means none
	HealthCmd          string        // HEALTH_CMD, split with Split when run; "" means none
	HealthTimeout      time.Duration // HEALTH_TIMEOUT, one check
	HealthRetries      int           // HEALTH_RETRIES, tries of a failing check (at least 1)
	RestartCmd         string        // RESTART_CMD, split with Split when run; "" means none
	PackageManager     string        // auto | dnf | yum
	Schedule           string        // cron expression, default "2 4 * * *"
	YumParameter       []string      // YUM_PARAMETER split into words
	CheckOnly          bool
	DownloadOnly       bool
	RandomWait         int // minutes, >= 0
	MailTo             string
	MailFrom           string        // MAILFROM, default "root@<Hostname>"
	SMTPServer         string        // SMTP_SERVER host:port, "" = mail/sendmail binary if present, else localhost:25
	SystemName         string        // default Hostname
	NotifyURL          string        // NOTIFY_URL: http or https URL; "" means none
	NotifyHeader       string        // NOTIFY_HEADER "Name: value" (a secret: never print it); "" means none
	NotifyCmd          string        // NOTIFY_CMD, split with Split when run; "" means none
	NotifyOn           string        // NOTIFY_ON: NotifyFailure, NotifyChange (default) or NotifyAlways
	MetricsFile        string        // METRICS_FILE; "" means none
	DaysOfWeek         string        // the digits 0-6 in order, e.g. "0123456"
	InstallWindow      window.Window // INSTALL_WINDOW; the zero Window is always open
	MinAgeDays         int           // MIN_AGE_DAYS, whole days >= 0
	Canary             bool          // CANARY=yes: ignore MIN_AGE_DAYS and the share of a phased rollout
	AutoRollback       string        // AUTO_ROLLBACK: "" (no) or AutoRollbackWithdrawn
	ServiceWaits       bool
	ServiceWaitTime    time.Duration // SERVICE_WAIT_TIME seconds

	LockSubsys, LockCron, LockTS string

	RepoFile   string // REPO_FILE, default /etc/yum.repos.d/<product>-hotfix.repo
	TarballKey string // TARBALL_KEY: PEM public key that verifies hotfix tarball signatures
	DropDir    string // DROP_DIR: the drop folder of signed tarballs and bundles; "" means none

	Warnings []string // e.g. "/etc/sysconfig/shop-hotfix:12: unknown key FOO (ignored)"
}

// inRoot joins a host-view path with root.
func inRoot(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	// filepath.Join(root, "/../etc") would give "/etc": clean p as seen from / first,
	// so that .. stops at the root, as it does for a process chrooted there.
	return filepath.Join(root, filepath.Clean("/"+p))
}

// InRoot joins a host-view absolute path with c.Root (filepath.Join(c.Root, p); p
// unchanged when Root is "" or "/"). A path whose .. would climb above / stays inside
// Root, as it would in a chroot: "/../etc" becomes Root/etc.
func (c *Config) InRoot(p string) string { return inRoot(c.Root, p) }

// Load reads the settings file at path (host view) inside root ("" = /). environ is the
// process environment as KEY=VALUE strings: a variable whose name is a known key
// overrides the file. The error names file, line, key and value for each bad value
// (several are joined; each is an *Error). Warnings (unknown keys, values taken
// literally, environment overrides) are in Config.Warnings.
//
// As root, a settings file that another user could have written (filetrust.Check: not
// owned by root, group- or world-writable, in such a directory, or a symlink to such a
// file) is refused, as is one larger than MaxSettingsSize.
func Load(root, path string, environ []string) (*Config, error) {
	name := inRoot(root, path)
	src, err := ReadTrusted(name, "settings file", MaxSettingsSize)
	if err != nil {
		return nil, readError("read settings", err)
	}
	c, err := fromBytes(name, src, environ)
	if err != nil {
		return nil, err
	}
	c.File, c.Root = path, root
	return c, nil
}

// fromBytes is Load without the file system. name is used in messages.
func fromBytes(name string, src []byte, environ []string) (*Config, error) {
	assigns, warns, syntaxErr := parse(name, src)
	r, err := layer(name, assigns, warns, environ)
	if err != nil {
		return nil, err
	}
	c, err := r.config()
	if syntaxErr != nil {
		// Report the bad values of the lines that did parse too, so that one edit fixes
		// all; but not what follows from the broken lines (a PRODUCT on a broken line
		// is not missing).
		errs := []error{syntaxErr}
		for _, e := range unjoin(err) {
			if e, ok := e.(*Error); ok && (e.Line > 0 || e.Env) {
				errs = append(errs, e)
			}
		}
		return nil, errors.Join(inFileOrder(unjoin(errors.Join(errs...)))...)
	}
	if err != nil {
		return nil, err
	}
	c.Warnings = r.sortedWarnings()
	return c, nil
}

// unjoin undoes errors.Join.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// Defaults returns the configuration a file containing only PRODUCT=product would give
// (used for golden tests and for the base RPM's settings file), with File set to
// /etc/sysconfig/<product>-hotfix. The product is not checked (Load does that); if the
// host name cannot be found, Hostname is "localhost".
func Defaults(product string) *Config {
	name := "/etc/sysconfig/" + product + "-hotfix"
	r, err := layer(name, []assignment{{key: "PRODUCT", value: shellword.EscapeDollars(product), line: 1}}, nil, nil)
	if err != nil { // viper refused a one-key map: a bug
		panic(fmt.Sprintf("sysconfig: defaults for %q: %v", product, err))
	}
	c, _ := r.config()
	c.File = name
	return c
}

// Env returns the settings as KEY=VALUE strings, one for every key in the order of
// Template, values as checked (paths expanded, YUM_PARAMETER re-quoted), for the
// environment of scripts and hooks.
func (c *Config) Env() []string {
	env := make([]string, 0, len(settings))
	for _, s := range settings {
		env = append(env, s.name+"="+c.value(s.name))
	}
	return env
}

// value is the text of key as Env gives it; loading it back gives the same Config.
func (c *Config) value(key string) string {
	yesno := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	switch key {
	case "PRODUCT":
		return c.Product
	case "PRODUCT_ROOT":
		return c.ProductRoot
	case "PRODUCT_VERSION_FILE":
		return c.ProductVersionFile
	case "PRODUCT_VERSION_CMD":
		return c.ProductVersionCmd
	case "PATCHES_DIR":
		return c.PatchesDir
	case "LEDGER_DIR":
		return c.LedgerDir
	case "STATE_DIR":
		return c.StateDir
	case "CHANGE_TREES":
		trees := make([]string, len(c.ChangeTrees))
		for i, t := range c.ChangeTrees {
			trees[i] = t.Dir + "=" + t.Root
		}
		return strings.Join(trees, " ")
	case "SCRIPT_ENV_FILE":
		return c.ScriptEnvFile
	case "PRE_HOOK":
		return c.PreHook
	case "POST_HOOK":
		return c.PostHook
	case "HEALTH_CMD":
		return c.HealthCmd
	case "HEALTH_TIMEOUT":
		return strconv.Itoa(int(c.HealthTimeout / time.Second))
	case "HEALTH_RETRIES":
		return strconv.Itoa(c.HealthRetries)
	case "RESTART_CMD":
		return c.RestartCmd
	case "HOST_ROLE":
		return string(c.HostRole)
	case "HOSTNAME":
		return c.Hostname
	case "SECONDARY_HOSTS":
		return strings.Join(c.SecondaryHosts, " ")
	case "PACKAGE_MANAGER":
		return c.PackageManager
	case "REPO_FILE":
		return c.RepoFile
	case "TARBALL_KEY":
		return c.TarballKey
	case "DROP_DIR":
		return c.DropDir
	case "YUM_PARAMETER":
		return shellword.Join(c.YumParameter)
	case "SCHEDULE":
		return c.Schedule
	case "CHECK_ONLY":
		return yesno(c.CheckOnly)
	case "DOWNLOAD_ONLY":
		return yesno(c.DownloadOnly)
	case "RANDOMWAIT":
		return strconv.Itoa(c.RandomWait)
	case "MAILTO":
		return c.MailTo
	case "MAILFROM":
		return c.MailFrom
	case "SMTP_SERVER":
		return c.SMTPServer
	case "SYSTEMNAME":
		return c.SystemName
	case "NOTIFY_URL":
		return c.NotifyURL
	case "NOTIFY_HEADER":
		return c.NotifyHeader
	case "NOTIFY_CMD":
		return c.NotifyCmd
	case "NOTIFY_ON":
		return c.NotifyOn
	case "METRICS_FILE":
		return c.MetricsFile
	case "DAYS_OF_WEEK":
		return c.DaysOfWeek
	case "INSTALL_WINDOW":
		return c.InstallWindow.String()
	case "MIN_AGE_DAYS":
		return strconv.Itoa(c.MinAgeDays)
	case "CANARY":
		return yesno(c.Canary)
	case "AUTO_ROLLBACK":
		return c.AutoRollback
	case "SERVICE_WAITS":
		return yesno(c.ServiceWaits)
	case "SERVICE_WAIT_TIME":
		return strconv.FormatInt(int64(c.ServiceWaitTime/time.Second), 10)
	case "LOCK_SUBSYS":
		return c.LockSubsys
	case "LOCK_CRON":
		return c.LockCron
	case "LOCK_TS":
		return c.LockTS
	}
	panic("sysconfig: no value for key " + key) // settings and value disagree: a bug
}
