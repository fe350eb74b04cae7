// Package hotfix holds the model of a hotfix chain that the host side and the vendor side
// share: versions and the names built from them, the hotfix directory (its files, filelist.txt,
// FileRemovals, restart.txt) and the ledger of applied hotfixes. It reads and checks these
// formats; it must not change a product tree, run a script, take a lock or import the
// applier (hotfix/applier) or the vendor side: packaging and repo import it to build what a
// host reads.
package hotfix

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a dot-separated list of non-negative integers: a base version (two or more
// components, "6.14.2") or a hotfix version (a base version plus a sequence >= 1, "6.14.2.3").
type Version []int

// ParseVersion parses a version with at least two components.
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return nil, fmt.Errorf("version is empty: want numbers separated by dots, like 6.14.2")
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("version %q has one component: want two or more numbers separated by dots, like 6.14.2", s)
	}
	v := make(Version, len(parts))
	for i, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return nil, fmt.Errorf("version %q: component %d (%q) is not a non-negative integer", s, i+1, p)
		}
		if len(p) > 1 && p[0] == '0' {
			return nil, fmt.Errorf("version %q: component %d (%q) has a leading zero", s, i+1, p)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 1<<30 {
			return nil, fmt.Errorf("version %q: component %d (%q) is too large", s, i+1, p)
		}
		v[i] = n
	}
	return v, nil
}

// ParseHotfixVersion parses a hotfix version: a base version of two or more components
// followed by a sequence number >= 1.
func ParseHotfixVersion(s string) (Version, error) {
	v, err := ParseVersion(s)
	if err != nil {
		return nil, err
	}
	if len(v) < 3 {
		return nil, fmt.Errorf("hotfix version %q has no sequence: want the base version plus .N, like 6.14.2.1", s)
	}
	if v.Seq() < 1 {
		return nil, fmt.Errorf("hotfix version %q: sequence must be 1 or more", s)
	}
	return v, nil
}

// String formats v with dots.
func (v Version) String() string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}

// Compare compares numerically, component by component; a version that is a prefix of
// another is the smaller one (6.14 < 6.14.0).
func (v Version) Compare(w Version) int {
	for i := 0; i < len(v) && i < len(w); i++ {
		switch {
		case v[i] < w[i]:
			return -1
		case v[i] > w[i]:
			return 1
		}
	}
	switch {
	case len(v) < len(w):
		return -1
	case len(v) > len(w):
		return 1
	}
	return 0
}

// Equal reports whether v and w are the same version.
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Base is the base version of a hotfix version (all but the last component).
func (v Version) Base() Version { return v[: len(v)-1 : len(v)-1] }

// Seq is the hotfix's position in its chain (the last component).
func (v Version) Seq() int { return v[len(v)-1] }

// Previous is hotfix N-1 of the same chain; ok is false for the first hotfix.
func (v Version) Previous() (prev Version, ok bool) {
	if v.Seq() <= 1 {
		return nil, false
	}
	p := append(Version(nil), v...)
	p[len(p)-1]--
	return p, true
}

// Next is hotfix N+1 of the same chain.
func (v Version) Next() Version {
	n := append(Version(nil), v...)
	n[len(n)-1]++
	return n
}

// Underscored is the version with underscores, as used in package names (6_14_2_3).
func (v Version) Underscored() string { return strings.ReplaceAll(v.String(), ".", "_") }

// PackageName is the RPM name of a hotfix: shop-hotfix-6_14_2_3.
func PackageName(product string, v Version) string {
	return product + "-hotfix-" + v.Underscored()
}

// DoPatchVar is the environment variable that, set to 0, makes a hotfix RPM install (or
// erase) its files without applying (or rolling back) the hotfix: SHOP_DO_PATCH. The agent
// installs with it, and applies each hotfix itself after dnf returns.
func DoPatchVar(product string) string {
	return strings.ToUpper(strings.ReplaceAll(product, "-", "_")) + "_DO_PATCH"
}

// DirName is the directory a hotfix unpacks to under PATCHES_DIR: shop-hotfix-6.14.2.3.
func DirName(product string, v Version) string { return product + "-hotfix-" + v.String() }

// TarballName is the file name of a hotfix tarball: shop-hotfix-6.14.2.3.tar.gz.
func TarballName(product string, v Version) string { return DirName(product, v) + ".tar.gz" }

// BasePackageName is the RPM that enables hotfixes on a host: shop-hotfix-base.
func BasePackageName(product string) string { return product + "-hotfix-base" }

// RPMFileName is the file name of a hotfix RPM with version 1 and the given release:
// shop-hotfix-6_14_2_3-1-0.noarch.rpm.
func RPMFileName(product string, v Version, release int) string {
	return fmt.Sprintf("%s-1-%d.noarch.rpm", PackageName(product, v), release)
}

// ParseDirName is DirName's inverse: the hotfix version of a directory named like
// shop-hotfix-6.14.2.3, ok false for any other name.
func ParseDirName(product, name string) (v Version, ok bool) {
	rest, found := strings.CutPrefix(name, product+"-hotfix-")
	if !found {
		return nil, false
	}
	v, err := ParseHotfixVersion(rest)
	return v, err == nil
}

// ParsePackageName is the inverse of PackageName: it returns the hotfix version named by a
// package such as shop-hotfix-6_14_2_3; ok is false for any other name (the base package
// included).
func ParsePackageName(product, name string) (v Version, ok bool) {
	rest, found := strings.CutPrefix(name, product+"-hotfix-")
	if !found || strings.Contains(rest, ".") {
		return nil, false
	}
	v, err := ParseHotfixVersion(strings.ReplaceAll(rest, "_", "."))
	if err != nil {
		return nil, false
	}
	return v, true
}
