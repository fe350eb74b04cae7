package applier

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// nastyNames are file names Linux allows (any bytes but '/' and NUL, up to 255 of them)
// that text formats mangle: invalid UTF-8, line breaks, escapes, leading dashes.
var nastyNames = []string{
	"latin1-caf\xe9.pm",
	"\xff\xfe\xfd",
	"half-\xe2\x82.pm", // a UTF-8 sequence cut short
	"new\nline",
	"\nleading-newline",
	"trailing-cr\r",
	"tab\there",
	"back\\slash",
	"a\\nb", // a backslash and an n, not a newline
	"-leading-dash",
	"--",
	" spaces  ",
	"\x01\x1b[31mcontrol",
	"unicode-ünï©ødé",
	"\"quoted\"",
	"*?[glob]",
	strings.Repeat("L", 255),
	strings.Repeat("\xe9", 255),
}

// nastyHotfix makes a sandbox whose product holds every nasty name in a nasty directory
// (the hotfix replaces those), and a hotfix that also adds each name in another nasty
// directory, with a filelist.txt when withFilelist.
func nastyHotfix(t *testing.T, withFilelist bool) (*sandbox, string) {
	t.Helper()
	sb := newSandbox(t, sysconfig.RoleSingle)
	spec := hotfixSpec{version: "6.14.2.1", files: map[string]string{}, links: map[string]string{}}
	for i, n := range nastyNames {
		sb.write("opt/shop/old\xe9dir\n/"+n, fmt.Sprintf("old %d\n", i), 0o644)
		spec.files["FileChanges/old\xe9dir\n/"+n] = fmt.Sprintf("new %d\n", i)
		spec.files["FileChanges/new\xfedir\\n/"+n] = fmt.Sprintf("added %d\n", i)
	}
	spec.links["FileChanges/link\xff"] = "old\xe9dir\n/" + nastyNames[0]
	sb.touchAll()
	dir := sb.makeHotfix(spec)
	if !withFilelist {
		return sb, dir
	}
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hotfix.FilelistFile), d.Filelist(), 0o644); err != nil {
		t.Fatal(err)
	}
	return sb, dir
}

// TestNastyNames: every name Linux allows goes through apply and rollback byte-exact, and
// filelist.txt lists it as sha256sum does, so that both hotchain and sha256sum -c check it.
func TestNastyNames(t *testing.T) {
	for _, withFilelist := range []bool{false, true} {
		t.Run(fmt.Sprintf("filelist=%v", withFilelist), func(t *testing.T) { testNastyNames(t, withFilelist) })
	}
}

func testNastyNames(t *testing.T, withFilelist bool) {
	ctx := context.Background()
	sb, dir := nastyHotfix(t, withFilelist)
	if _, err := exec.LookPath("sha256sum"); err == nil && withFilelist {
		cmd := exec.Command("sha256sum", "--strict", "-c", hotfix.FilelistFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c filelist.txt: %v\n%s", err, out)
		}
	}
	before := testutil.Snapshot(t, sb.root, true, productTrees...)
	if err := sb.host.Apply(ctx, dir, ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, sb.out)
	}
	for i, n := range nastyNames {
		assertFile(t, filepath.Join(sb.root, "opt/shop/old\xe9dir\n", n), fmt.Sprintf("new %d\n", i))
		assertFile(t, filepath.Join(sb.root, "opt/shop/new\xfedir\\n", n), fmt.Sprintf("added %d\n", i))
	}
	if drift, n, err := sb.host.Verify(); err != nil || len(drift) > 0 || n != 2*len(nastyNames)+1 {
		t.Errorf("verify after apply: %d checked, drift %v, %v", n, drift, err)
	}
	if err := sb.host.Rollback(ctx, nil, nil); err != nil {
		t.Fatalf("rollback: %v\n%s", err, sb.out)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
		t.Fatalf("after rollback:\n%s", d)
	}
}

