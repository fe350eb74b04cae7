package packaging

import (
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/google/rpmpack"
	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/fileops"
)

// HotchainPath is where the base RPM installs the hotchain binary, and what every scriptlet
// runs.
const HotchainPath = "/usr/sbin/hotchain"

// ConfigPath is the settings file of a product on a host: /etc/sysconfig/shop-hotfix.
func ConfigPath(product string) string { return "/etc/sysconfig/" + product + "-hotfix" }

// DefaultPatchesDir is where hotfix directories are unpacked when the build does not say:
// /var/opt/shop/Patches.
func DefaultPatchesDir(product string) string { return "/var/opt/" + product + "/Patches" }

// hotfixSpec is the RPM of one hotfix: its directory under patchesDir, owned by the package,
// and the scriptlets that check, apply and roll back the hotfix through hotchain.
func hotfixSpec(c *content, o *BuildOptions, when time.Time) *pkgSpec {
	v := c.version
	dir := path.Join(o.PatchesDir, hotfix.DirName(o.Product, v))
	mtime := uint32(when.Unix())
	files := []pkgFile{{RPMFile: owned(dir, 0o40755, nil, mtime, rpmpack.GenericFile)}}
	for _, it := range c.items {
		name := dir + "/" + it.rel
		switch {
		case it.isDir():
			files = append(files, pkgFile{RPMFile: owned(name, 0o40000|uint(fileops.UnixMode(it.mode)), nil, mtime, rpmpack.GenericFile)})
		case it.isLink():
			files = append(files, pkgFile{RPMFile: owned(name, 0o120777, []byte(it.link), mtime, rpmpack.GenericFile)})
		default:
			files = append(files, pkgFile{RPMFile: owned(name, uint(fileops.UnixMode(it.mode)), it.body, mtime, rpmpack.GenericFile), src: it.src, size: it.size, sha256: it.sha256})
		}
	}
	requires := []*rpmpack.Relation{{Name: hotfix.BasePackageName(o.Product), Sense: senseScriptPre | senseScriptPost | senseScriptPreun}}
	if prev, ok := v.Previous(); ok {
		// Requires(pre): hotfix N-1 must be installed, and its %post must have applied it,
		// before N's %pre checks the chain. Requires(preun): a dependency that is only
		// pre/post counts for installs alone, so erasing N-1 would not take N with it;
		// with preun, `dnf remove` of N-1 removes N first and N's %preun rolls N back
		// before N-1's does.
		requires = append(requires, &rpmpack.Relation{Name: hotfix.PackageName(o.Product, prev), Sense: senseScriptPre | senseScriptPreun})
	}
	pre, post, preun := hotfixScripts(o.Product, v, o.PatchesDir, dir)
	return &pkgSpec{
		name:        hotfix.PackageName(o.Product, v),
		version:     "1",
		release:     strconv.Itoa(o.Release),
		arch:        "noarch",
		summary:     c.summary(o.Product),
		description: c.description(o.Product),
		license:     o.License,
		vendor:      o.Vendor,
		url:         o.URL,
		requires:    requires,
		files:       files,
		pre:         pre,
		post:        post,
		preun:       preun,
		when:        when,
		signer:      o.Signer,
	}
}

// hotfixScripts are the %pre, %post and %preun scriptlets of a hotfix RPM.
//
// %pre and %post act on a first install only ($1 = 1): an upgrade to a rebuild of the same
// hotfix (a higher release) replaces the files of an already applied hotfix and must neither
// be refused by the chain check (the ledger already holds the version) nor apply it twice.
// %preun rolls back only on erase ($1 = 0), not when an upgrade removes the old build.
// HOTCHAIN_BY=rpm tells the host's history that a package's scriptlet started the apply or
// rollback (a variable, not a flag: an older hotchain on the host ignores it).
// DoPatchVar=0 skips applying and rolling back alike, so files installed without being
// applied can be erased without a rollback.
func hotfixScripts(product string, v hotfix.Version, patchesDir, dir string) (pre, post, preun string) {
	cfg := ConfigPath(product)
	doPatch := hotfix.DoPatchVar(product)
	name := hotfix.PackageName(product, v)
	pre = fmt.Sprintf(`# Refuse the install unless this host's chain is ready for %[1]s and its PATCHES_DIR is %[4]s.
if [ "$1" = 1 ]; then
    %[2]s prereq -config %[3]s -patches-dir %[4]s %[1]s || exit 1
fi
`, v, HotchainPath, cfg, patchesDir)
	post = fmt.Sprintf(`# Apply the hotfix; %[1]s=0 installs its files without applying it.
if [ "$1" = 1 ]; then
    if [ "${%[1]s:-}" = 0 ]; then
        echo "%[2]s: %[1]s=0: not applied; apply it with: %[3]s apply -config %[4]s %[5]s" >&2
    else
        HOTCHAIN_BY=rpm %[3]s apply -config %[4]s -scriptlet %[5]s || exit 1
    fi
fi
`, doPatch, name, HotchainPath, cfg, dir)
	preun = fmt.Sprintf(`# Roll the hotfix back on erase; %[1]s=0 erases its files without a rollback.
if [ "$1" = 0 ] && [ "${%[1]s:-}" != 0 ]; then
    HOTCHAIN_BY=rpm %[2]s rollback -config %[3]s %[4]s || exit 1
fi
`, doPatch, HotchainPath, cfg, v)
	return pre, post, preun
}
