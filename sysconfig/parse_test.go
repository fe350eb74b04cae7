package sysconfig

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseValues pins how one line of the file reads: the value is what Config.MailTo
// (a key that takes any text) ends up holding.
func TestParseValues(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"bare", `MAILTO=root`, "root"},
		{"empty", `MAILTO=`, ""},
		{"empty quotes", `MAILTO=""`, ""},
		{"single quotes", `MAILTO='a b  c'`, "a b  c"},
		{"single quotes keep backslash and dollar", `MAILTO='a\"b $HOME \\'`, `a\"b $HOME \\`},
		{"double quotes", `MAILTO="a b"`, "a b"},
		{"double quote escapes", `MAILTO="q\" b\\ d\$ t\` + "`" + `"`, "q\" b\\ d$ t`"},
		{"backslash kept before other bytes in double quotes", `MAILTO="C:\dir\n"`, `C:\dir\n`},
		{"backslash outside quotes", `MAILTO=a\ b\$c\\`, `a b$c\`},
		{"adjacent quoted parts", `MAILTO=a'b c'"d e"f`, "ab cd ef"},
		{"single quote inside double", `MAILTO="it's"`, "it's"},
		{"export", `export MAILTO=root`, "root"},
		{"export with tabs", "export\t\tMAILTO=root", "root"},
		{"leading blanks", "  \tMAILTO=root", "root"},
		{"comment after value", `MAILTO=root # the admin`, "root"},
		{"comment after quoted value", `MAILTO="a # b"	# c`, "a # b"},
		{"hash inside a word", `MAILTO=a#b`, "a#b"},
		{"hash at the start of the value", `MAILTO=#root`, "#root"},
		{"comment right after =", `MAILTO= # nobody`, ""},
		{"trailing blanks", "MAILTO=root  \t", "root"},
		{"CRLF", "MAILTO=root\r", "root"},
		{"CR inside quotes", "MAILTO='a\rb'\r", "a\rb"},
		{"equals in value", `MAILTO=a=b=c`, "a=b=c"},
		{"unknown variable taken literally", `MAILTO=$USER@${DOMAIN}`, "$USER@${DOMAIN}"},
		{"reference taken literally outside paths", `MAILTO=$PRODUCT@example.com`, "$PRODUCT@example.com"},
		{"lone dollar", `MAILTO=a$`, "a$"},
		{"invalid UTF-8 kept", "MAILTO=a\xffb", "a\xffb"},
		{"utf-8", `MAILTO="Jörg <j@example.com>"`, "Jörg <j@example.com>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, "PRODUCT=shop\n"+tc.line+"\n")
			if c.MailTo != tc.want {
				t.Errorf("%s gives MailTo %q, want %q", tc.line, c.MailTo, tc.want)
			}
		})
	}
}

// TestParseExpansion pins which references expand: $PRODUCT and $PRODUCT_ROOT, in
// paths and CHANGE_TREES, unless quoted with '...' or escaped.
func TestParseExpansion(t *testing.T) {
	for _, tc := range []struct {
		name, lines, want string // want: PatchesDir
	}{
		{"bare", `PATCHES_DIR=$PRODUCT_ROOT/Patches`, "/srv/shop/Patches"},
		{"braces", `PATCHES_DIR=${PRODUCT_ROOT}/Patches`, "/srv/shop/Patches"},
		{"double quotes", `PATCHES_DIR="$PRODUCT_ROOT/P $PRODUCT"`, "/srv/shop/P shop"},
		{"product", `PATCHES_DIR=/var/opt/$PRODUCT-x/${PRODUCT}_y`, "/var/opt/shop-x/shop_y"},
		{"not a reference: longer name", `PATCHES_DIR=/x/$PRODUCTS`, "/x/$PRODUCTS"},
		{"escaped", `PATCHES_DIR=/x/\$PRODUCT`, "/x/$PRODUCT"},
		{"escaped in double quotes", `PATCHES_DIR="/x/\$PRODUCT"`, "/x/$PRODUCT"},
		{"single quotes", `PATCHES_DIR='/x/$PRODUCT'`, "/x/$PRODUCT"},
		{"quoted text right after a bare reference", `PATCHES_DIR=/x/$PRODUCT"_ROOT"/'a'$PRODUCT\_b`, "/x/shop_ROOT/ashop_b"}, // found by FuzzParse
		{"follows PRODUCT_ROOT set later in the file", "PATCHES_DIR=$PRODUCT_ROOT/late\nPRODUCT_ROOT=/late", "/late/late"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, "PRODUCT=shop\nPRODUCT_ROOT=/srv/$PRODUCT\n"+tc.lines+"\n")
			if c.PatchesDir != tc.want {
				t.Errorf("PatchesDir = %q, want %q", c.PatchesDir, tc.want)
			}
		})
	}
}

