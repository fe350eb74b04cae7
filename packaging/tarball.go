package packaging

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/hotchain/hotchain/internal/fileops"
)

// tarball writes the hotfix as a gzip-compressed tar archive holding one directory,
// dirName, with the same entries, modes and mtimes as the RPM, to a new temporary file in
// dir, synced, and returns its name. It is reproducible: entries in byte order, owner root
// (0:0), every mtime the build time, PAX format, and a gzip header without file name or
// time. Files are streamed from disk and checked against their SHA-256, as for the RPM.
func tarball(c *content, dirName string, when time.Time, dir string) (name string, err error) {
	f, err := os.CreateTemp(dir, ".hotchain-tmp-*")
	if err != nil {
		return "", fmt.Errorf("write tarball: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	zw, err := newGzipWriter(f)
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(zw)
	mtime := time.Unix(when.Unix(), 0)
	hdr := func(name string, typ byte, mode fs.FileMode) *tar.Header {
		return &tar.Header{
			Name: name, Typeflag: typ, Mode: int64(fileops.UnixMode(mode)),
			Uid: 0, Gid: 0, Uname: "root", Gname: "root",
			ModTime: mtime, Format: tar.FormatPAX,
		}
	}
	if err := tw.WriteHeader(hdr(dirName+"/", tar.TypeDir, 0o755)); err != nil {
		return "", fmt.Errorf("write tarball: %w", err)
	}
	sum, buf := sha256.New(), make([]byte, copyBufferSize)
	for _, it := range c.items {
		name := dirName + "/" + it.rel
		var h *tar.Header
		switch {
		case it.isDir():
			h = hdr(name+"/", tar.TypeDir, it.mode)
		case it.isLink():
			h = hdr(name, tar.TypeSymlink, 0o777)
			h.Linkname = it.link
		default:
			h = hdr(name, tar.TypeReg, it.mode)
			h.Size = int64(len(it.body))
			if it.src != "" {
				h.Size = it.size
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return "", fmt.Errorf("write tarball entry %s: %w", name, err)
		}
		if it.src != "" {
			if err := copyChecked(tw, it.src, it.size, it.sha256, sum, buf); err != nil {
				return "", err
			}
		} else if _, err := tw.Write(it.body); err != nil {
			return "", fmt.Errorf("write tarball entry %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("write tarball: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("write tarball: %w", err)
	}
	if err := finishTemp(f, 0o644); err != nil {
		return "", fmt.Errorf("write tarball: %w", err)
	}
	return f.Name(), nil
}
