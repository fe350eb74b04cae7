package rawfs

import (
	"errors"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Extended attributes. A hotfix places files, directories and symlinks with their content,
// mode and time, and nothing else: the applier renames a new file into place, which carries
// no extended attribute. So an entry whose extended attributes differ between OLD and NEW,
// and an entry of NEW a hotfix places that carries any, cannot be shipped: a file
// capability (security.capability), an access control list (system.posix_acl_access,
// system.posix_acl_default), user.* and trusted.* attributes would be lost without a word.
// What a host sets itself is not compared: the SELinux label (security.selinux, set by
// policy where a file is made) and IMA/EVM integrity data (security.ima, security.evm).

// hostXattr reports whether the extended attribute name is one a host sets itself.
func hostXattr(name string) bool {
	switch name {
	case "security.selinux", "security.ima", "security.evm":
		return true
	}
	return false
}

// Xattrs is the extended attributes of p (not following a symlink) that a comparison sees,
// as one string: "name=value" in byte order of name, each ended by a NUL; "" when none (or
// when the file system has none). buf is a scratch buffer for the list of names.
func Xattrs(p string, buf []byte) (string, error) {
	n, err := llistxattr(p, buf)
	if errors.Is(err, unix.ERANGE) {
		if n, err = llistxattr(p, nil); err == nil {
			buf = make([]byte, n)
			n, err = llistxattr(p, buf)
		}
	}
	switch {
	case errors.Is(err, unix.ENOTSUP):
		return "", nil
	case err != nil:
		return "", &os.PathError{Op: "list extended attributes of", Path: p, Err: err}
	case n == 0:
		return "", nil
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name != "" && !hostXattr(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		v, err := lgetxattr(p, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed meanwhile
		}
		if err != nil {
			return "", &os.PathError{Op: "read extended attribute " + name + " of", Path: p, Err: err}
		}
		b.WriteString(name + "=" + v + "\x00")
	}
	return b.String(), nil
}

func llistxattr(p string, buf []byte) (int, error) {
	for {
		n, err := unix.Llistxattr(p, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func lgetxattr(p, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, name, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ERANGE:
			if n, err = unix.Lgetxattr(p, name, nil); err != nil {
				return "", err
			}
			buf = make([]byte, n)
			continue
		case err != nil:
			return "", err
		}
		return string(buf[:n]), nil
	}
}

// XattrNames lists the names of an xattrs string, for messages: "security.capability,
// user.x"; "none" when empty.
func XattrNames(s string) string {
	var names []string
	for _, kv := range strings.Split(s, "\x00") {
		if name, _, ok := strings.Cut(kv, "="); ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
