package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
)

var removalsText = string(hotfix.FormatRemovals([]hotfix.Removal{
	{Path: "FileChanges/lib/Shop/Old.pm", Kind: hotfix.RemoveFile, SHA256: strings.Repeat("ab", 32)},
	{Path: "FileChanges/lib/Shop/Legacy", Kind: hotfix.RemoveDir},
	{Path: "FileChanges/odd\nname", Kind: hotfix.RemoveLink, SHA256: hotfix.LinkSHA256("x")},
}))

// FileRemovals travels in the RPM and the tarball like every hotfix file, covered by
// filelist.txt, and reads back as it was written.
func TestRemovalsFileCarried(t *testing.T) {
	dir := buildCarrying(t, hotfix.RemovalsFile, removalsText)
	if got, _ := os.ReadFile(filepath.Join(dir, hotfix.RemovalsFile)); string(got) != removalsText {
		t.Errorf("FileRemovals from the tarball:\n%s\nwant\n%s", got, removalsText)
	}
	d, err := hotfix.ReadDir(dir)
	if err != nil || len(d.Removals) != 3 {
		t.Errorf("the unpacked hotfix's removals: %v, %v", d, err)
	}
}

// tooManyRemovals is a FileRemovals of one entry more than a hotfix may remove, well within
// its size limit.
func tooManyRemovals() string {
	var b strings.Builder
	for i := range hotfix.MaxRemovals + 1 {
		fmt.Fprintf(&b, "dir  FileChanges/gone/%d\n", i)
	}
	return b.String()
}

// A FileRemovals that no host could apply is refused by the build, before anything is
// written: a line that is not one of the forms (with the file and the line), a removal of an
// entry the hotfix places, and more entries than a hotfix may remove.
func TestRemovalsFileRefusedByBuild(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"# ok\nfile:" + strings.Repeat("ab", 32) + " FileChanges/a\n", "src/FileRemovals:2: no two blanks"},
		{"dir  /etc\n", "src/FileRemovals:1: the path is absolute"},
		{"dir  FileChanges/../etc\n", "src/FileRemovals:1: the path is not clean"},
		{"file:" + strings.Repeat("ab", 32) + "  FileChanges/lib/Shop/Cart.pm\n", "FileChanges/lib/Shop/Cart.pm is removed, and the hotfix also holds it (a file)"},
		{"dir  FileChanges/lib/Shop\n", "FileChanges/lib/Shop is removed, and the hotfix also holds it (a directory)"},
		{"link:" + strings.Repeat("ab", 32) + "  FileChanges/lib/Shop/Default.pm\n", "FileChanges/lib/Shop/Default.pm is removed, and the hotfix also holds it (a symlink)"},
		{tooManyRemovals(), "src/FileRemovals:200001: more than 200000 entries"},
	} {
		src := sampleDir(t, map[string]string{hotfix.RemovalsFile: tc.text})
		out := t.TempDir()
		shown := tc.text
		if len(shown) > 100 {
			shown = shown[:100] + "..."
		}
		_, err := Build(src, BuildOptions{Product: "shop", Time: sde, OutDir: out})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: build error %v, want one with %q", shown, err, tc.want)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("%q: the refused build wrote %d files", shown, len(entries))
		}
	}
}
