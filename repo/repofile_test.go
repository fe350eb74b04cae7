package repo

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRepoFileURLs(t *testing.T) {
	tests := []struct{ root, want string }{
		{"https://updates.example.com/shop", "https://updates.example.com/shop/6.14.2/"},
		{"https://updates.example.com/shop/", "https://updates.example.com/shop/6.14.2/"},
		{"https://updates.example.com/shop/6.14.2", "https://updates.example.com/shop/6.14.2/"},
		{"file:///srv/repo", "file:///srv/repo/6.14.2/"},
		{"http://10.0.0.1:8000", "http://10.0.0.1:8000/6.14.2/"},
	}
	for _, tt := range tests {
		if got := versionURL(tt.root, "6.14.2"); got != tt.want {
			t.Errorf("versionURL(%q) = %q, want %q", tt.root, got, tt.want)
		}
	}
}

func TestRewriteBaseVersion(t *testing.T) {
	urls := []string{"https://updates.shop.example/hotfix", "file:///srv/mirror/shop"}
	dir := t.TempDir()
	path := filepath.Join(dir, "shop-hotfix.repo")
	if err := os.WriteFile(path, RepoFile("shop", "6.14.2", urls, true), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := RewriteBaseVersion(path, "6.15.10"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := RepoFile("shop", "6.15.10", urls, true); string(got) != string(want) {
		t.Errorf("rewritten file:\n%s\nwant what repo writes for 6.15.10:\n%s", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in the directory: %v", entries)
	}
	// The same version again writes nothing.
	before, _ := os.Stat(path)
	if err := RewriteBaseVersion(path, "6.15.10"); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, after) {
		t.Error("file rewritten although nothing changed")
	}
}

func TestRewriteBaseVersionHandEdited(t *testing.T) {
	in := "[shop-hotfix]\r\nname = Shop 6.14.2 hotfixes (not 6.14.20)\r\nbaseurl = http://a.example/r/6.14.2/,http://b.example/r/6.14.2 \r\n\thttp://c.example/6.14.2//\r\ngpgcheck=1\r\n"
	want := "[shop-hotfix]\r\nname = Shop 7.0 hotfixes (not 6.14.20)\r\nbaseurl = http://a.example/r/7.0/,http://b.example/r/7.0 \r\n\thttp://c.example/7.0//\r\ngpgcheck=1\r\n"
	got, err := rewriteBaseVersion([]byte(in), "x.repo", "7.0")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestRewriteBaseVersionErrors(t *testing.T) {
	tests := []struct {
		name, file, newBase string
		want                []string
	}{
		{"bad new version", "baseurl=http://a/6.14.2/\n", "6.15.x", []string{"6.15.x"}},
		{"one component", "baseurl=http://a/6.14.2/\n", "6", []string{`"6"`}},
		{"no version in URL", "[x]\nbaseurl=http://a/shop/latest/\n", "6.15.0", []string{"x.repo:2", "http://a/shop/latest/", "does not end in a base version"}},
		{"mirrors disagree", "[x]\nbaseurl=http://a/6.14.2/\n  http://b/6.14.1/\n", "6.15.0", []string{"x.repo:3", "6.14.1", "6.14.2"}},
		{"no baseurl", "[x]\nmirrorlist=http://a/list\n", "6.15.0", []string{"no baseurl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.repo")
			os.WriteFile(path, []byte(tt.file), 0o644)
			err := RewriteBaseVersion(path, tt.newBase)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if got, _ := os.ReadFile(path); string(got) != tt.file {
				t.Errorf("file changed to %q", got)
			}
		})
	}
	if err := RewriteBaseVersion(filepath.Join(t.TempDir(), "missing.repo"), "6.15.0"); err == nil || !strings.Contains(err.Error(), "missing.repo") {
		t.Errorf("missing file: %v", err)
	}
}

// TestOversizedRepoFileRefused: a .repo file on the host beyond repoconf.MaxSize is refused
// by repo-file, naming it and the limit; refusing a 1 GiB file (sparse) costs next to no
// memory.
func TestOversizedRepoFileRefused(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "etc/yum.repos.d/shop-hotfix.repo")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, RepoFile("shop", "6.14.2", []string{"https://x.example/hotfix"}, true), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 1<<30); err != nil {
		t.Fatal(err)
	}
	want := "repo file " + p + " is larger than 1 MiB, the most hotchain reads of it: refused"
	for name, read := range map[string]func() error{
		"RewriteBaseVersion": func() error { return RewriteBaseVersion(p, "6.15") },
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := read()
		runtime.ReadMemStats(&after)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%s: refusing a 1 GiB file allocated %d bytes", name, n)
		}
	}
}
