package sysconfig

import "github.com/hotchain/hotchain/sysconfig/shellword"

// setting describes one key: its default and its documentation. The order of settings
// is the order of Template and of Env.
type setting struct {
	name string
	// expands: a path key or CHANGE_TREES, where $PRODUCT and $PRODUCT_ROOT expand.
	expands bool
	// def gives the default in internal form for a product (already in internal form);
	// nil means empty. Defaults that follow PRODUCT_ROOT refer to it, so that a
	// PRODUCT_ROOT set in the file moves them too.
	def func(p string) string
	// doc is the comment above the key in Template; "%p" stands for the product.
	doc string
}

var settings = []setting{
	{name: "PRODUCT", doc: `
The product whose hotfixes this host installs (required): lowercase
letters, digits and "-". The defaults below that contain the product
name follow it.`},
	{name: "PRODUCT_ROOT", expands: true, def: func(p string) string { return "/opt/" + p }, doc: `
Where the product is installed. The FileChanges tree of a hotfix is
laid over this directory (see CHANGE_TREES).`},
	{name: "PRODUCT_VERSION_FILE", expands: true, def: func(string) string { return "$PRODUCT_ROOT/version.txt" }, doc: `
File that holds the installed product version (e.g. 6.14.2); a
hotfix installs only on its own base version. Used when
PRODUCT_VERSION_CMD is empty; set only one of the two.`},
	{name: "PRODUCT_VERSION_CMD", doc: `
Command that prints the installed product version instead, e.g.
PRODUCT_VERSION_CMD="/opt/%p/bin/version --short". It is split into
words like a shell does and run without a shell.`},
	{name: "PATCHES_DIR", expands: true, def: func(p string) string { return "/var/opt/" + p + "/Patches" }, doc: `
Where hotfixes are unpacked: one directory per hotfix, with its install
log and the backups of the files it replaced.`},
	{name: "LEDGER_DIR", expands: true, def: func(p string) string { return "/etc/opt/" + p + "/hotfix" }, doc: `
The ledger: <host>.txt lists the hotfixes applied on each host, and
version.txt those applied to the installation as a whole, and
<host>.status.json each host's last agent run (hotchain status
-installation). In a distributed installation it must lie on storage
that all hosts share.`},
	{name: "STATE_DIR", expands: true, def: func(p string) string { return "/var/lib/" + p + "-hotfix" }, doc: `
State of the agent on this host (its last run, for hotchain status, and
restart.json: a restart or reboot that applied hotfixes asked for).`},
	{name: "CHANGE_TREES", expands: true, def: func(string) string { return "FileChanges=$PRODUCT_ROOT" }, doc: `
Which directory of a hotfix is laid over which directory of this
host: DIR=ABSPATH entries separated by blanks. With a second tree:
CHANGE_TREES="FileChanges=$PRODUCT_ROOT StoreTypeChanges=/srv/types"`},
	{name: "SCRIPT_ENV_FILE", expands: true, def: func(p string) string { return "/etc/default/" + p }, doc: `
Shell-style file whose variables the Install scripts of a hotfix get in
their environment. Empty, or a file that does not exist: none.`},
	{name: "PRE_HOOK", doc: `
Command run before hotfixes are installed, e.g. to close the shop:
PRE_HOOK="/opt/%p/bin/close --reason hotfix". It is split into words
like a shell does, run without a shell, and gets these settings in its
environment.`},
	{name: "POST_HOOK", doc: `
Command run after an install, also after one that failed, e.g. to open
the shop again.`},
	{name: "HEALTH_CMD", doc: `
Command that tells whether the product works, e.g.
HEALTH_CMD="curl -fsS --max-time 10 http://localhost/%p/health". It runs
after each hotfix's apply (after the hotfix's own Check/ scripts) and
once more after POST_HOOK; a non-zero exit status fails the check, and
a hotfix that fails it is rolled back. Split into words like a shell
does and run without a shell. Empty: only the Check/ scripts run.`},
	{name: "HEALTH_TIMEOUT", def: func(string) string { return "60" }, doc: `
Seconds one health check (HEALTH_CMD and the Check/ scripts) may take.`},
	{name: "HEALTH_RETRIES", def: func(string) string { return "3" }, doc: `
How many times a failing health check is tried, 5 seconds apart, before
it counts as failed (1: no retry).`},
	{name: "RESTART_CMD", doc: `
Command that restarts what a hotfix's restart.txt names once the agent
or hotchain apply has applied it, e.g.
RESTART_CMD="/opt/%p/bin/restart". It gets HOTCHAIN_RESTART=services
or product and HOTCHAIN_SERVICES (the service names, blank-separated)
in its environment and runs at most once per run. Split into words like
a shell does and run without a shell. Empty: the restart is only
recorded (hotchain status, agent -check exit 7) until hotchain
restarted says it is done. A reboot is always only recorded.`},
	{name: "HOST_ROLE", def: func(string) string { return string(RoleSingle) }, doc: `
single: the product runs on this host alone. alpha: the host that runs
the application processes of a distributed installation; it installs
first. secondary: every other host of a distributed installation; it
installs only what the alpha has installed.`},
	{name: "HOSTNAME", doc: `
Name of this host in the ledger (<host>.txt) and in the names of
install logs and backups. Default: the short host name (up to the first
dot). Unlike other settings, HOSTNAME is not taken from the
environment: login shells export HOSTNAME (often the full name) and
cron does not, and the ledger must know a host by one name.`},
	{name: "SECONDARY_HOSTS", doc: `
On the alpha: the names (their HOSTNAME) of the secondary hosts,
separated by blanks or commas. Once all of them have installed a
hotfix, the alpha runs the final tasks of the installation.`},
	{name: "PACKAGE_MANAGER", def: func(string) string { return "auto" }, doc: `
What installs hotfixes: dnf, yum, or auto (dnf if present, else yum).`},
	{name: "REPO_FILE", expands: true, def: func(p string) string { return "/etc/yum.repos.d/" + p + "-hotfix.repo" }, doc: `
The repository file that points yum/dnf to the hotfixes for the
installed product version (hotchain repo-file rewrites it).`},
	{name: "TARBALL_KEY", expands: true, def: func(p string) string { return "/etc/pki/" + p + "-hotfix/tarball-key.pem" }, doc: `
PEM public key that verifies the signatures of hotfix tarballs.`},
	{name: "DROP_DIR", expands: true, doc: `
A drop folder for hosts that the repository does not reach, e.g.
DROP_DIR=/var/opt/%p/drop. Copy a signed hotfix tarball (or bundle)
into it, the archive first and its .sig second; the agent (each cron
run, and -daemon as soon as both files are complete) verifies the pair
against TARBALL_KEY and installs it. What it took goes to done/, what
it refused to refused/ with a .reason file beside it. The signature
decides, not who wrote the file: the folder may belong to a transfer
user. Without a REPO_FILE the nightly run then takes only the folder.
Empty: no drop folder.`},
	{name: "YUM_PARAMETER", def: func(p string) string { return "--disablerepo '*' --enablerepo " + p + "-hotfix" }, doc: `
Pass any given parameter to yum/dnf, in every call that hotchain makes.
Be aware that this is global, and yum/dnf is invoked in several modes
for which your own parameter might not be appropriate. The value is
split into words like a shell does (quotes are removed) and never run
through a shell.`},
	{name: "SCHEDULE", def: func(string) string { return "2 4 * * *" }, doc: `
When hotchain agent -daemon (for hosts without crond) starts a nightly
run: a cron expression (minute hour day-of-month month day-of-week).`},
	{name: "CHECK_ONLY", def: func(string) string { return "no" }, doc: `
Don't install, just check (everything else than 'yes' is 'no').`},
	{name: "DOWNLOAD_ONLY", def: func(string) string { return "no" }, doc: `
Don't install, just check and download (everything else than 'yes' is
'no').`},
	{name: "RANDOMWAIT", def: func(string) string { return "60" }, doc: `
Nightly runs first wait a random time of 1 to RANDOMWAIT minutes, so
that not all hosts reach the repository at once; 0 means no wait.
Console runs never wait.`},
	{name: "MAILTO", doc: `
If MAILTO is set and mail can be sent, the report of a nightly run is
mailed there; otherwise it is printed and crond mails it (example:
MAILTO=root). Unlike other settings, MAILTO is not taken from the
environment: crond puts the MAILTO of its crontab there.`},
	{name: "MAILFROM", doc: `
Sender of the report mails. Default: root@ followed by HOSTNAME.`},
	{name: "SMTP_SERVER", doc: `
Mail server (host:port) that reports are sent through. Empty: the local
mail or sendmail command if there is one, else localhost:25.`},
	{name: "SYSTEMNAME", doc: `
You may set SYSTEMNAME if you want your report mails tagged
differently. Default is HOSTNAME; used only if MAILTO is set too.`},
	{name: "NOTIFY_URL", doc: `
Webhook that gets each reported run as a JSON document (an HTTP POST,
see the README): an http:// or https:// URL, e.g.
NOTIFY_URL=https://alerts.example.com/hotchain. Each try may take 10
seconds, 3 tries in all; a notification that cannot be delivered never
stops an install: the run logs it and exits with status 4. Empty: none.`},
	{name: "NOTIFY_HEADER", doc: `
One header sent with every POST to NOTIFY_URL, "Name: value", e.g.
NOTIFY_HEADER="Authorization: Bearer TOKEN". hotchain never prints its
value (the hooks get it in their environment, as every setting); keep
this file readable by root only when it holds a token.`},
	{name: "NOTIFY_CMD", doc: `
Command that gets the same JSON document on its standard input, e.g.
NOTIFY_CMD="/usr/local/bin/page-oncall --json". Split into words like
a shell does and run without a shell, for at most 10 seconds. A
non-zero exit status counts as a notification that was not delivered.`},
	{name: "NOTIFY_ON", def: func(string) string { return "change" }, doc: `
When NOTIFY_URL and NOTIFY_CMD are told: failure (a run that failed),
change (a run that installed, rolled back or finalized something, or
failed) or always (every run that got past its locks).`},
	{name: "METRICS_FILE", expands: true, doc: `
File for node_exporter's textfile collector, rewritten after every run,
apply and rollback, e.g.
METRICS_FILE=/var/lib/node_exporter/textfile_collector/%p_hotfix.prom
(the name must end in .prom for the collector). Empty: none.`},
	{name: "DAYS_OF_WEEK", def: func(string) string { return "0123456" }, doc: `
You may set DAYS_OF_WEEK to the days of the week (0 = Sunday ...
6 = Saturday) on which nightly runs act; on the other days they do
nothing. Default is every day.`},
	{name: "INSTALL_WINDOW", doc: `
When an install may start: windows separated by commas, each
"DAYS HH:MM-HH:MM [ZONE]", e.g. INSTALL_WINDOW="Sun-Thu 01:00-05:00" or
"Sat 22:00-02:00 Europe/Berlin". DAYS is a day (Mon), a range (Mon-Fri,
Fri-Mon) or nothing for every day: the days a window opens on. A window
whose end is not after its start crosses midnight. No ZONE: local time.
Checks and downloads happen at any time; a nightly run that reaches
its install outside every window installs nothing and says so.
hotchain agent -console ignores it. Empty: any time.`},
	{name: "MIN_AGE_DAYS", def: func(string) string { return "0" }, doc: `
Install a hotfix only once it was published this many whole days ago,
counted from the time in the vendor's signed metadata (the package's
signed build time). A chain stops at the first hotfix that waits.
Secondary hosts follow the alpha instead. 0: no waiting period.`},
	{name: "CANARY", def: func(string) string { return "no" }, doc: `
Set to yes on the hosts that get hotfixes first: they ignore
MIN_AGE_DAYS and the share of the vendor's phased rollout; a halted or
withdrawn hotfix they never install (everything else than 'yes' is
'no').`},
	{name: "AUTO_ROLLBACK", doc: `
withdrawn: when the vendor withdraws a hotfix that this host has
applied, the next nightly run rolls it back, and every hotfix applied
after it, newest first. Empty or no: the run only reports it (the
report's subject, hotchain status, exit status 6 of agent -check).`},
	{name: "SERVICE_WAITS", def: func(string) string { return "yes" }, doc: `
Set to yes to make hotchain service stop (which product patches run
before they start) wait for a running install to complete (everything
else than 'yes' is 'no').`},
	{name: "SERVICE_WAIT_TIME", def: func(string) string { return "300" }, doc: `
Maximum time (in seconds) that hotchain service stop waits for a
running install to complete. The default is 300 seconds (5 minutes).`},
	{name: "LOCK_SUBSYS", expands: true, def: func(p string) string { return "/var/lock/subsys/" + p + "-hotfix" }, doc: `
Exists while nightly runs are enabled (don't change this).`},
	{name: "LOCK_CRON", expands: true, def: func(p string) string { return "/var/lock/" + p + "-hotfix.lock/pidfile" }, doc: `
Held by the running agent, with its pid in it (don't change this).`},
	{name: "LOCK_TS", expands: true, def: func(p string) string { return "/var/lock/" + p + "-hotfix.lock/ts.lock" }, doc: `
Held while hotfixes are installed or rolled back (don't change this).`},
}

// settingByName indexes settings.
var settingByName = func() map[string]*setting {
	m := make(map[string]*setting, len(settings))
	for i := range settings {
		m[settings[i].name] = &settings[i]
	}
	return m
}()

// defaultOf gives the default of key for product in internal form.
func defaultOf(key, product string) string {
	s := settingByName[key]
	if s == nil || s.def == nil {
		return ""
	}
	return s.def(shellword.EscapeDollars(product))
}
