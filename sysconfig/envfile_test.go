package sysconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadEnvFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "shop")
	src := `# /etc/default/shop
SHOP=/opt/shop
SHOP_CARTRIDGES=$SHOP/Cartridges
export PERL="$SHOP/perl/bin/perl"
CUSTOM_STORETYPES='MyStoreType MyOtherStoreType'
if [ -n "$SHOP" ]; then SHOP_CONFIG=$SHOP/Config; fi
`
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"SHOP":              "/opt/shop",
		"SHOP_CARTRIDGES":   "/opt/shop/Cartridges",
		"PERL":              "/opt/shop/perl/bin/perl",
		"CUSTOM_STORETYPES": "MyStoreType MyOtherStoreType",
		"SHOP_CONFIG":       "/opt/shop/Config",
	}
	gotm := map[string]string{}
	for _, kv := range got {
		k, v, _ := strings.Cut(kv, "=")
		gotm[k] = v
	}
	if !reflect.DeepEqual(gotm, want) {
		t.Errorf("ReadEnvFile = %v, want %v", gotm, want)
	}

	if _, err := ReadEnvFile(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("if then\n"), 0o644)
	if _, err := ReadEnvFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v, want an error naming it", err)
	}
}
