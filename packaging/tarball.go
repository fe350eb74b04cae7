package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"time"
)

// tarball is the hotfix as a gzip-compressed tar archive holding one directory, dirName,
// with the same entries, modes and mtimes as the RPM. It is reproducible: entries in byte
// order, owner root (0:0), every mtime the build time, PAX format, and a gzip header without
// file name or time.
func tarball(c *content, dirName string, when time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	mtime := time.Unix(when.Unix(), 0)
	hdr := func(name string, typ byte, mode fs.FileMode) *tar.Header {
		return &tar.Header{
			Name: name, Typeflag: typ, Mode: int64(unixMode(mode)),
			Uid: 0, Gid: 0, Uname: "root", Gname: "root",
			ModTime: mtime, Format: tar.FormatPAX,
		}
	}
	if err := tw.WriteHeader(hdr(dirName+"/", tar.TypeDir, 0o755)); err != nil {
		return nil, fmt.Errorf("write tarball: %w", err)
	}
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
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write tarball entry %s: %w", name, err)
		}
		if _, err := tw.Write(it.body); err != nil {
			return nil, fmt.Errorf("write tarball entry %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write tarball: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("write tarball: %w", err)
	}
	return buf.Bytes(), nil
}
