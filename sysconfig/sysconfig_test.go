package sysconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig/shellword"
)

// testFile is the name the tests give the settings file in messages.
const testFile = "/etc/sysconfig/shop-hotfix"

func TestMain(m *testing.M) {
	// Defaults depend on the host name; pin it so golden files do not depend on the machine.
	hostname = func() (string, error) { return "myhost.example.com", nil }
	os.Exit(m.Run())
}

// load reads settings text as Load would, without a file.
func load(t *testing.T, src string, environ ...string) (*Config, error) {
	t.Helper()
	return fromBytes(testFile, []byte(src), environ)
}

func mustLoad(t *testing.T, src string, environ ...string) *Config {
	t.Helper()
	c, err := load(t, src, environ...)
	if err != nil {
		t.Fatalf("load:\n%s\nerror: %v", src, err)
	}
	return c
}

// settingsText writes a Config back as a settings file, every value literal, so that
// loading it gives the same Config.
func settingsText(c *Config) []byte {
	var as []assignment
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		as = append(as, assignment{key: k, value: shellword.EscapeDollars(v)})
	}
	return render(as)
}

// sameConfig compares two configs apart from where they were read and their warnings.
func sameConfig(t *testing.T, got, want *Config) {
	t.Helper()
	g, w := *got, *want
	g.Warnings, w.Warnings = nil, nil
	g.File, w.File, g.Root, w.Root = "", "", "", ""
	if !reflect.DeepEqual(g, w) {
		t.Errorf("configs differ:\n got  %+v\n want %+v", g, w)
	}
}

func TestDefaultsGolden(t *testing.T) {
	env := Defaults("shop").Env()
	sort.Strings(env)
	testutil.Golden(t, "testdata/defaults-shop.golden", []byte(strings.Join(env, "\n")+"\n"))
}

func TestTemplateGolden(t *testing.T) {
	testutil.Golden(t, "testdata/template-shop.golden", Template("shop", nil))
}

func TestDefaults(t *testing.T) {
	c := Defaults("shop")
	if c.File != "/etc/sysconfig/shop-hotfix" || c.Root != "" {
		t.Errorf("File, Root = %q, %q", c.File, c.Root)
	}
	if want := []string{"--disablerepo", "*", "--enablerepo", "shop-hotfix"}; !reflect.DeepEqual(c.YumParameter, want) {
		t.Errorf("YumParameter = %q, want %q", c.YumParameter, want)
	}
	if c.Hostname != "myhost" || c.SystemName != "myhost" || c.MailFrom != "root@myhost" {
		t.Errorf("Hostname, SystemName, MailFrom = %q, %q, %q", c.Hostname, c.SystemName, c.MailFrom)
	}
	if want := []ChangeTree{{"FileChanges", "/opt/shop"}}; !reflect.DeepEqual(c.ChangeTrees, want) {
		t.Errorf("ChangeTrees = %v", c.ChangeTrees)
	}
	if c.HostRole != RoleSingle || c.RandomWait != 60 || c.ServiceWaitTime.Seconds() != 300 || !c.ServiceWaits ||
		c.CheckOnly || c.DownloadOnly || c.DaysOfWeek != "0123456" || c.Schedule != "2 4 * * *" || c.PackageManager != "auto" {
		t.Errorf("defaults of the original keys are wrong: %+v", c)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

// Defaults does not check the product, and must not fail on one that Load refuses.
func TestDefaultsBadProduct(t *testing.T) {
	for _, p := range []string{"", "Shop", "a\nb", "$x", "a'b\"c"} {
		if c := Defaults(p); c.Product != p || c.File != "/etc/sysconfig/"+p+"-hotfix" {
			t.Errorf("Defaults(%q): Product, File = %q, %q", p, c.Product, c.File)
		}
	}
}

// A file with only PRODUCT= gives Defaults, through Load and a root.
func TestLoadOnlyProductIsDefaults(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, testFile), "PRODUCT=shop\n")
	c, err := Load(root, testFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != testFile || c.Root != root {
		t.Errorf("File, Root = %q, %q", c.File, c.Root)
	}
	sameConfig(t, c, Defaults("shop"))
}

func TestLoadMissingFile(t *testing.T) {
	root := t.TempDir()
	_, err := Load(root, testFile, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, testFile)) {
		t.Fatalf("err = %v, want one naming %s", err, filepath.Join(root, testFile))
	}
}

// The template that the base RPM installs reads back as the defaults, with no warnings.
func TestTemplateRoundTrip(t *testing.T) {
	for _, product := range []string{"shop", "my-shop2"} {
		root := t.TempDir()
		path := "/etc/sysconfig/" + product + "-hotfix"
		writeFile(t, filepath.Join(root, path), string(Template(product, nil)))
		c, err := Load(root, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Warnings) != 0 {
			t.Errorf("%s: warnings: %q", product, c.Warnings)
		}
		sameConfig(t, c, Defaults(product))
	}
}

