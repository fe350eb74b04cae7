package sysconfig

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

type errorCase struct {
	name  string
	line  string // the bad line; it becomes line 3 of the file
	key   string // the key the error names ("" for a line without one)
	value string // the value the error names
	msg   string // part of what it says is allowed
}

var errorCases = []errorCase{
	{"day out of range", `DAYS_OF_WEEK="0128"`, "DAYS_OF_WEEK", "0128", "day 8 is not 0-6 (0 = Sunday)"},
	{"day repeated", `DAYS_OF_WEEK=0113`, "DAYS_OF_WEEK", "0113", "day 1 is listed twice"},
	{"days empty", `DAYS_OF_WEEK=`, "DAYS_OF_WEEK", "", "empty: list the days as digits 0-6"},
	{"days not digits", `DAYS_OF_WEEK=mon`, "DAYS_OF_WEEK", "mon", `"m" is not a day`},
	{"randomwait negative", `RANDOMWAIT=-5`, "RANDOMWAIT", "-5", "negative"},
	{"randomwait not a number", `RANDOMWAIT=ten`, "RANDOMWAIT", "ten", "not a whole number"},
	{"randomwait fraction", `RANDOMWAIT=1.5`, "RANDOMWAIT", "1.5", "not a whole number"},
	{"randomwait empty", `RANDOMWAIT=`, "RANDOMWAIT", "", "not a whole number"},
	{"randomwait too large", `RANDOMWAIT=99999999999999999999`, "RANDOMWAIT", "99999999999999999999", "too large"},
	{"randomwait overflows a duration", `RANDOMWAIT=9223372036854775807`, "RANDOMWAIT", "9223372036854775807", "too large"},
	{"service wait time negative", `SERVICE_WAIT_TIME=-1`, "SERVICE_WAIT_TIME", "-1", "negative"},
	{"service wait time with unit", `SERVICE_WAIT_TIME=5m`, "SERVICE_WAIT_TIME", "5m", "not a whole number: give seconds"},
	{"install window unknown day", `INSTALL_WINDOW="Son-Thu 01:00-05:00"`, "INSTALL_WINDOW", "Son-Thu 01:00-05:00", `unknown day "Son"`},
	{"install window bad time", `INSTALL_WINDOW="Sun-Thu 1:00-25:00"`, "INSTALL_WINDOW", "Sun-Thu 1:00-25:00", `bad time "25:00"`},
	{"install window unknown zone", `INSTALL_WINDOW="Sat 22:00-02:00 Europe/Berlinn"`, "INSTALL_WINDOW", "Sat 22:00-02:00 Europe/Berlinn", `unknown time zone "Europe/Berlinn"`},
	{"install window empty window", `INSTALL_WINDOW="Sat 22:00-02:00,"`, "INSTALL_WINDOW", "Sat 22:00-02:00,", `window 2 (""): empty window`},
	{"install window same start and end", `INSTALL_WINDOW="Sat 02:00-02:00"`, "INSTALL_WINDOW", "Sat 02:00-02:00", "starts and ends at the same time"},
	{"min age negative", `MIN_AGE_DAYS=-1`, "MIN_AGE_DAYS", "-1", "negative: give whole days"},
	{"min age with unit", `MIN_AGE_DAYS=7d`, "MIN_AGE_DAYS", "7d", "not a whole number: give whole days"},
	{"min age too large", `MIN_AGE_DAYS=999999999`, "MIN_AGE_DAYS", "999999999", "too large"},
	{"host role", `HOST_ROLE=master`, "HOST_ROLE", "master", "use single, alpha or secondary"},
	{"host role case", `HOST_ROLE=Alpha`, "HOST_ROLE", "Alpha", "use single, alpha or secondary"},
	{"product upper case", `PRODUCT=Shop`, "PRODUCT", "Shop", "lowercase letters, digits and -"},
	{"product leading dash", `PRODUCT=-shop`, "PRODUCT", "-shop", "starting with a letter or digit"},
	{"product underscore", `PRODUCT=my_shop`, "PRODUCT", "my_shop", "lowercase letters, digits and -"},
	{"product empty", `PRODUCT=`, "PRODUCT", "", "not a product name"},
	{"product root refers to itself", `PRODUCT_ROOT=$PRODUCT_ROOT/x`, "PRODUCT_ROOT", "$PRODUCT_ROOT/x", "refers to itself"},
	{"path single-quoted reference", `PATCHES_DIR='$PRODUCT_ROOT/P'`, "PATCHES_DIR", "$PRODUCT_ROOT/P", "not an absolute path"},
	{"path empty", `LEDGER_DIR=`, "LEDGER_DIR", "", "empty: give an absolute path, or remove the line to get the default /etc/opt/shop/hotfix"},
	{"trees no =", `CHANGE_TREES="FileChanges=/opt/shop Store"`, "CHANGE_TREES", "FileChanges=/opt/shop Store", `entry "Store" has no =`},
	{"trees empty dir", `CHANGE_TREES==/opt/shop`, "CHANGE_TREES", "=/opt/shop", "not a directory name of the hotfix"},
	{"trees dir with slash", `CHANGE_TREES=a/b=/opt/shop`, "CHANGE_TREES", "a/b=/opt/shop", `"a/b" is not a directory name`},
	{"trees dir ..", `CHANGE_TREES=..=/opt/shop`, "CHANGE_TREES", "..=/opt/shop", `".." is not a directory name`},
	{"trees dir containing ..", `CHANGE_TREES=a..b=/opt/shop`, "CHANGE_TREES", "a..b=/opt/shop", `"a..b" is not a directory name`},
	{"trees dir .", `CHANGE_TREES=.=/opt/shop`, "CHANGE_TREES", ".=/opt/shop", `"." is not a directory name`},
	{"trees relative root", `CHANGE_TREES=FileChanges=opt/shop`, "CHANGE_TREES", "FileChanges=opt/shop", `target "opt/shop" is not an absolute path`},
	{"trees empty root", `CHANGE_TREES=FileChanges=`, "CHANGE_TREES", "FileChanges=", `target "" is not an absolute path`},
	{"trees duplicate dir", `CHANGE_TREES="A=/x A=/y"`, "CHANGE_TREES", "A=/x A=/y", `directory "A" is mapped twice`},
	{"trees empty", `CHANGE_TREES=`, "CHANGE_TREES", "", "empty: write DIR=ABSPATH entries"},
	{"trees root with blank", `CHANGE_TREES="F=$PRODUCT_ROOT"` + "\n" + `PRODUCT_ROOT="/opt/my shop"`, "CHANGE_TREES", "F=$PRODUCT_ROOT", "contains a blank"},
	{"schedule four fields", `SCHEDULE="2 4 * *"`, "SCHEDULE", "2 4 * *", "not a cron expression"},
	{"schedule out of range", `SCHEDULE="61 4 * * *"`, "SCHEDULE", "61 4 * * *", "as in SCHEDULE=\"2 4 * * *\""},
	{"health timeout zero", `HEALTH_TIMEOUT=0`, "HEALTH_TIMEOUT", "0", "a check needs some time"},
	{"health timeout unit", `HEALTH_TIMEOUT=1m`, "HEALTH_TIMEOUT", "1m", "not a whole number: give seconds"},
	{"health retries zero", `HEALTH_RETRIES=0`, "HEALTH_RETRIES", "0", "the check runs at least once"},
	{"health retries negative", `HEALTH_RETRIES=-2`, "HEALTH_RETRIES", "-2", "negative"},
	{"health command cannot be split", `HEALTH_CMD="curl 'x"`, "HEALTH_CMD", "curl 'x", "cannot be split"},
	{"auto rollback", `AUTO_ROLLBACK=all`, "AUTO_ROLLBACK", "all", "use withdrawn"},
	{"auto rollback case", `AUTO_ROLLBACK=Withdrawn`, "AUTO_ROLLBACK", "Withdrawn", "use withdrawn"},
	{"package manager", `PACKAGE_MANAGER=apt`, "PACKAGE_MANAGER", "apt", "use auto, dnf or yum"},
	{"unterminated double quote", `YUM_PARAMETER="--disablerepo '*'`, "YUM_PARAMETER", `"--disablerepo '*'`, "unterminated double quote"},
	{"unterminated single quote", `MAILTO='root`, "MAILTO", `'root`, "unterminated single quote"},
	{"unterminated quote after escaped quote", `MAILTO="a\"`, "MAILTO", `"a\"`, "unterminated double quote"},
	{"yum parameter cannot be split", `YUM_PARAMETER="--disablerepo '*"`, "YUM_PARAMETER", "--disablerepo '*", "cannot be split into words: unterminated single quote"},
	{"yum parameter with operator", `YUM_PARAMETER="-y && reboot"`, "YUM_PARAMETER", "-y && reboot", `unquoted "&"`},
	{"restart command cannot be split", `RESTART_CMD="systemctl restart 'shop"`, "RESTART_CMD", "systemctl restart 'shop", "cannot be split into words: unterminated single quote"},
	{"restart command with operator", `RESTART_CMD="systemctl restart shop | logger"`, "RESTART_CMD", "systemctl restart shop | logger", `unquoted "|"`},
	{"hook with operator", `PRE_HOOK="stop; close"`, "PRE_HOOK", "stop; close", `unquoted ";"`},
	{"version command cannot be split", `PRODUCT_VERSION_CMD="v 'x"`, "PRODUCT_VERSION_CMD", "v 'x", "cannot be split"},
	{"version file and command", "PRODUCT_VERSION_FILE=/v\nPRODUCT_VERSION_CMD=/bin/v", "PRODUCT_VERSION_FILE", "/v", "set only one of the two"},
	{"hostname with slash", `HOSTNAME=../etc`, "HOSTNAME", "../etc", "not usable as a host name"},
	{"secondary host twice", `SECONDARY_HOSTS="a,b a"`, "SECONDARY_HOSTS", "a,b a", `"a" is listed twice`},
	{"secondary host bad", `SECONDARY_HOSTS="a b/c"`, "SECONDARY_HOSTS", "a b/c", `"b/c" is not a host name`},
	{"smtp no port", `SMTP_SERVER=mail`, "SMTP_SERVER", "mail", "not host:port"},
	{"smtp bad port", `SMTP_SERVER=mail:99999`, "SMTP_SERVER", "mail:99999", "not a number from 1 to 65535"},
	{"not an assignment", `just some words`, "", "just some words", "not a KEY=VALUE assignment"},
	{"blanks around =", `MAILTO = root`, "", "MAILTO = root", "no blanks around ="},
	{"export alone", `export`, "", "export", "not a KEY=VALUE assignment"},
	{"key starts with digit", `1KEY=x`, "", "1KEY=x", "not a KEY=VALUE assignment"},
	{"text after value", `MAILTO=root admin`, "MAILTO", "root admin", "text after the value"},
	{"unquoted operator", `MAILTO=a;b`, "MAILTO", "a;b", `unquoted ";"`},
	{"unquoted redirection", `MAILTO=a>b`, "MAILTO", "a>b", `unquoted ">"`},
	{"backslash at end", `MAILTO=root\`, "MAILTO", `root\`, "backslash at the end"},
	{"NUL byte", "MAILTO='a\x00b'", "MAILTO", "'a\x00b'", "NUL byte"},
}

func init() {
	for _, k := range []string{"PRODUCT_ROOT", "PRODUCT_VERSION_FILE", "PATCHES_DIR", "LEDGER_DIR", "STATE_DIR",
		"SCRIPT_ENV_FILE", "LOCK_SUBSYS", "LOCK_CRON", "LOCK_TS", "REPO_FILE", "TARBALL_KEY"} {
		errorCases = append(errorCases, errorCase{"relative " + k, k + "=var/x", k, "var/x", "not an absolute path: paths in the settings start with /"})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			src := "# settings\n\n" + tc.line + "\n"
			if !strings.HasPrefix(tc.line, "PRODUCT=") {
				src += "PRODUCT=shop\n"
			}
			_, err := load(t, src)
			if err == nil {
				t.Fatalf("no error for %q", tc.line)
			}
			checkError(t, err, testFile+":3: ", tc)
			var e *Error
			if !errors.As(err, &e) || e.Line != 3 || e.Key != tc.key || e.Value != tc.value || e.Env {
				t.Errorf("error %#v, want Line 3, Key %q, Value %q", e, tc.key, tc.value)
			}
			if e != nil && !strings.Contains(e.Hint(), "line 3 of "+testFile) {
				t.Errorf("hint %q does not name the line", e.Hint())
			}
		})
	}
}

// checkError asserts that err names where, the key and the value, and says what is allowed.
func checkError(t *testing.T, err error, where string, tc errorCase) {
	t.Helper()
	msg := err.Error()
	want := strconv.Quote(tc.value)
	if tc.key != "" {
		want = tc.key + "=" + want
	}
	if !strings.Contains(msg, where) || !strings.Contains(msg, want) || !strings.Contains(msg, tc.msg) {
		t.Errorf("error %q\nwant it to contain %q, %q and %q", msg, where, want, tc.msg)
	}
}

// An environment override is checked like a line, and the error names the variable.
func TestErrorsFromEnvironment(t *testing.T) {
	for _, tc := range []errorCase{
		{"days", "DAYS_OF_WEEK=0128", "DAYS_OF_WEEK", "0128", "day 8 is not 0-6 (0 = Sunday)"},
		{"role", "HOST_ROLE=boss", "HOST_ROLE", "boss", "use single, alpha or secondary"},
		{"path", "STATE_DIR=state", "STATE_DIR", "state", "not an absolute path"},
		{"product", "PRODUCT=Bad", "PRODUCT", "Bad", "not a product name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, "PRODUCT=shop\nDAYS_OF_WEEK=0123\n", "PATH=/bin", tc.line)
			if err == nil {
				t.Fatalf("no error for the environment %q", tc.line)
			}
			checkError(t, err, "environment variable ", tc)
			if strings.Contains(err.Error(), testFile+":") {
				t.Errorf("error %q names a line of the file, not the environment", err)
			}
			var e *Error
			if !errors.As(err, &e) || !e.Env || !strings.Contains(e.Hint(), "environment variable "+tc.key) {
				t.Errorf("error %#v: want Env and a hint naming the variable", e)
			}
		})
	}
}

func TestErrorProductMissing(t *testing.T) {
	_, err := load(t, "# no product\nMAILTO=root\n")
	if err == nil || err.Error() != testFile+": PRODUCT is not set: add a line PRODUCT=<name> (lowercase letters, digits and -, e.g. PRODUCT=shop)" {
		t.Errorf("err = %v", err)
	}
}

// Every bad line is reported at once, in file order.
func TestErrorsAllReported(t *testing.T) {
	_, err := load(t, "PRODUCT=shop\nRANDOMWAIT=x\nHOST_ROLE=y\n")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	i, j := strings.Index(msg, ":2: RANDOMWAIT"), strings.Index(msg, ":3: HOST_ROLE")
	if i < 0 || j < i {
		t.Errorf("want both lines, in order:\n%s", msg)
	}
	_, err = load(t, "PRODUCT=shop\nA='x\nB=\"y\n")
	if err == nil || !strings.Contains(err.Error(), ":2: A=") || !strings.Contains(err.Error(), ":3: B=") {
		t.Errorf("want both syntax errors: %v", err)
	}
	// Bad values on lines that parse are reported with the lines that do not.
	_, err = load(t, "PRODUCT=shop\nHOST_ROLE=y\nMAILTO='x\n")
	if err == nil || !strings.Contains(err.Error(), ":2: HOST_ROLE=") || !strings.Contains(err.Error(), ":3: MAILTO=") {
		t.Errorf("want the value and the syntax error: %v", err)
	}
	// A PRODUCT on a broken line is not reported missing as well.
	_, err = load(t, "PRODUCT='shop\n")
	if err == nil || strings.Contains(err.Error(), "not set") {
		t.Errorf("want only the syntax error: %v", err)
	}
}

// A bad PRODUCT or PRODUCT_ROOT is reported alone: every default path follows it, and
// a flood of follow-up errors would hide the cause.
func TestErrorsNoCascade(t *testing.T) {
	_, err := load(t, "PRODUCT=shop\nPRODUCT_ROOT=opt\nCHANGE_TREES=FileChanges=$PRODUCT_ROOT\n")
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 1 || !strings.Contains(err.Error(), "PRODUCT_ROOT=") {
		t.Errorf("want only the PRODUCT_ROOT error, got %d:\n%v", n, err)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Line: 7, Key: "DAYS_OF_WEEK", Value: "0128", Msg: "day 8 is not 0-6 (0 = Sunday)"},
			`f:7: DAYS_OF_WEEK="0128": day 8 is not 0-6 (0 = Sunday)`},
		{Error{File: "f", Env: true, Key: "K", Value: "v", Msg: "m"},
			`environment variable K="v" (overrides the settings file): m`},
		{Error{File: "f", Default: true, Key: "HOSTNAME", Value: "", Msg: "m"},
			`f: HOSTNAME="" (default): m`},
		{Error{File: "f", Line: 2, Value: "x y", Msg: "m"}, `f:2: "x y": m`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestErrorHostnameUnknown(t *testing.T) {
	saved := hostname
	t.Cleanup(func() { hostname = saved })
	hostname = func() (string, error) { return "", fmt.Errorf("uname failed") }
	_, err := load(t, "PRODUCT=shop\n")
	if err == nil || !strings.Contains(err.Error(), "HOSTNAME") || !strings.Contains(err.Error(), "uname failed") {
		t.Errorf("err = %v", err)
	}
	if c := Defaults("shop"); c.Hostname != "localhost" {
		t.Errorf("Defaults without a host name: Hostname = %q, want localhost", c.Hostname)
	}
	if c := mustLoad(t, "PRODUCT=shop\nHOSTNAME=web1\n"); c.Hostname != "web1" {
		t.Errorf("Hostname = %q", c.Hostname)
	}
}
