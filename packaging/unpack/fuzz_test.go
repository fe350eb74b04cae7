package unpack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpackTarball feeds arbitrary bytes, gzip-compressed, to the tarball reader (so that
// the fuzzer works on the tar structure, not on gzip checksums). It must never panic,
// never write outside the destination, and leave the destination as it was when it refuses
// the archive; what it accepts is a hotfix directory that hotfix.ReadDir reads.
//
// Each input is unpacked on disk (some 100 a second): run it with -fuzzminimizetime=100x,
// or minimizing each new input for the default 60s leaves hardly any time for fuzzing.
func FuzzUnpackTarball(f *testing.F) {
	tarOf := func(entries []tarEntry) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range entries {
			h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, ModTime: sde}
			if e.typ == tar.TypeReg {
				h.Size = int64(len(e.body))
			}
			tw.WriteHeader(h)
			tw.Write([]byte(e.body))
		}
		tw.Close()
		return buf.Bytes()
	}
	f.Add(tarOf(goodEntries()))
	with := func(extra ...tarEntry) []tarEntry { return append(goodEntries(), extra...) }
	for _, e := range [][]tarEntry{
		with(tarEntry{name: top + "../evil", typ: tar.TypeReg, body: "x"}),
		with(tarEntry{name: top + "l", typ: tar.TypeSymlink, link: "FileChanges"}, tarEntry{name: top + "l/b.txt", typ: tar.TypeReg, body: "x"}),
		with(tarEntry{name: top + "FileChanges/l", typ: tar.TypeSymlink, link: "../../x"}),
		with(tarEntry{name: top + "d/x", typ: tar.TypeReg, body: "x"}, tarEntry{name: top + "d", typ: tar.TypeReg, body: "x"}),
		with(tarEntry{name: top + "filelist.txt", typ: tar.TypeReg, body: strings.Repeat("0", 64) + "  FileChanges/a.txt\n"}),
		with(tarEntry{name: top + "Install/", typ: tar.TypeDir, mode: 0o4755}, tarEntry{name: top + "Install/x.sh", typ: tar.TypeReg, mode: 0o6755, body: "#!/bin/sh\n"}),
	} {
		f.Add(tarOf(e))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		base := t.TempDir()
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw)
		zw.Close()
		in := filepath.Join(base, "in.tar.gz")
		if err := os.WriteFile(in, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(base, "a", "dest")
		if err := os.MkdirAll(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		dir, err := Tarball(in, dest)
		// Nothing but the input, a and the destination's content may exist under base.
		filepath.WalkDir(base, func(p string, d fs.DirEntry, werr error) error {
			switch {
			case p == base || p == in || p == filepath.Join(base, "a") || p == dest:
			case strings.HasPrefix(p, dest+string(filepath.Separator)):
				if err != nil {
					t.Errorf("refused (%v) but left %s", err, p)
				}
			default:
				t.Errorf("wrote outside the destination: %s", p)
			}
			return nil
		})
		if err != nil {
			return
		}
		if filepath.Dir(dir) != dest {
			t.Fatalf("hotfix directory %s is not directly in %s", dir, dest)
		}
		// Every mode stays without setuid, setgid or sticky, and every symlink inside.
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, werr error) error {
			fi, err := os.Lstat(p)
			if err != nil {
				return nil
			}
			if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
				t.Errorf("%s has mode %v", p, fi.Mode())
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				if j := filepath.Join(filepath.Dir(p), target); !strings.HasPrefix(j, dir+string(filepath.Separator)) && j != dir {
					t.Errorf("symlink %s -> %s leaves the hotfix directory", p, target)
				}
			}
			return nil
		})
	})
}