// TestNastyNamesCrash kills applies of the nasty hotfix at several of its durable steps;
// the journal they leave must let the next rollback put every name back byte-exact.
func TestNastyNamesCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills applies; skipped with -short")
	}
	ctx := context.Background()
	ref, refDir := nastyHotfix(t, true)
	steps := 0
	ref.host.StepHook = func(string) { steps++ }
	if err := ref.host.Apply(ctx, refDir, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{steps / 4, steps / 2, 3 * steps / 4} {
		sb, dir := nastyHotfix(t, true)
		before := testutil.Snapshot(t, sb.root, true, productTrees...)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", crashEnv, sb.root, dir, at))
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || !ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Fatalf("step %d: apply was not killed: %v", at, err)
		}
		if err := sb.host.Rollback(ctx, nil, nil); err != nil {
			t.Fatalf("step %d: rollback: %v\n%s", at, err, sb.out)
		}
		if d := testutil.DiffTrees(before, testutil.Snapshot(t, sb.root, true, productTrees...)); d != "" {
			t.Fatalf("step %d: after rollback:\n%s", at, d)
		}
	}
}

// TestJournalNames: every name goes through the journal unchanged; a valid UTF-8 name is
// written as before (a plain JSON string), so journals of earlier applies still read.
func TestJournalNames(t *testing.T) {
	for _, n := range append([]string{"lib/Shop/Core.pm", "", "<&>"}, nastyNames...) {
		j := &journal.Journal{Version: "6.14.2.1", State: journal.StateDone,
			Ops:         []journal.Op{{Tree: "FileChanges", Rel: n, Target: "/opt/shop/" + n, Kind: journal.KindLink, Link: n, Mode: 0o644}},
			Dirs:        []journal.DirTime{{Path: "/opt/" + n}},
			ScriptsDone: []string{n + ".sh"}}
		p := filepath.Join(t.TempDir(), "j")
		if err := journal.Write(p, j); err != nil {
			t.Fatal(err)
		}
		got, err := journal.Read(p)
		if err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		o, d := got.Ops[0], got.Dirs[0]
		if o.Rel != n || o.Target != "/opt/shop/"+n || o.Link != n || d.Path != "/opt/"+n || got.ScriptsDone[0] != n+".sh" || o.Mode != 0o644 || o.Kind != journal.KindLink {
			t.Errorf("%q came back as %+v, %+v, %q", n, o, d, got.ScriptsDone)
		}
		raw, _ := os.ReadFile(p)
		if plain := utf8.ValidString(n); plain == strings.Contains(string(raw), `_base64"`) {
			t.Errorf("%q (valid UTF-8: %v) written as\n%s", n, plain, raw)
		}
	}
	// A journal written before names could be bytes.
	old := `{"version":"6.14.2.1","host":"h","role":"single","state":"done","started":"2026-01-02T03:04:05Z",
	"ops":[{"tree":"FileChanges","rel":"lib/a\u00e9","target":"/opt/shop/lib/a\u00e9","kind":"file","existed":"file","mode":420,"sha256":"ab"}],
	"dirs":[{"path":"/opt/shop/lib","mtime":"2026-01-02T03:04:05Z"}],"scripts_done":["10-db.sh"]}`
	var j journal.Journal
	if err := json.Unmarshal([]byte(old), &j); err != nil {
		t.Fatal(err)
	}
	want := journal.Op{Tree: "FileChanges", Rel: "lib/aé", Target: "/opt/shop/lib/aé", Kind: journal.KindFile, Existed: journal.KindFile, Mode: 0o644, SHA256: "ab"}
	if len(j.Ops) != 1 || j.Ops[0] != want || j.Dirs[0].Path != "/opt/shop/lib" || !j.Dirs[0].ModTime.Equal(epoch) || j.ScriptsDone[0] != "10-db.sh" || j.Host != "h" {
		t.Errorf("old journal read as %+v", j)
	}
}

// TestNameLines: filelist.txt and Backup-<host>.inexistent lines read back as the names.
func TestNameLines(t *testing.T) {
	text := string(hotfix.NameLines(nastyNames))
	if got := strings.Count(text, "\n"); got != len(nastyNames) {
		t.Fatalf("%d lines for %d names:\n%q", got, len(nastyNames), text)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		name := line
		if rest, ok := strings.CutPrefix(line, `\`); ok {
			var err error
			if name, err = hotfix.UnescapeName(rest); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
		}
		seen[name] = true
	}
	for _, n := range nastyNames {
		if !seen[n] {
			t.Errorf("%q did not come back", n)
		}
	}
	for _, bad := range []string{`a\`, `a\t`, `\x41`} {
		if _, err := hotfix.UnescapeName(bad); err == nil {
			t.Errorf("UnescapeName(%q) took it", bad)
		}
	}
}
