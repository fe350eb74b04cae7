package hotfix

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseRestart(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Restart
		err  string // the error holds it; "" for none
	}{
		{text: "", want: Restart{Kind: RestartNone}},
		{text: "none\n", want: Restart{Kind: RestartNone}},
		{text: "# comment\n\n  product  \n", want: Restart{Kind: RestartProduct}},
		{text: "reboot", want: Restart{Kind: RestartReboot}},
		{text: "services shop-web shop-worker@2.service shop-web\n", want: Restart{Kind: RestartServices, Services: []string{"shop-web", "shop-worker@2.service"}}},
		{text: "services\n", err: `p:1: "services" needs at least one service name`},
		{text: "\nreboot now\n", err: `p:2: "reboot" takes no names, got "now"`},
		{text: "product\nreboot\n", err: `p:2: a second requirement "reboot"`},
		{text: "restart\n", err: `p:1: "restart" is not a requirement`},
		{text: "services -x\n", err: `service name "-x" starts with a dash`},
		{text: "services a$(id)\n", err: `service name "a$(id)" holds '$'`},
		{text: "services " + strings.Repeat("a", 256) + "\n", err: "longer than 255 bytes"},
	} {
		got, err := ParseRestart("p", tc.text)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one with %q", tc.text, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.text, err)
		case tc.err == "" && !reflect.DeepEqual(got, tc.want):
			t.Errorf("%q: got %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestReadRestartBounded(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, RestartFile)
	if r, err := ReadRestart(p); err != nil || r.Kind != RestartNone {
		t.Fatalf("no file: %+v, %v; want none", r, err)
	}
	if err := os.WriteFile(p, []byte("services "+strings.Repeat("a ", MaxRestartFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRestart(p); err == nil || !strings.Contains(err.Error(), "restart requirement") {
		t.Fatalf("a file over the limit: %v, want the too-large error", err)
	}
}