func TestParseLaterLineWins(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nRANDOMWAIT=5\nRANDOMWAIT=7\n")
	if c.RandomWait != 7 {
		t.Errorf("RandomWait = %d, want 7", c.RandomWait)
	}
	if !hasWarning(c, testFile+":3: RANDOMWAIT is set again (first on line 2)") {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestParseBOM(t *testing.T) {
	if c := mustLoad(t, "\uFEFFPRODUCT=shop\n"); c.Product != "shop" {
		t.Errorf("Product = %q", c.Product)
	}
}

func TestWarnings(t *testing.T) {
	c := mustLoad(t, `PRODUCT=shop
RANDOM_WAIT=5
FOO=bar
CHECK_ONLY=Yes
MAILTO=$USER
PRE_HOOK="$PRODUCT_ROOT/bin/close"
DOWNLOAD_ONLY=
`)
	want := []string{
		testFile + ":2: unknown key RANDOM_WAIT (ignored); did you mean RANDOMWAIT?",
		testFile + ":3: unknown key FOO (ignored)",
		testFile + `:4: CHECK_ONLY="Yes" is taken as no (only yes means yes)`,
		testFile + ":5: MAILTO: $USER is taken literally: only $PRODUCT and $PRODUCT_ROOT are expanded, and only in paths and CHANGE_TREES",
		testFile + ":6: PRE_HOOK: $PRODUCT_ROOT is taken literally: only $PRODUCT and $PRODUCT_ROOT are expanded, and only in paths and CHANGE_TREES",
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(c.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if c.CheckOnly || c.DownloadOnly {
		t.Errorf("CheckOnly, DownloadOnly = %v, %v; want false", c.CheckOnly, c.DownloadOnly)
	}
}

func TestCommandValues(t *testing.T) {
	c := mustLoad(t, `PRODUCT=shop
PRODUCT_VERSION_CMD="/opt/shop/bin/version --format 'short form'"
PRE_HOOK='/bin/sh -c "close shop"'
POST_HOOK="# nothing"
`)
	if c.ProductVersionFile != "" {
		t.Errorf("ProductVersionFile = %q, want empty when PRODUCT_VERSION_CMD is set", c.ProductVersionFile)
	}
	words, err := Split(c.ProductVersionCmd)
	if err != nil || !reflect.DeepEqual(words, []string{"/opt/shop/bin/version", "--format", "short form"}) {
		t.Errorf("Split(ProductVersionCmd) = %q, %v", words, err)
	}
	words, err = Split(c.PreHook)
	if err != nil || !reflect.DeepEqual(words, []string{"/bin/sh", "-c", "close shop"}) {
		t.Errorf("Split(PreHook) = %q, %v", words, err)
	}
	if c.PostHook != "" {
		t.Errorf("PostHook = %q, want empty (only a comment)", c.PostHook)
	}
	// An empty PRODUCT_VERSION_FILE means the default, so it does not clash with the command.
	c = mustLoad(t, "PRODUCT=shop\nPRODUCT_VERSION_FILE=\nPRODUCT_VERSION_CMD=/bin/v\n")
	if c.ProductVersionFile != "" || c.ProductVersionCmd != "/bin/v" {
		t.Errorf("ProductVersionFile, ProductVersionCmd = %q, %q", c.ProductVersionFile, c.ProductVersionCmd)
	}
}

func TestEmptyMeansDefault(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nHOSTNAME=\nSYSTEMNAME=\nMAILFROM=\nPRODUCT_VERSION_FILE=\n")
	if c.Hostname != "myhost" || c.SystemName != "myhost" || c.MailFrom != "root@myhost" || c.ProductVersionFile != "/opt/shop/version.txt" {
		t.Errorf("Hostname, SystemName, MailFrom, ProductVersionFile = %q, %q, %q, %q", c.Hostname, c.SystemName, c.MailFrom, c.ProductVersionFile)
	}
	c = mustLoad(t, "PRODUCT=shop\nHOSTNAME=web1\n")
	if c.SystemName != "web1" || c.MailFrom != "root@web1" {
		t.Errorf("SystemName, MailFrom = %q, %q: they should follow HOSTNAME", c.SystemName, c.MailFrom)
	}
}

// CANARY is yes or no like CHECK_ONLY: anything else is no, with a warning that names the
// line; AUTO_ROLLBACK takes withdrawn, no or nothing (TestErrors has its bad values).
func TestRolloutSettings(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nCANARY=true\nAUTO_ROLLBACK=withdrawn\n")
	want := []string{testFile + `:2: CANARY="true" is taken as no (only yes means yes)`}
	if c.Canary || c.AutoRollback != AutoRollbackWithdrawn || !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("Canary %v, AutoRollback %q, warnings %q", c.Canary, c.AutoRollback, c.Warnings)
	}
	c = mustLoad(t, "PRODUCT=shop\nCANARY=yes\nAUTO_ROLLBACK=no\n")
	if !c.Canary || c.AutoRollback != "" || len(c.Warnings) != 0 {
		t.Errorf("Canary %v, AutoRollback %q, warnings %q", c.Canary, c.AutoRollback, c.Warnings)
	}
	if c := mustLoad(t, "PRODUCT=shop\n"); c.Canary || c.AutoRollback != "" {
		t.Errorf("defaults: Canary %v, AutoRollback %q", c.Canary, c.AutoRollback)
	}
}
