package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

func TestChainProblems(t *testing.T) {
	cfg := &sysconfig.Config{Product: "shop", Hostname: "h1", PatchesDir: "/p"}
	v := func(s string) hotfix.Version {
		x, err := hotfix.ParseHotfixVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	pkg := func(s string) dnf.Package {
		return dnf.Package{Name: hotfix.PackageName("shop", v(s)), Version: "1-0", Hotfix: v(s)}
	}
	vs := func(ss ...string) []hotfix.Version {
		var out []hotfix.Version
		for _, s := range ss {
			out = append(out, v(s))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		installed []dnf.Package
		applied   []hotfix.Version
		wanted    []hotfix.Version
		failed    hotfix.Version
		want      []string
	}{
		{"all good", []dnf.Package{pkg("1.0.1"), pkg("1.0.2")}, vs("1.0.1", "1.0.2"), vs("1.0.1", "1.0.2"), nil, nil},
		{"applied from a tarball, no package", nil, vs("1.0.1"), nil, nil, nil},
		{"apply did not run", []dnf.Package{pkg("1.0.1"), pkg("1.0.2")}, vs("1.0.1"), nil, nil,
			[]string{"hotfix 1.0.2 is installed (shop-hotfix-1_0_2-1-0) but not applied: its apply did not run; see /p/shop-hotfix-1.0.2/shop-hotfix-1.0.2-install-h1.log, then run hotchain apply /p/shop-hotfix-1.0.2"}},
		{"apply failed, the next waits", []dnf.Package{pkg("1.0.1"), pkg("1.0.2"), pkg("1.0.3")}, vs("1.0.1"), nil, v("1.0.2"),
			[]string{"hotfix 1.0.2 is installed (shop-hotfix-1_0_2-1-0) but not applied: its apply failed: migration failed; see /p/shop-hotfix-1.0.2/shop-hotfix-1.0.2-install-h1.log, then run hotchain apply /p/shop-hotfix-1.0.2",
				"hotfix 1.0.3 is installed (shop-hotfix-1_0_3-1-0) but not applied: it waits for 1.0.2; see /p/shop-hotfix-1.0.3/shop-hotfix-1.0.3-install-h1.log, then run hotchain apply /p/shop-hotfix-1.0.3"}},
		{"out of order", nil, vs("1.0.2", "1.0.1"), nil, nil,
			[]string{"hotfix 1.0.2 is applied out of order: 1.0.1 is not applied before it (h1.txt)"}},
		{"twice", nil, vs("1.0.1", "1.0.1"), nil, nil, []string{"hotfix 1.0.1 is applied twice (h1.txt)"}},
		{"not installed", []dnf.Package{pkg("1.0.1")}, vs("1.0.1"), vs("1.0.1", "1.0.2"), nil,
			[]string{"hotfix 1.0.2 was not installed although the package manager reported success"}},
	} {
		got := chainProblems(cfg, tc.installed, tc.applied, tc.wanted, tc.failed, errors.New("migration failed"))
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
