package sysconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	type file struct{ name, text string }
	for _, tc := range []struct {
		name    string
		files   []file
		environ []string
		want    string // the path found, or
		errs    []string
	}{
		{name: "no sysconfig directory", errs: []string{"no *-hotfix file in /etc/sysconfig inside ", "pass -config FILE"}},
		{name: "none", files: []file{{"network", "PRODUCT=shop\n"}, {"hotfix", "PRODUCT=shop\n"}},
			errs: []string{"no *-hotfix file in /etc/sysconfig", "pass -config FILE"}},
		{name: "one", files: []file{{"shop-hotfix", "# hi\nexport PRODUCT='shop'\n"}, {"network", "x=1\n"}},
			want: "/etc/sysconfig/shop-hotfix"},
		{name: "one of two sets PRODUCT", files: []file{{"shop-hotfix", "PRODUCT=shop\n"}, {"yum-hotfix", "#PRODUCT=yum\nCHECK_ONLY=no\n"}},
			want: "/etc/sysconfig/shop-hotfix"},
		{name: "a broken file still counts when it sets PRODUCT",
			files: []file{{"shop-hotfix", "PRODUCT=shop\nMAILTO='x\n"}}, want: "/etc/sysconfig/shop-hotfix"},
		{name: "none sets PRODUCT", files: []file{{"yum-hotfix", "CHECK_ONLY=no\n"}},
			errs: []string{"none of /etc/sysconfig/yum-hotfix sets PRODUCT", "pass -config FILE"}},
		{name: "two", files: []file{{"shop-hotfix", "PRODUCT=shop\n"}, {"blog-hotfix", "PRODUCT=blog\n"}},
			errs: []string{"2 settings files set PRODUCT", "/etc/sysconfig/blog-hotfix, /etc/sysconfig/shop-hotfix", "pass -config FILE"}},
		{name: "HOTCHAIN_CONFIG wins", files: []file{{"shop-hotfix", "PRODUCT=shop\n"}, {"blog-hotfix", "PRODUCT=blog\n"}},
			environ: []string{"HOTCHAIN_CONFIG=/etc/sysconfig/blog-hotfix"}, want: "/etc/sysconfig/blog-hotfix"},
		{name: "HOTCHAIN_CONFIG missing", environ: []string{"HOTCHAIN_CONFIG=/etc/nope"},
			errs: []string{"HOTCHAIN_CONFIG", "/etc/nope"}},
		{name: "empty HOTCHAIN_CONFIG is unset", files: []file{{"shop-hotfix", "PRODUCT=shop\n"}},
			environ: []string{"HOTCHAIN_CONFIG="}, want: "/etc/sysconfig/shop-hotfix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				writeFile(t, filepath.Join(root, "etc/sysconfig", f.name), f.text)
			}
			got, err := Locate(root, tc.environ)
			if tc.errs == nil {
				if err != nil || got != tc.want {
					t.Errorf("Locate = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Locate = %q, want an error", got)
			}
			for _, s := range tc.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if h, ok := err.(interface{ Hint() string }); !ok || !strings.Contains(h.Hint(), "-config") {
				t.Errorf("error %T has no hint naming -config", err)
			}
		})
	}
}

// Directories and dangling symlinks named *-hotfix are not settings files.
func TestLocateSkipsNonFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc/sysconfig")
	writeFile(t, filepath.Join(dir, "shop-hotfix"), "PRODUCT=shop\n")
	if err := os.Mkdir(filepath.Join(dir, "dir-hotfix"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent", filepath.Join(dir, "gone-hotfix")); err != nil {
		t.Fatal(err)
	}
	if got, err := Locate(root, nil); err != nil || got != "/etc/sysconfig/shop-hotfix" {
		t.Errorf("Locate = %q, %v", got, err)
	}
}

// Locate and Load together, as a command without -config runs them.
func TestLocateThenLoad(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/sysconfig/shop-hotfix"), string(Template("shop", map[string]string{"HOST_ROLE": "alpha"})))
	p, err := Locate(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(root, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HostRole != RoleAlpha || c.File != "/etc/sysconfig/shop-hotfix" || c.InRoot(c.LedgerDir) != filepath.Join(root, "etc/opt/shop/hotfix") {
		t.Errorf("HostRole, File, InRoot(LedgerDir) = %q, %q, %q", c.HostRole, c.File, c.InRoot(c.LedgerDir))
	}
}
