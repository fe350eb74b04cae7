package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// TestBuildRefusesBadInput: each broken hotfix directory gets an error that names the
// problem and where, and nothing is written to the output directory or the source.
func TestBuildRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		setup func(t *testing.T, src string)
		opts  BuildOptions
		want  []string
	}{
		{name: "no version.txt", files: map[string]string{"version.txt": ""}, want: []string{"has no version.txt", "like 6.14.2.3"}},
		{name: "bad version", files: map[string]string{"version.txt": "6.14.x.3\n"}, want: []string{"version.txt", `"x"`, "not a non-negative integer"}},
		{name: "base version only", files: map[string]string{"version.txt": "6.14\n"}, want: []string{"version.txt", "has no sequence"}},
		{name: "filelist.txt not matching", setup: func(t *testing.T, src string) {
			d := filelistOf(t, src)
			testutil.WriteTree(t, src, map[string]string{"filelist.txt": d, "install.txt": "changed after the list was made\n", "new.txt": "not listed\n"})
		}, want: []string{"filelist.txt does not match", "content differs: install.txt", "present but not listed: new.txt"}},
		{name: "symlink leaving the directory", files: map[string]string{"FileChanges/evil": "-> ../../../etc/passwd"}, want: []string{"FileChanges/evil", "points out of the hotfix directory"}},
		{name: "absolute symlink", files: map[string]string{"FileChanges/evil": "-> /etc/passwd"}, want: []string{"FileChanges/evil", "points out of the hotfix directory"}},
		{name: "fifo", setup: func(t *testing.T, src string) {
			if err := syscall.Mkfifo(filepath.Join(src, "FileChanges", "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"FileChanges/pipe", "named pipe"}},
		{name: "device file", setup: func(t *testing.T, src string) {
			if err := syscall.Mknod(filepath.Join(src, "FileChanges", "null"), syscall.S_IFCHR|0o644, 1<<8|3); err != nil {
				t.Skipf("cannot make a device file here: %v", err)
			}
		}, want: []string{"FileChanges/null", "is a character device"}},
		{name: "newline in a file name", files: map[string]string{"FileChanges/a\nb": "x\n"}, want: []string{`"FileChanges/a\nb"`, "control character"}},
		{name: "restart.txt unknown", files: map[string]string{"restart.txt": "# what restarts\nrestart-all\n"}, want: []string{"restart.txt:2:", `"restart-all" is not a requirement`}},
		{name: "restart.txt bad service", files: map[string]string{"restart.txt": "services shop-web shop;rm\n"}, want: []string{"restart.txt:1:", `service name "shop;rm"`}},
		{name: "bad product", opts: BuildOptions{Product: "Shop Inc"}, want: []string{`product "Shop Inc"`}},
		{name: "relative patches directory", opts: BuildOptions{PatchesDir: "var/opt"}, want: []string{`patches directory "var/opt"`, "absolute"}},
		{name: "negative release", opts: BuildOptions{Release: -1}, want: []string{"release -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sampleDir(t, tc.files)
			if tc.setup != nil {
				tc.setup(t, src)
			}
			out := t.TempDir()
			srcBefore := testutil.Snapshot(t, src, true, ".")
			o := tc.opts
			if o.Product == "" {
				o.Product = "shop"
			}
			o.OutDir, o.Time = out, sde
			_, err := Build(src, o)
			if err == nil {
				t.Fatal("build succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("a failed build wrote %v", entries)
			}
			if d := testutil.DiffTrees(srcBefore, testutil.Snapshot(t, src, true, ".")); d != "" {
				t.Errorf("the build changed the source:\n%s", d)
			}
		})
	}
}

func filelistOf(t *testing.T, src string) string {
	t.Helper()
	res := buildSample(t, src, BuildOptions{})
	dest := t.TempDir()
	dir, err := unpack.Tarball(res.Tarball, dest)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "filelist.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBuildChecksMatchingFilelist: a filelist.txt that matches is kept as it is, and the
// build says it wrote none.
func TestBuildChecksMatchingFilelist(t *testing.T) {
	src := sampleDir(t, nil)
	list := filelistOf(t, src)
	testutil.WriteTree(t, src, map[string]string{"filelist.txt": list})
	res := buildSample(t, src, BuildOptions{})
	if res.FilelistWritten {
		t.Error("FilelistWritten with a filelist.txt in the source")
	}
	p := openRPM(t, res.RPM)
	n := 0
	for _, f := range p.Files() {
		if strings.HasSuffix(f.Name(), "/filelist.txt") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the RPM holds filelist.txt %d times", n)
	}
}

// TestBuildLeavesNoPartialOutput: when an output cannot be written, no output and no
// temporary file is left.
func TestBuildLeavesNoPartialOutput(t *testing.T) {
	out := t.TempDir()
	// A directory where the tarball should go makes its rename fail after the RPM's
	// temporary file was written.
	if err := os.Mkdir(filepath.Join(out, "shop-hotfix-6.14.2.3.tar.gz"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "shop-hotfix-6.14.2.3.tar.gz", "x"), nil, 0o644)
	_, err := Build(sampleDir(t, nil), BuildOptions{Product: "shop", OutDir: out, Time: sde})
	if err == nil {
		t.Fatal("build succeeded")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".hotchain-tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if !strings.Contains(err.Error(), "shop-hotfix-6.14.2.3.tar.gz") {
		t.Errorf("error does not name the output: %v", err)
	}
}
