// Package unpack is how a host takes a hotfix tarball in: it reads the tarball once into a
// private copy, checks its detached signature over exactly those bytes (VerifiedTarball),
// and unpacks it safely (Tarball): one top directory of plain files, directories and
// symlinks that stay inside it, checked entry by entry before anything appears in the
// destination, renamed into place when complete.
//
// It is its own package because it is the host side of the tarball: the agent and apply
// use it without importing package packaging, which builds RPMs and tarballs on the vendor
// side. It reads the hotfix directory format with package hotfix and the keys with
// internal/sign.
package unpack

import (
	"archive/tar"
	"bytes"
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
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/internal/sign"
)

// ErrBadSignature means a tarball's signature does not match the tarball with the key given:
// the tarball was changed after it was signed, or another key signed it.
var ErrBadSignature = sign.ErrBadSignature

// SignatureError is a failed signature check of VerifiedTarball (no signature, a key
// that cannot be read, ErrBadSignature), as opposed to a refusal of the tarball's content.
type SignatureError struct{ Err error }

func (e *SignatureError) Error() string { return e.Err.Error() }
func (e *SignatureError) Unwrap() error { return e.Err }

// signatureError is err of verifySignature as VerifiedTarball returns it: a *SignatureError,
// unless the signature file is not a regular file, a refusal of the file like that of a
// tarball that is a named pipe, with its own hint.
func signatureError(err error) error {
	if boundedio.IsNotRegular(err) {
		return err
	}
	return &SignatureError{err}
}

// VerifyTarball checks the detached signature sigPath of the tarball tarPath with the public
// key in pubPEMPath (PEM "PUBLIC KEY", RSA or Ed25519), as `hotchain build` makes it. The
// key and the signature are read with the bounds of package sign. It only checks: to use a
// tarball, VerifiedTarball checks and unpacks the same bytes.
func VerifyTarball(tarPath, sigPath, pubPEMPath string) error {
	c, err := readTarball(tarPath, os.TempDir())
	if err != nil {
		return err
	}
	defer c.Close()
	pub, err := sign.LoadTarballPublicKey(pubPEMPath)
	if err != nil {
		return err
	}
	return verifySignature("tarball", tarPath, c.data, sigPath, pub, pubPEMPath)
}

// verifySignature checks sigPath over data, the content of the tarball (what: or bundle)
// tarPath, with pub (read from pubPEMPath).
func verifySignature(what, tarPath string, data []byte, sigPath string, pub *sign.TarballPublicKey, pubPEMPath string) error {
	sig, err := sign.ReadSignatureFile(sigPath, what+" signature")
	if err != nil {
		return err
	}
	if err := pub.Verify(data, sig); err != nil {
		return hint.With(
			fmt.Errorf("%s %s: %w with %s (key %s)", what, tarPath, err, sigPath, pubPEMPath),
			"the "+what+" was changed or damaged after it was signed, or the vendor signed it with another key: get the "+what+" and its .sig again, and check that the public key is the vendor's",
		)
	}
	return nil
}

// VerifiedTarball is how a host takes a tarball in: it reads the tarball at tarPath
// once, into a private copy (a file without a name, see unlinkedFile), checks the detached
// signature sigPath over exactly those bytes with the public key in pubPEMPath, and only
// then unpacks that copy as Tarball does. A file that changes at tarPath meanwhile
// changes nothing; a named pipe or device is refused. Until the signature checked, destDir
// is not touched; on any error it is left as it was.
func VerifiedTarball(tarPath, sigPath, pubPEMPath, destDir string) (string, error) {
	pub, err := sign.LoadTarballPublicKey(pubPEMPath)
	if err != nil {
		return "", &SignatureError{err}
	}
	return VerifiedTarballWith(tarPath, sigPath, pub, pubPEMPath, destDir)
}

// VerifiedTarballWith is VerifiedTarball with the public key already read (from
// pubPEMPath, which messages name): the host reads TARBALL_KEY once, on the same open file
// on which it checks who could have written it.
func VerifiedTarballWith(tarPath, sigPath string, pub *sign.TarballPublicKey, pubPEMPath, destDir string) (string, error) {
	in, err := openTarball("tarball", tarPath)
	if err != nil {
		return "", err
	}
	defer in.Close()
	return VerifiedTarballFile(in, tarPath, sigPath, pub, pubPEMPath, destDir)
}

