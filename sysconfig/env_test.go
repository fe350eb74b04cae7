package sysconfig

import (
	"reflect"
	"strings"
	"testing"
)

func TestEnvironmentOverrides(t *testing.T) {
	file := "PRODUCT=shop\nSYSTEMNAME=web\nRANDOMWAIT=10\n"
	c := mustLoad(t, file,
		"PATH=/usr/bin",
		"SYSTEMNAME=shop1",
		"PRODUCT_ROOT=/srv/shop",
		"CHECK_ONLY=yes",
		"YUM_PARAMETER=--enablerepo 'a b'",
		"NOT_A_SETTING=1",
		"RANDOMWAIT=99",
		"RANDOMWAIT=0", // the last entry wins, as in what os/exec gives a child
	)
	if c.SystemName != "shop1" || !c.CheckOnly || c.RandomWait != 0 {
		t.Errorf("SystemName, CheckOnly, RandomWait = %q, %v, %d", c.SystemName, c.CheckOnly, c.RandomWait)
	}
	// Defaults that follow PRODUCT_ROOT follow one from the environment too.
	if c.ProductRoot != "/srv/shop" || c.ProductVersionFile != "/srv/shop/version.txt" ||
		!reflect.DeepEqual(c.ChangeTrees, []ChangeTree{{"FileChanges", "/srv/shop"}}) {
		t.Errorf("ProductRoot, ProductVersionFile, ChangeTrees = %q, %q, %v", c.ProductRoot, c.ProductVersionFile, c.ChangeTrees)
	}
	if !reflect.DeepEqual(c.YumParameter, []string{"--enablerepo", "a b"}) {
		t.Errorf("YumParameter = %q", c.YumParameter)
	}
	want := []string{
		testFile + `:2: SYSTEMNAME: the environment variable SYSTEMNAME="shop1" overrides this line ("web")`,
		testFile + `:3: RANDOMWAIT: the environment variable RANDOMWAIT="0" overrides this line ("10")`,
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(c.Warnings, "\n"), strings.Join(want, "\n"))
	}
}

// An environment variable set to the same value as the file is no news.
func TestEnvironmentSameValueNoWarning(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nSYSTEMNAME=web\n", "SYSTEMNAME=web", "PRODUCT=shop")
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

// An empty environment variable is set: it overrides the file, like an empty line would.
func TestEnvironmentEmpty(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nPRE_HOOK=/bin/true\n", "PRE_HOOK=")
	if c.PreHook != "" {
		t.Errorf("PreHook = %q, want empty", c.PreHook)
	}
}

// References in an environment value expand as in the file; other dollars stay.
func TestEnvironmentReferences(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\n",
		"CHANGE_TREES=FileChanges=$PRODUCT_ROOT Store=${PRODUCT_ROOT}/st",
		"SYSTEMNAME=$USER",
		"PATCHES_DIR=/p/$PRODUCT/$$")
	want := []ChangeTree{{"FileChanges", "/opt/shop"}, {"Store", "/opt/shop/st"}}
	if !reflect.DeepEqual(c.ChangeTrees, want) || c.SystemName != "$USER" || c.PatchesDir != "/p/shop/$$" {
		t.Errorf("ChangeTrees, SystemName, PatchesDir = %v, %q, %q", c.ChangeTrees, c.SystemName, c.PatchesDir)
	}
}

// HOSTNAME and MAILTO are not taken from the environment: shells export HOSTNAME and crond
// sets MAILTO for every job, so the ledger name and the report address would change with
// who runs hotchain.
func TestEnvironmentHostnameAndMailto(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nMAILTO=ops@example.com\n", "HOSTNAME=myhost.example.com", "MAILTO=root")
	if c.Hostname != "myhost" || c.SystemName != "myhost" || c.MailTo != "ops@example.com" {
		t.Errorf("Hostname, SystemName, MailTo = %q, %q, %q", c.Hostname, c.SystemName, c.MailTo)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	c = mustLoad(t, "PRODUCT=shop\nHOSTNAME=web1\n", "HOSTNAME=web1.example.com")
	if c.Hostname != "web1" {
		t.Errorf("Hostname = %q, want the file's web1", c.Hostname)
	}
}

func TestEnv(t *testing.T) {
	env := Defaults("shop").Env()
	if len(env) != len(settings) {
		t.Fatalf("Env has %d entries, want one per key (%d)", len(env), len(settings))
	}
	for _, want := range []string{
		"PRODUCT=shop",
		"YUM_PARAMETER=--disablerepo '*' --enablerepo shop-hotfix",
		"CHANGE_TREES=FileChanges=/opt/shop",
		"SERVICE_WAIT_TIME=300",
		"HOST_ROLE=single",
		"PRE_HOOK=",
	} {
		found := false
		for _, kv := range env {
			found = found || kv == want
		}
		if !found {
			t.Errorf("Env lacks %q: %q", want, env)
		}
	}
}

func TestLookupEnv(t *testing.T) {
	env := []string{"A=1", "B=", "A=2", "NOEQUALS", "C=x=y"}
	for _, tc := range []struct {
		key, want string
		found     bool
	}{
		{"A", "2", true}, {"B", "", true}, {"C", "x=y", true}, {"NOEQUALS", "", false}, {"D", "", false},
	} {
		if v, ok := LookupEnv(env, tc.key); v != tc.want || ok != tc.found {
			t.Errorf("%s: %q, %v; want %q, %v", tc.key, v, ok, tc.want, tc.found)
		}
	}
}
