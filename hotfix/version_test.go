package hotfix

import (
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "6.14.2", want: "6.14.2"},
		{in: "6.14.2.3", want: "6.14.2.3"},
		{in: "0.0", want: "0.0"},
		{in: "", err: "empty"},
		{in: "6", err: "one component"},
		{in: "6..2", err: `component 2 ("")`},
		{in: "6.x.2", err: `component 2 ("x")`},
		{in: "6.-1.2", err: `component 2 ("-1")`},
		{in: "6.14.02", err: "leading zero"},
		{in: " 6.14", err: "not a non-negative integer"},
		{in: "6.99999999999999999999", err: "too large"},
	} {
		v, err := ParseVersion(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseVersion(%q) error = %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || v.String() != tc.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %s", tc.in, v, err, tc.want)
		}
	}
}

func TestParseHotfixVersion(t *testing.T) {
	if _, err := ParseHotfixVersion("6.14"); err == nil || !strings.Contains(err.Error(), "no sequence") {
		t.Errorf("6.14: error = %v, want no sequence", err)
	}
	if _, err := ParseHotfixVersion("6.14.2.0"); err == nil || !strings.Contains(err.Error(), "1 or more") {
		t.Errorf("6.14.2.0: error = %v, want sequence 1 or more", err)
	}
	v, err := ParseHotfixVersion("6.14.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if v.Base().String() != "6.14.2" || v.Seq() != 3 {
		t.Errorf("base, seq = %s, %d", v.Base(), v.Seq())
	}
	p, ok := v.Previous()
	if !ok || p.String() != "6.14.2.2" || v.String() != "6.14.2.3" {
		t.Errorf("previous = %s, %v (v now %s)", p, ok, v)
	}
	if _, ok := mustHotfix(t, "6.14.2.1").Previous(); ok {
		t.Error("hotfix 1 has a previous")
	}
	if n := v.Next(); n.String() != "6.14.2.4" || v.String() != "6.14.2.3" {
		t.Errorf("next = %s (v now %s)", n, v)
	}
	// Base must not alias v: appending to it would overwrite the sequence.
	b := v.Base()
	_ = append(b, 99)
	if v.Seq() != 3 {
		t.Errorf("appending to Base changed v to %s", v)
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"6.14.10", "6.14.9", 1},
		{"6.14.9", "6.14.10", -1},
		{"6.14.2", "6.14.2", 0},
		{"6.14", "6.14.0", -1},
		{"6.14.2.10", "6.14.2.2", 1},
		{"7.0", "6.99.99", 1},
	} {
		if got := mustVersion(t, tc.a).Compare(mustVersion(t, tc.b)); got != tc.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	v := mustHotfix(t, "6.14.2.3")
	for got, want := range map[string]string{
		PackageName("shop", v):    "shop-hotfix-6_14_2_3",
		DirName("shop", v):        "shop-hotfix-6.14.2.3",
		TarballName("shop", v):    "shop-hotfix-6.14.2.3.tar.gz",
		RPMFileName("shop", v, 0): "shop-hotfix-6_14_2_3-1-0.noarch.rpm",
		BasePackageName("shop"):   "shop-hotfix-base",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	for _, tc := range []struct {
		name string
		want string
	}{
		{"shop-hotfix-6_14_2_3", "6.14.2.3"},
		{"shop-hotfix-base", ""},
		{"shop-hotfix-6_14", ""},
		{"other-hotfix-6_14_2_3", ""},
		{"shop-hotfix-6.14.2.3", ""},
	} {
		v, ok := ParsePackageName("shop", tc.name)
		if (tc.want == "") == ok || (ok && v.String() != tc.want) {
			t.Errorf("ParsePackageName(%q) = %v, %v; want %q", tc.name, v, ok, tc.want)
		}
	}
}

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustHotfix(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseHotfixVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDoPatchVar(t *testing.T) {
	for product, want := range map[string]string{"shop": "SHOP_DO_PATCH", "my-shop2": "MY_SHOP2_DO_PATCH"} {
		if got := DoPatchVar(product); got != want {
			t.Errorf("DoPatchVar(%q) = %q, want %q", product, got, want)
		}
	}

}