// VerifiedTarballFile is VerifiedTarballWith for a tarball the caller has opened (in, a
// regular file; tarPath names it in messages): the drop folder opens the archive relative
// to the folder, without following a symlink, and checks it is the file its scan saw.
func VerifiedTarballFile(in *os.File, tarPath, sigPath string, pub *sign.TarballPublicKey, pubPEMPath, destDir string) (string, error) {
	if err := checkRegular("tarball", in, tarPath); err != nil {
		return "", err
	}
	c, err := copyTarball("tarball", in, tarPath, destDir)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := verifySignature("tarball", tarPath, c.data, sigPath, pub, pubPEMPath); err != nil {
		return "", signatureError(err)
	}
	if hooks != nil {
		hooks.verified(tarPath)
	}
	return unpackCopy(c, tarPath, destDir)
}

// Tarball unpacks a hotfix tarball into destDir and returns the hotfix directory it
// made (destDir/shop-hotfix-6.14.2.3), without a signature check (VerifiedTarball
// has one). It refuses, before anything appears in destDir, any archive that is not one
// directory of plain files, directories and symlinks: absolute names, "..", entries outside
// the one top directory, duplicates, links (hard or symbolic) that point out of it, device
// files and pipes, more than MaxTarballEntries entries or names longer than MaxTarballName,
// and a top directory that is not named after the version.txt inside it. The archive is
// read once into a private copy, unpacked from it into a temporary directory in destDir and
// renamed into place. When the hotfix directory already exists with the same content (what
// a host wrote into it aside) it is returned as it is; with other content it is an error
// that names the files that differ.
func Tarball(tarPath, destDir string) (hotfixDir string, err error) {
	c, err := readTarball(tarPath, destDir)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return unpackCopy(c, tarPath, destDir)
}

// readTarball opens the tarball at tarPath (a regular file) and copies it near destDir.
func readTarball(tarPath, destDir string) (*tarballCopy, error) {
	in, err := openTarball("tarball", tarPath)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return copyTarball("tarball", in, tarPath, destDir)
}

// unpackCopy unpacks the private copy c of the tarball tarPath into destDir.
func unpackCopy(c *tarballCopy, tarPath, destDir string) (hotfixDir string, err error) {
	zr, err := gzip.NewReader(bytes.NewReader(c.data))
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
	tmp, err := os.MkdirTemp(destDir, fileops.UnpackPrefix+"*") // what the next apply cleans after a killed unpack
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
		if err := SameContent(target, d); err != nil {
			return "", err
		}
		return target, nil
	}
	if err := os.Rename(staged, target); err != nil {
		return "", fmt.Errorf("unpack tarball: %w", err)
	}
	return target, nil
}

// Limits of a hotfix tarball's entries: the unpack keeps one map entry per name to find
// duplicates, so these bound its memory (a hotfix of 10,000 files is large).
const (
	// MaxTarballEntries is the most entries (files, directories, symlinks) a tarball holds.
	MaxTarballEntries = hotfix.MaxEntries
	// MaxTarballName is the longest entry name or symlink target, in bytes: Linux's PATH_MAX.
	MaxTarballName = 4096
)

// tarNames is what a tarball's entries so far established: its one top directory, the
// type of every name, and the directories that entries lay under before their own entry.
type tarNames struct {
	top      string
	kinds    map[string]byte
	implicit map[string]bool
}

