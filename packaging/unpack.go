package packaging

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
)

// ErrBadSignature means a tarball's signature does not match the tarball with the key given:
// the tarball was changed after it was signed, or another key signed it.
var ErrBadSignature = sign.ErrBadSignature

// VerifyTarball checks the detached signature sigPath of the tarball tarPath with the public
// key in pubPEMPath (PEM "PUBLIC KEY", RSA or Ed25519), as `hotchain build` makes it. The
// key and the signature are read with the bounds of package sign.
func VerifyTarball(tarPath, sigPath, pubPEMPath string) error {
	pub, err := sign.LoadTarballPublicKey(pubPEMPath)
	if err != nil {
		return err
	}
	sig, err := sign.ReadSignatureFile(sigPath, "tarball signature")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(tarPath)
	if err != nil {
		return fmt.Errorf("read tarball: %w", err)
	}
	if err := pub.Verify(data, sig); err != nil {
		return hintError{
			fmt.Errorf("tarball %s: %w with %s (key %s)", tarPath, err, sigPath, pubPEMPath),
			"the tarball was changed or damaged after it was signed, or the vendor signed it with another key: get the tarball and its .sig again, and check that the public key is the vendor's",
		}
	}
	return nil
}

// UnpackTarball unpacks a hotfix tarball into destDir and returns the hotfix directory it
// made (destDir/shop-hotfix-6.14.2.3). It refuses, before anything appears in destDir, any
// archive that is not one directory of plain files, directories and symlinks: absolute names,
// "..", entries outside the one top directory, duplicates, links (hard or symbolic) that
// point out of it, device files and pipes, and a top directory that is not named after the
// version.txt inside it. The archive is unpacked into a temporary directory in destDir and
// renamed into place. When the hotfix directory already exists with the same content (what
// a host wrote into it aside) it is returned as it is; with other content it is an error
// that names the files that differ.
func UnpackTarball(tarPath, destDir string) (hotfixDir string, err error) {
	f, err := os.Open(tarPath)
	if err != nil {
		return "", fmt.Errorf("open tarball: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("tarball %s is not gzip-compressed: %w", tarPath, err)
	}
	// PATCHES_DIR may not exist before a host's first hotfix; made here, it goes again if
	// the unpack fails.
	if _, err := os.Stat(destDir); os.IsNotExist(err) {
		if err := os.MkdirAll(destDir, 0o755); err != nil {
			return "", fmt.Errorf("unpack tarball: %w", err)
		}
		defer func() {
			if err != nil {
				os.Remove(destDir)
			}
		}()
	}
	tmp, err := os.MkdirTemp(destDir, ".hotchain-unpack-*")
	if err != nil {
		return "", fmt.Errorf("unpack tarball: %w", err)
	}
	defer os.RemoveAll(tmp)
	top, err := extract(tar.NewReader(zr), tarPath, tmp)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return "", fmt.Errorf("tarball %s is damaged: %w", tarPath, err)
	}
	staged := filepath.Join(tmp, top)
	d, err := hotfix.ReadDir(staged)
	if err != nil {
		return "", fmt.Errorf("tarball %s: %w", tarPath, err)
	}
	if !strings.HasSuffix(top, "-hotfix-"+d.Version.String()) {
		return "", fmt.Errorf("tarball %s: its directory %s does not match the version %s in its version.txt", tarPath, top, d.Version)
	}
	if d.HasFilelist {
		if err := d.CheckFilelist(); err != nil {
			return "", fmt.Errorf("tarball %s: %w", tarPath, err)
		}
	}
	target := filepath.Join(destDir, top)
	if _, err := os.Lstat(target); err == nil {
		if err := sameContent(target, d); err != nil {
			return "", err
		}
		return target, nil
	}
	if err := os.Rename(staged, target); err != nil {
		return "", fmt.Errorf("unpack tarball: %w", err)
	}
	return target, nil
}

