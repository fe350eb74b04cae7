package unpack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/testutil"
)

func TestUnpackTarball(t *testing.T) {
	src := sampleDir(t)
	res := buildSample(t, src, nil)
	dest := t.TempDir()
	dir, err := Tarball(res.Tarball, dest)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dest, "shop-hotfix-6.14.2.3"); dir != want {
		t.Errorf("hotfix directory %s, want %s", dir, want)
	}
	got, err := hotfix.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.CheckFilelist(); err != nil {
		t.Errorf("unpacked filelist.txt: %v", err)
	}
	want, err := hotfix.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	wantEntries := map[string]hotfix.Entry{}
	for _, e := range want.Entries {
		wantEntries[e.Rel] = e
	}
	for _, e := range got.Entries {
		if e.Rel == "filelist.txt" {
			continue
		}
		w, ok := wantEntries[e.Rel]
		if !ok {
			t.Errorf("unpacked %s, which the source does not have", e.Rel)
			continue
		}
		delete(wantEntries, e.Rel)
		if e.Mode != w.Mode || e.SHA256 != w.SHA256 || e.Link != w.Link {
			t.Errorf("%s: unpacked %v %s %q, source %v %s %q", e.Rel, e.Mode, e.SHA256, e.Link, w.Mode, w.SHA256, w.Link)
		}
		if !e.ModTime.Equal(sde) {
			t.Errorf("%s mtime %v, want %v", e.Rel, e.ModTime, sde)
		}
	}
	for rel := range wantEntries {
		t.Errorf("%s was not unpacked", rel)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 1 {
		t.Errorf("destination holds %d entries, want only the hotfix directory (no temporary left)", len(entries))
	}

	// Again, with what a host writes into the directory: the same directory, untouched.
	if err := os.WriteFile(filepath.Join(dir, "shop-hotfix-6.14.2.3-install-web1.log"), []byte("log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := testutil.Snapshot(t, dest, false, ".")
	again, err := Tarball(res.Tarball, dest)
	if err != nil || again != dir {
		t.Errorf("second unpack: %s, %v", again, err)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, dest, false, ".")); d != "" {
		t.Errorf("second unpack changed the destination:\n%s", d)
	}

	// Changed content: refused, naming the file, and nothing changes.
	if err := os.WriteFile(filepath.Join(dir, "FileChanges/lib/Shop/Cart.pm"), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before = testutil.Snapshot(t, dest, false, ".")
	_, err = Tarball(res.Tarball, dest)
	if err == nil || !strings.Contains(err.Error(), "FileChanges/lib/Shop/Cart.pm (differs)") || !strings.Contains(err.Error(), dir) {
		t.Errorf("unpack over changed content: %v", err)
	}
	if d := testutil.DiffTrees(before, testutil.Snapshot(t, dest, false, ".")); d != "" {
		t.Errorf("a refused unpack changed the destination:\n%s", d)
	}
}

type tarEntry struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

const top = "shop-hotfix-6.14.2.3/"

// goodEntries is a minimal valid hotfix tarball.
func goodEntries() []tarEntry {
	return []tarEntry{
		{name: top, typ: tar.TypeDir, mode: 0o755},
		{name: top + "version.txt", typ: tar.TypeReg, body: "6.14.2.3\n", mode: 0o644},
		{name: top + "FileChanges/", typ: tar.TypeDir, mode: 0o755},
		{name: top + "FileChanges/a.txt", typ: tar.TypeReg, body: "a\n", mode: 0o644},
	}
}

func writeTarGz(t *testing.T, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body)), ModTime: sde}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "x.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnpackRefusesMaliciousArchives: each archive is refused with a message that names the
// problem, and the destination is left as it was.
func TestUnpackRefusesMaliciousArchives(t *testing.T) {
	with := func(extra ...tarEntry) []tarEntry { return append(goodEntries(), extra...) }
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		raw     []byte // instead of entries
		want    string
	}{
		{"dot-dot", with(tarEntry{name: top + "../evil", typ: tar.TypeReg, body: "x"}), nil, `has ".." in its name`},
		{"absolute", with(tarEntry{name: "/etc/evil", typ: tar.TypeReg, body: "x"}), nil, "absolute name"},
		{"second top directory", with(tarEntry{name: "other/x", typ: tar.TypeReg, body: "x"}), nil, "outside the archive's one top directory"},
		{"symlink to an absolute path", with(tarEntry{name: top + "l", typ: tar.TypeSymlink, link: "/etc/passwd"}), nil, "must point inside"},
		{"symlink leaving the directory", with(tarEntry{name: top + "FileChanges/l", typ: tar.TypeSymlink, link: "../../x"}), nil, "points out of the hotfix directory"},
		{"hard link", with(tarEntry{name: top + "h", typ: tar.TypeLink, link: top + "version.txt"}), nil, "hard link"},
		{"character device", with(tarEntry{name: top + "dev", typ: tar.TypeChar}), nil, "device file"},
		{"block device", with(tarEntry{name: top + "blk", typ: tar.TypeBlock}), nil, "device file"},
		{"fifo", with(tarEntry{name: top + "p", typ: tar.TypeFifo}), nil, "named pipe"},
		{"duplicate", with(tarEntry{name: top + "FileChanges/a.txt", typ: tar.TypeReg, body: "b\n"}), nil, "appears twice"},
		{"entry through a symlink", with(tarEntry{name: top + "l", typ: tar.TypeSymlink, link: "FileChanges"}, tarEntry{name: top + "l/b.txt", typ: tar.TypeReg, body: "x"}), nil, "which is not a directory"},
		{"entry under a file", with(tarEntry{name: top + "FileChanges/a.txt/b", typ: tar.TypeReg, body: "x"}), nil, "which is not a directory"},
		{"file over an implied directory", with(tarEntry{name: top + "d/x", typ: tar.TypeReg, body: "x"}, tarEntry{name: top + "d", typ: tar.TypeReg, body: "x"}), nil, "earlier entries lie under it"},
		{"top is a file", []tarEntry{{name: "shop-hotfix-6.14.2.3", typ: tar.TypeReg, body: "x"}}, nil, "not a directory"},
		{"directory named for another version", []tarEntry{{name: "shop-hotfix-6.14.2.4/", typ: tar.TypeDir, mode: 0o755}, {name: "shop-hotfix-6.14.2.4/version.txt", typ: tar.TypeReg, body: "6.14.2.3\n"}}, nil, "does not match the version 6.14.2.3"},
		{"no version.txt", []tarEntry{{name: top, typ: tar.TypeDir, mode: 0o755}, {name: top + "a.txt", typ: tar.TypeReg, body: "x"}}, nil, "has no version.txt"},
		{"filelist.txt not matching", with(tarEntry{name: top + "filelist.txt", typ: tar.TypeReg, body: strings.Repeat("0", 64) + "  FileChanges/a.txt\n" + strings.Repeat("0", 64) + "  version.txt\n"}), nil, "does not match the hotfix content"},
		{"empty archive", nil, nil, "is empty"},
		{"not gzip", nil, []byte("PK\x03\x04 zip file"), "not gzip-compressed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p string
			if tc.raw != nil {
				p = filepath.Join(t.TempDir(), "x.tar.gz")
				os.WriteFile(p, tc.raw, 0o644)
			} else {
				p = writeTarGz(t, tc.entries)
			}
			dest := t.TempDir()
			testutil.WriteTree(t, dest, map[string]string{"keep.txt": "keep\n"})
			before := testutil.Snapshot(t, dest, false, ".")
			dir, err := Tarball(p, dest)
			if err == nil {
				t.Fatalf("unpacked into %s, want an error", dir)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if d := testutil.DiffTrees(before, testutil.Snapshot(t, dest, false, ".")); d != "" {
				t.Errorf("destination changed:\n%s", d)
			}
		})
	}
}

// TestUnpackMakesDestination: a missing PATCHES_DIR is made, and removed again when the
// unpack fails.
func TestUnpackMakesDestination(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "Patches")
	if _, err := Tarball(writeTarGz(t, goodEntries()), dest); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "shop-hotfix-6.14.2.3", "version.txt")); err != nil {
		t.Error(err)
	}
	dest = filepath.Join(t.TempDir(), "Patches")
	bad := append(goodEntries(), tarEntry{name: "/etc/evil", typ: tar.TypeReg, body: "x"})
	if _, err := Tarball(writeTarGz(t, bad), dest); err == nil {
		t.Fatal("unpacked a bad archive")
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("a failed unpack left the destination it made: %v", err)
	}
}

func TestUnpackTruncated(t *testing.T) {
	res := buildSample(t, sampleDir(t), nil)
	data, _ := os.ReadFile(res.Tarball)
	p := filepath.Join(t.TempDir(), "cut.tar.gz")
	os.WriteFile(p, data[:len(data)*2/3], 0o644)
	dest := t.TempDir()
	if _, err := Tarball(p, dest); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("truncated tarball: %v", err)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("a refused unpack left %v", entries)
	}
}