// check holds one entry to the rules of a hotfix tarball (one top directory of files,
// directories and relative symlinks that stay inside it; no name twice, nothing under a
// non-directory) given the entries before it, and records it. It returns the entry's clean
// name and the part of it under the top directory, or why the entry is refused. It touches
// no file, so that the rules are tested on their own.
func (n *tarNames) check(h *tar.Header) (clean, rest, why string) {
	name := h.Name
	if len(n.kinds) >= MaxTarballEntries {
		return "", "", fmt.Sprintf("is one more than %d entries, the most a hotfix tarball may hold", MaxTarballEntries)
	}
	if len(name) > MaxTarballName || len(h.Linkname) > MaxTarballName {
		return "", "", fmt.Sprintf("has a name or link target longer than %d bytes", MaxTarballName)
	}
	if strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return "", "", "has a backslash or NUL in its name"
	}
	if path.IsAbs(name) {
		return "", "", "has an absolute name"
	}
	for _, el := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if el == ".." {
			return "", "", "has \"..\" in its name"
		}
	}
	clean = path.Clean(name)
	if clean == "." || clean == "" {
		return "", "", "has an empty name"
	}
	first, rest, _ := strings.Cut(clean, "/")
	if n.top == "" {
		n.top = first
	}
	if first != n.top {
		return "", "", fmt.Sprintf("lies outside the archive's one top directory %q", n.top)
	}
	if _, dup := n.kinds[clean]; dup {
		return "", "", "appears twice"
	}
	if n.implicit[clean] && h.Typeflag != tar.TypeDir {
		return "", "", "is not a directory, but earlier entries lie under it"
	}
	for p := path.Dir(clean); p != "."; p = path.Dir(p) {
		if k, seen := n.kinds[p]; seen && k != tar.TypeDir {
			return "", "", fmt.Sprintf("lies under %q, which is not a directory", p)
		}
	}
	if rest == "" && h.Typeflag != tar.TypeDir {
		return "", "", "is the top directory but not a directory"
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeReg: // tar.Reader reports old-style TypeRegA entries as TypeReg
	case tar.TypeSymlink:
		t := h.Linkname
		if t == "" || path.IsAbs(t) {
			return "", "", fmt.Sprintf("is a symlink to %q: it must point inside the hotfix directory, relatively", t)
		}
		if j := path.Join(path.Dir(rest), t); j == ".." || strings.HasPrefix(j, "../") || rest == "" {
			return "", "", fmt.Sprintf("is a symlink to %q, which points out of the hotfix directory", t)
		}
	case tar.TypeLink:
		return "", "", "is a hard link: hotfix tarballs hold none"
	case tar.TypeChar, tar.TypeBlock:
		return "", "", "is a device file"
	case tar.TypeFifo:
		return "", "", "is a named pipe"
	default:
		return "", "", fmt.Sprintf("has the unsupported tar type %q", h.Typeflag)
	}
	delete(n.implicit, clean)
	for p := path.Dir(clean); p != "."; p = path.Dir(p) {
		if _, seen := n.kinds[p]; !seen {
			n.implicit[p] = true
		}
	}
	n.kinds[clean] = h.Typeflag
	return clean, rest, ""
}

// extract writes the entries of tr under tmp after checking each; it returns the one top
// directory.
func extract(tr *tar.Reader, tarPath, tmp string) (string, error) {
	bad := func(name, why string) error {
		return hint.With(
			fmt.Errorf("tarball %s: entry %q %s", tarPath, name, why),
			"a hotfix tarball holds one directory of files, directories and symlinks, as hotchain build makes it: get the tarball from the vendor again",
		)
	}
	names := &tarNames{kinds: map[string]byte{}, implicit: map[string]bool{}}
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
		clean, _, why := names.check(h)
		if why != "" {
			return "", bad(h.Name[:min(len(h.Name), 256)], why)
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
		case tar.TypeReg:
			if err := writeEntry(dst, tr, h.Size, mode); err != nil {
				return "", fmt.Errorf("tarball %s: %w", tarPath, err)
			}
			if err := os.Chtimes(dst, h.ModTime, h.ModTime); err != nil {
				return "", fmt.Errorf("unpack tarball: %w", err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return "", fmt.Errorf("unpack tarball: %w", err)
			}
			ts := unix.NsecToTimespec(h.ModTime.UnixNano())
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return "", fmt.Errorf("unpack tarball: set time of %s: %w", dst, err)
			}
		}
	}
	top := names.top
	if top == "" {
		return "", fmt.Errorf("tarball %s is empty: a hotfix tarball holds one directory", tarPath)
	}
	if k, ok := names.kinds[top]; ok && k != tar.TypeDir {
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

// SameContent compares an existing hotfix directory with the unpacked one (kind, SHA-256 and
// link target of every entry); what a host wrote into it (logs, backups) does not count,
// since hotfix.ReadDir leaves it out. The error carries a hint (Hint() string).
func SameContent(target string, staged *hotfix.Dir) error {
	have, err := hotfix.ReadDir(target)
	if err != nil {
		return hint.With(
			fmt.Errorf("%s already exists and is not a valid hotfix directory: %w", target, err),
			"move it aside (or remove it) and unpack again",
		)
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
	return hint.With(
		fmt.Errorf("%s already exists with other content than the tarball: %s", target, strings.Join(diff, ", ")),
		"a hotfix version has one content: if this directory was changed by hand, move it aside and unpack again",
	)
}