func TestTemplateOverrides(t *testing.T) {
	overrides := map[string]string{
		"PRODUCT":         "otherproduct",
		"PRODUCT_ROOT":    "/srv/$PRODUCT",
		"CHANGE_TREES":    "FileChanges=$PRODUCT_ROOT StoreTypeChanges=${PRODUCT_ROOT}/WebRoot/StoreTypes",
		"MAILTO":          `ops "on call" <ops@example.com>; $HOME \ `,
		"YUM_PARAMETER":   "--disablerepo '*' --enablerepo 'shop hotfix'",
		"HOST_ROLE":       "alpha",
		"SECONDARY_HOSTS": "web2,web3 web4",
		"NOT_A_KEY":       "x",
		"not a name":      "y",
	}
	text := string(Template("shop", overrides))
	if strings.Contains(text, "not a name") || strings.Contains(text, "otherproduct") {
		t.Errorf("template holds an override it should drop:\n%s", text)
	}
	c := mustLoad(t, text)
	if c.Product != "shop" || c.ProductRoot != "/srv/shop" {
		t.Errorf("Product, ProductRoot = %q, %q", c.Product, c.ProductRoot)
	}
	wantTrees := []ChangeTree{{"FileChanges", "/srv/shop"}, {"StoreTypeChanges", "/srv/shop/WebRoot/StoreTypes"}}
	if !reflect.DeepEqual(c.ChangeTrees, wantTrees) {
		t.Errorf("ChangeTrees = %v, want %v", c.ChangeTrees, wantTrees)
	}
	if c.MailTo != overrides["MAILTO"] {
		t.Errorf("MailTo = %q, want %q", c.MailTo, overrides["MAILTO"])
	}
	if want := []string{"--disablerepo", "*", "--enablerepo", "shop hotfix"}; !reflect.DeepEqual(c.YumParameter, want) {
		t.Errorf("YumParameter = %q", c.YumParameter)
	}
	if c.HostRole != RoleAlpha || !reflect.DeepEqual(c.SecondaryHosts, []string{"web2", "web3", "web4"}) {
		t.Errorf("HostRole, SecondaryHosts = %q, %q", c.HostRole, c.SecondaryHosts)
	}
	if c.ProductVersionFile != "/srv/shop/version.txt" {
		t.Errorf("ProductVersionFile = %q: the default should follow PRODUCT_ROOT", c.ProductVersionFile)
	}
	if !hasWarning(c, "unknown key NOT_A_KEY (ignored)") {
		t.Errorf("no warning about NOT_A_KEY: %q", c.Warnings)
	}
}

// Env, written back as a file, loads as the same Config.
func TestEnvRoundTrip(t *testing.T) {
	c := mustLoad(t, `PRODUCT=shop
PRODUCT_ROOT=/srv/shop/
PRODUCT_VERSION_CMD="/srv/shop/bin/version --short"
CHANGE_TREES="FileChanges=$PRODUCT_ROOT Store=/srv/x/../types"
YUM_PARAMETER="-q --setopt='exclude=a b' ''"
HOST_ROLE=secondary
SECONDARY_HOSTS=,a,,b
CHECK_ONLY=yes
RANDOMWAIT=+007
DAYS_OF_WEEK=531
SERVICE_WAITS=nope
SERVICE_WAIT_TIME=0
SCRIPT_ENV_FILE=
MAILTO='$USER'
SMTP_SERVER=[::1]:25
`)
	if c.ProductRoot != "/srv/shop" || c.ChangeTrees[1].Root != "/srv/types" || c.DaysOfWeek != "135" || c.RandomWait != 7 {
		t.Errorf("values not normalized: %+v", c)
	}
	if c.ProductVersionFile != "" || c.ScriptEnvFile != "" {
		t.Errorf("ProductVersionFile, ScriptEnvFile = %q, %q, want empty", c.ProductVersionFile, c.ScriptEnvFile)
	}
	if want := []string{"-q", "--setopt=exclude=a b", ""}; !reflect.DeepEqual(c.YumParameter, want) {
		t.Errorf("YumParameter = %q, want %q", c.YumParameter, want)
	}
	c2 := mustLoad(t, string(settingsText(c)))
	sameConfig(t, c2, c)
}

func TestInRoot(t *testing.T) {
	for _, tc := range []struct{ root, p, want string }{
		{"", "/etc/sysconfig/shop-hotfix", "/etc/sysconfig/shop-hotfix"},
		{"/", "/etc/sysconfig/shop-hotfix", "/etc/sysconfig/shop-hotfix"},
		{"/tmp/host1", "/etc/sysconfig/shop-hotfix", "/tmp/host1/etc/sysconfig/shop-hotfix"},
		{"/tmp/host1/", "/opt/shop/", "/tmp/host1/opt/shop"},
		{"/tmp/host1", "/../../etc/passwd", "/tmp/host1/etc/passwd"},
		{"rel", "/var/lib/x", "rel/var/lib/x"},
	} {
		c := &Config{Root: tc.root}
		if got := c.InRoot(tc.p); got != tc.want {
			t.Errorf("Config{Root: %q}.InRoot(%q) = %q, want %q", tc.root, tc.p, got, tc.want)
		}
	}
}

func hasWarning(c *Config, sub string) bool {
	for _, w := range c.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