// extract writes the entries of tr under tmp after checking each; it returns the one top
// directory.
func extract(tr *tar.Reader, tarPath, tmp string) (string, error) {
	bad := func(name, why string) error {
		return hintError{
			fmt.Errorf("tarball %s: entry %q %s", tarPath, name, why),
			"a hotfix tarball holds one directory of files, directories and symlinks, as hotchain build makes it: get the tarball from the vendor again",
		}
	}
	var top string
	kinds := map[string]byte{}    // cleaned name -> tar type, to find duplicates and links used as directories
	implicit := map[string]bool{} // directories made for an entry before their own entry, if any
	type dirMeta struct {
		path string
		mode fs.FileMode
		t    time.Time
	}
	var dirs []dirMeta
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("tarball %s is damaged: %w", tarPath, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // metadata only (git archive writes one)
		}
		name := h.Name
		if strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
			return "", bad(name, "has a backslash or NUL in its name")
		}
		if path.IsAbs(name) {
			return "", bad(name, "has an absolute name")
		}
		for _, el := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
			if el == ".." {
				return "", bad(name, "has \"..\" in its name")
			}
		}
		clean := path.Clean(name)
		if clean == "." || clean == "" {
			return "", bad(name, "has an empty name")
		}
		first, rest, _ := strings.Cut(clean, "/")
		if top == "" {
			top = first
		}
		if first != top {
			return "", bad(name, fmt.Sprintf("lies outside the archive's one top directory %q", top))
		}
		if _, dup := kinds[clean]; dup {
			return "", bad(name, "appears twice")
		}
		if implicit[clean] && h.Typeflag != tar.TypeDir {
			return "", bad(name, "is not a directory, but earlier entries lie under it")
		}
		delete(implicit, clean)
		for p := path.Dir(clean); p != "."; p = path.Dir(p) {
			if k, seen := kinds[p]; seen && k != tar.TypeDir {
				return "", bad(name, fmt.Sprintf("lies under %q, which is not a directory", p))
			} else if !seen {
				implicit[p] = true
			}
		}
		if rest == "" && h.Typeflag != tar.TypeDir {
			return "", bad(name, "is the top directory but not a directory")
		}
		dst := filepath.Join(tmp, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("unpack tarball: %w", err)
		}
		mode := os.FileMode(h.Mode) & 0o777 // never setuid, setgid or sticky from a tarball
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(dst, 0o700); err != nil && !os.IsExist(err) {
				return "", fmt.Errorf("unpack tarball: %w", err)
			}
			// Writable while unpacking; the archive's mode at the end.
			if err := os.Chmod(dst, mode|0o700); err != nil {
				return "", fmt.Errorf("unpack tarball: %w", err)
			}
			dirs = append(dirs, dirMeta{dst, mode, h.ModTime})
		case tar.TypeReg: // tar.Reader reports old-style TypeRegA entries as TypeReg
			if err := writeEntry(dst, tr, h.Size, mode); err != nil {
				return "", fmt.Errorf("tarball %s: %w", tarPath, err)
			}
			if err := os.Chtimes(dst, h.ModTime, h.ModTime); err != nil {
				return "", fmt.Errorf("unpack tarball: %w", err)
			}
		case tar.TypeSymlink:
			t := h.Linkname
			if t == "" || path.IsAbs(t) {
				return "", bad(name, fmt.Sprintf("is a symlink to %q: it must point inside the hotfix directory, relatively", t))
			}
			if j := path.Join(path.Dir(rest), t); j == ".." || strings.HasPrefix(j, "../") || rest == "" {
				return "", bad(name, fmt.Sprintf("is a symlink to %q, which points out of the hotfix directory", t))
			}
			if err := os.Symlink(t, dst); err != nil {
				return "", fmt.Errorf("unpack tarball: %w", err)
			}
			ts := unix.NsecToTimespec(h.ModTime.UnixNano())
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return "", fmt.Errorf("unpack tarball: set time of %s: %w", dst, err)
			}
		case tar.TypeLink:
			return "", bad(name, "is a hard link: hotfix tarballs hold none")
		case tar.TypeChar, tar.TypeBlock:
			return "", bad(name, "is a device file")
		case tar.TypeFifo:
			return "", bad(name, "is a named pipe")
		default:
			return "", bad(name, fmt.Sprintf("has the unsupported tar type %q", h.Typeflag))
		}
		kinds[clean] = h.Typeflag
	}
	if top == "" {
		return "", fmt.Errorf("tarball %s is empty: a hotfix tarball holds one directory", tarPath)
	}
	if k, ok := kinds[top]; ok && k != tar.TypeDir {
		return "", bad(top, "is the top directory but not a directory")
	}
	// Directory modes and times last, deepest first: writing into a directory changes its
	// mtime, and a read-only directory could not have been written into.
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].path > dirs[j].path })
	for _, d := range dirs {
		if err := os.Chmod(d.path, d.mode); err != nil {
			return "", fmt.Errorf("unpack tarball: %w", err)
		}
		if err := os.Chtimes(d.path, d.t, d.t); err != nil {
			return "", fmt.Errorf("unpack tarball: %w", err)
		}
	}
	return top, nil
}

func writeEntry(dst string, r io.Reader, size int64, mode fs.FileMode) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", dst, err)
	}
	_, err = io.CopyN(f, r, size)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("the tarball is damaged: it ends inside this file")
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unpack %s: %w", filepath.Base(dst), err)
	}
	return nil
}

// sameContent compares an existing hotfix directory with the unpacked one; what a host wrote
// into it (logs, backups) does not count, since hotfix.ReadDir leaves it out.
func sameContent(target string, staged *hotfix.Dir) error {
	have, err := hotfix.ReadDir(target)
	if err != nil {
		return hintError{
			fmt.Errorf("%s already exists and is not a valid hotfix directory: %w", target, err),
			"move it aside (or remove it) and unpack again",
		}
	}
	type sig struct {
		kind fs.FileMode
		sum  string
		link string
	}
	index := func(d *hotfix.Dir) map[string]sig {
		m := map[string]sig{}
		for _, e := range d.Entries {
			m[e.Rel] = sig{e.Mode.Type(), e.SHA256, e.Link}
		}
		return m
	}
	a, b := index(have), index(staged)
	var diff []string
	for rel, s := range b {
		if t, ok := a[rel]; !ok {
			diff = append(diff, rel+" (missing)")
		} else if t != s {
			diff = append(diff, rel+" (differs)")
		}
	}
	for rel := range a {
		if _, ok := b[rel]; !ok {
			diff = append(diff, rel+" (not in the tarball)")
		}
	}
	if len(diff) == 0 {
		return nil
	}
	sort.Strings(diff)
	if len(diff) > 10 {
		diff = append(diff[:10:10], fmt.Sprintf("and %d more", len(diff)-10))
	}
	return hintError{
		fmt.Errorf("%s already exists with other content than the tarball: %s", target, strings.Join(diff, ", ")),
		"a hotfix version has one content: if this directory was changed by hand, move it aside and unpack again",
	}
}

// hintError carries the next step for the user; the CLI prints it on a hint: line.
type hintError struct {
	err  error
	hint string
}

func (h hintError) Error() string { return h.err.Error() }
func (h hintError) Unwrap() error { return h.err }
func (h hintError) Hint() string  { return h.hint }
