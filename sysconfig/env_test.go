package sysconfig

import (
	"reflect"
	"strings"
	"testing"
)

func TestEnvironmentOverrides(t *testing.T) {
	file := "PRODUCT=shop\nMAILTO=ops@example.com\nRANDOMWAIT=10\n"
	c := mustLoad(t, file,
		"PATH=/usr/bin",
		"MAILTO=root",
		"PRODUCT_ROOT=/srv/shop",
		"CHECK_ONLY=yes",
		"YUM_PARAMETER=--enablerepo 'a b'",
		"NOT_A_SETTING=1",
		"RANDOMWAIT=0",
		"RANDOMWAIT=99", // the first entry wins, as with os.Getenv
	)
	if c.MailTo != "root" || !c.CheckOnly || c.RandomWait != 0 {
		t.Errorf("MailTo, CheckOnly, RandomWait = %q, %v, %d", c.MailTo, c.CheckOnly, c.RandomWait)
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
		testFile + `:2: MAILTO: the environment variable MAILTO="root" overrides this line ("ops@example.com")`,
		testFile + `:3: RANDOMWAIT: the environment variable RANDOMWAIT="0" overrides this line ("10")`,
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(c.Warnings, "\n"), strings.Join(want, "\n"))
	}
}

// An environment variable set to the same value as the file is no news.
func TestEnvironmentSameValueNoWarning(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nMAILTO=root\n", "MAILTO=root", "PRODUCT=shop")
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

// An empty environment variable is set: it overrides the file, like an empty line would.
func TestEnvironmentEmpty(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nMAILTO=root\n", "MAILTO=")
	if c.MailTo != "" {
		t.Errorf("MailTo = %q, want empty", c.MailTo)
	}
}

// References in an environment value expand as in the file; other dollars stay.
func TestEnvironmentReferences(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\n",
		"CHANGE_TREES=FileChanges=$PRODUCT_ROOT Store=${PRODUCT_ROOT}/st",
		"MAILTO=$USER",
		"PATCHES_DIR=/p/$PRODUCT/$$")
	want := []ChangeTree{{"FileChanges", "/opt/shop"}, {"Store", "/opt/shop/st"}}
	if !reflect.DeepEqual(c.ChangeTrees, want) || c.MailTo != "$USER" || c.PatchesDir != "/p/shop/$$" {
		t.Errorf("ChangeTrees, MailTo, PatchesDir = %v, %q, %q", c.ChangeTrees, c.MailTo, c.PatchesDir)
	}
}

// SPEC: the environment overrides the file, HOSTNAME included, even though login shells
// export it; the override is warned about because the ledger is named after it.
func TestEnvironmentHostname(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\n", "HOSTNAME=myhost.example.com")
	if c.Hostname != "myhost.example.com" || c.SystemName != "myhost.example.com" || c.MailFrom != "root@myhost.example.com" {
		t.Errorf("Hostname, SystemName, MailFrom = %q, %q, %q", c.Hostname, c.SystemName, c.MailFrom)
	}
	if !hasWarning(c, `environment variable HOSTNAME="myhost.example.com" overrides the short host name "myhost"`) {
		t.Errorf("warnings: %q", c.Warnings)
	}
	c = mustLoad(t, "PRODUCT=shop\nHOSTNAME=web1\n", "HOSTNAME=web1.example.com")
	if c.Hostname != "web1.example.com" || !hasWarning(c, testFile+`:2: HOSTNAME: the environment variable HOSTNAME="web1.example.com" overrides this line ("web1")`) {
		t.Errorf("Hostname = %q, warnings %q", c.Hostname, c.Warnings)
	}
	// The short name itself, or an empty HOSTNAME, changes nothing.
	for _, env := range []string{"HOSTNAME=myhost", "HOSTNAME="} {
		if c := mustLoad(t, "PRODUCT=shop\n", env); c.Hostname != "myhost" || len(c.Warnings) != 0 {
			t.Errorf("%s: Hostname = %q, warnings %q", env, c.Hostname, c.Warnings)
		}
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
