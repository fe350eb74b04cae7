package unpack

import "testing"

// TestNameProblem: a dropped name with a control character is refused, quoted so that the
// message stays one line; ordinary names pass.
func TestNameProblem(t *testing.T) {
	for name, want := range map[string]string{
		"shop-hotfix-bundle-6.14.2.1-6.14.2.4.tar":         "",
		"shop-hotfix-6.14.2.3.tar.gz.sig":                  "",
		"shop-hotfix-bundle-x\nexcludepkgs=*-6.14.2.4.tar": `"shop-hotfix-bundle-x\nexcludepkgs=*-6.14.2.4.tar" holds a control character (a newline, a tab): rename it; its name goes into logs, reports and the import's repository file`,
		"shop-hotfix-bundle-6.14.2.1-6.14.2.4\r.tar":       `"shop-hotfix-bundle-6.14.2.1-6.14.2.4\r.tar" holds a control character (a newline, a tab): rename it; its name goes into logs, reports and the import's repository file`,
		"shop-hotfix-6.14.2.3.tar.gz\x1b[2J":               `"shop-hotfix-6.14.2.3.tar.gz\x1b[2J" holds a control character (a newline, a tab): rename it; its name goes into logs, reports and the import's repository file`,
	} {
		if got := NameProblem(name); got != want {
			t.Errorf("NameProblem(%q) = %q, want %q", name, got, want)
		}
	}
}
